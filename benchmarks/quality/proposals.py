"""Zero-click motion on the synthetic scenes: the proposed mask and direction against the exact ones,
and the full pipeline driven by the proposal against the same pipeline driven by exact hints.

Per scene (``python -m benchmarks.quality --proposals``):

* **IoU** of the proposed mask (``motion.propose``, given the scene's exact depth, as the
  benchmark's protocol gives it) with the exact fluid mask;
* **angle**: mean angular error (degrees) between the direction the proposal's arrows give every
  exact fluid pixel (the dense hint map, not masked: missed fluid pixels count too) and the exact
  flow; 180 when nothing is proposed;
* **PSNR** of the full weight-free pipeline (variant ``full``, warp renderer, the benchmark's
  trajectories and times, amplitude 1) driven by the proposal, by exact hints (the exact mask and
  ``EXACT_ARROWS`` arrows along the fluid carrying the exact flow: what a careful user would draw)
  and by the exact dense flow (the benchmark's own protocol), and the PSNR on the fluid pixels alone.
* with a motion network (``--models``): the motion it predicts from the proposed mask with the
  proposed arrows and without them, as the angle and the end-point error (px/frame) against the
  exact flow on the fluid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
import torch

from cinemagraph_core.camera import preset_path
from cinemagraph_core.motion.fluid_arrows import spread_points
from cinemagraph_core.motion.hints import HINT_DIVISOR, dense_hint_map, make_hints
from cinemagraph_core.motion.learned import learned_motion
from cinemagraph_core.motion.propose import proposal_hints, propose_motion
from cinemagraph_core.pipeline import iter_rgb, make_frames, prepare_scene
from cinemagraph_core.progress import ProgressFn
from cinemagraph_core.types import MotionHints, MotionProposal

from .benchmark import Setup, ground_truth
from .groundtruth import FLUID
from .metrics import psnr_from_sse, squared_error
from .scenes import SyntheticScene, make_scene
from .variants import VARIANTS

EXACT_ARROWS = 4
DRIVERS = ("proposal", "exact hints", "exact flow")


@dataclass(frozen=True)
class ProposalScore:
    """One scene. psnr / fluid_psnr: by driver (``DRIVERS``), dB over all valid / fluid pixels of the
    scored frames. net: motion-net results by arrows choice ('with arrows', 'mask only') -> (angle, EPE)."""

    scene: str
    kinds: tuple[str, ...]
    iou: float
    angle: float
    seconds: float
    psnr: dict
    fluid_psnr: dict
    net: dict


def mask_iou(proposal: MotionProposal, fluid: torch.Tensor) -> float:
    """IoU of the proposal's mask with an exact ``(H,W)`` 0/1 fluid mask (1 when both are empty)."""
    a, b = proposal.mask > 0.5, fluid > 0.5
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def direction_error(flow: torch.Tensor, reference: torch.Tensor, fluid: torch.Tensor) -> float:
    """Mean angle (degrees) between two ``(2,H,W)`` flows over the fluid pixels; 180 where ``flow`` is 0."""
    f = fluid > 0.5
    u, g = flow[:, f].double(), reference[:, f].double()
    norm = u.norm(dim=0) * g.norm(dim=0)
    cos = torch.where(norm > 0, (u * g).sum(0) / norm.clamp_min(1e-12), torch.full_like(norm, -1.0))
    return float(torch.rad2deg(torch.arccos(cos.clamp(-1, 1))).mean())


def proposal_direction_error(proposal: MotionProposal, scene: SyntheticScene) -> float:
    """``direction_error`` of the direction the proposal's arrows give every pixel (unmasked hint map)."""
    if not proposal.arrows:
        return 180.0
    hint = dense_hint_map(MotionHints(torch.ones(scene.size), proposal.arrows))
    return direction_error(hint, scene.flow, scene.fluid)


def exact_hints(scene: SyntheticScene, count: int = EXACT_ARROWS) -> MotionHints:
    """The exact mask and ``count`` arrows spread along the fluid, each carrying the exact flow at its start."""
    fluid = scene.fluid.numpy() > 0.5
    fx, fy = (float(v) for v in scene.flow[:, fluid].mean(1))
    arrows = []
    for x, y in spread_points(fluid, count, math.degrees(math.atan2(fy, fx))):
        mx, my = (float(v) for v in scene.flow[:, y, x])
        arrows.append((float(x), float(y), x + HINT_DIVISOR * mx, y + HINT_DIVISOR * my))
    return make_hints(scene.fluid, arrows, size=scene.size)


def pipeline_psnr(scene: SyntheticScene, setup: Setup, gts: dict, hints: Optional[MotionHints] = None,
                  flow: Optional[torch.Tensor] = None) -> tuple[float, float]:
    """(PSNR, fluid PSNR) in dB of the ``full`` variant (warp renderer) over the setup's frames."""
    config = VARIANTS["full"].config(setup.num_frames, "warp")
    ready = prepare_scene(scene.image, depth=scene.depth_input(), hints=hints, flow=flow, config=config)
    sse = [0.0, 0.0]
    count = [0, 0]
    for name in setup.trajectories:
        frames = make_frames(ready, config, preset_path(name, setup.num_frames, 1.0))
        for t, rgb in iter_rgb(frames, None, indices=setup.times):
            gt = gts[name, 1.0, t]
            err = squared_error(rgb.numpy(), gt.rgb)
            for i, region in enumerate((gt.valid, gt.valid & (gt.region == FLUID))):
                sse[i] += float(err[region].sum())
                count[i] += 3 * int(region.sum())
    return psnr_from_sse(sse[0], count[0]), psnr_from_sse(sse[1], count[1])


def net_motion(scene: SyntheticScene, proposal: MotionProposal, net) -> dict:
    """The motion net on the proposed mask with and without the proposed arrows: (angle, EPE px/frame) each."""
    out = {}
    hints = proposal_hints(proposal)
    for name, h in (("with arrows", hints), ("mask only", replace(hints, arrows=()))):
        flow = learned_motion(scene.image, h, net, scene.size).flow
        f = scene.fluid > 0.5
        epe = float((flow[:, f] - scene.flow[:, f]).norm(dim=0).mean())
        out[name] = (direction_error(flow, scene.flow, scene.fluid), epe)
    return out


def run_proposals(setup: Setup, psnr: bool = True, net=None, progress: Optional[ProgressFn] = None
                  ) -> list[ProposalScore]:
    """Score the proposal on every scene of ``setup`` (amplitude 1 only; see the module doc)."""
    import time

    scores = []
    for i, name in enumerate(setup.scenes):
        scene = make_scene(name, setup.size, setup.num_frames, setup.samples)
        t0 = time.perf_counter()
        proposal = propose_motion(scene.image, scene.depth_input())
        seconds = time.perf_counter() - t0
        psnrs, fluid = {}, {}
        if psnr:
            gts = ground_truth(scene, replace(setup, amplitudes=(1.0,)))
            drivers = {"proposal": {"hints": proposal_hints(proposal)} if proposal.regions else None,
                       "exact hints": {"hints": exact_hints(scene)}, "exact flow": {"flow": scene.flow}}
            for driver, inputs in drivers.items():
                psnrs[driver], fluid[driver] = (pipeline_psnr(scene, setup, gts, **inputs) if inputs is not None
                                                else (math.nan, math.nan))
        scores.append(ProposalScore(name, tuple(r.kind for r in proposal.regions), mask_iou(proposal, scene.fluid),
                                    proposal_direction_error(proposal, scene), seconds, psnrs, fluid,
                                    net_motion(scene, proposal, net) if net is not None and proposal.regions else {}))
        if progress is not None:
            progress(i + 1, len(setup.scenes))
    return scores


def markdown(scores: Sequence[ProposalScore]) -> str:
    """The per-scene table and the means."""
    drivers = [d for d in DRIVERS if any(d in s.psnr for s in scores)]
    head = ["scene", "proposed", "IoU", "angle °", "s"] + [f"PSNR {d}" for d in drivers] + [
        f"fluid PSNR {d}" for d in drivers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def row(cells) -> None:
        lines.append("| " + " | ".join(cells) + " |")

    for s in scores:
        kinds = ", ".join(sorted(set(s.kinds))) or "nothing"
        row([s.scene, kinds, f"{s.iou:.3f}", f"{s.angle:.1f}", f"{s.seconds:.2f}"]
            + [f"{s.psnr[d]:.2f}" for d in drivers] + [f"{s.fluid_psnr[d]:.2f}" for d in drivers])
    mean = lambda values: float(np.nanmean(values)) if len(values) else math.nan  # noqa: E731
    row(["**mean**", "", f"**{mean([s.iou for s in scores]):.3f}**", f"**{mean([s.angle for s in scores]):.1f}**",
         f"{mean([s.seconds for s in scores]):.2f}"] + [f"{mean([s.psnr[d] for s in scores]):.2f}" for d in drivers]
        + [f"{mean([s.fluid_psnr[d] for s in scores]):.2f}" for d in drivers])
    text = "\n".join(lines)
    nets = [s for s in scores if s.net]
    if nets:
        net_lines = ["", "", "| scene | net angle ° with arrows | EPE with arrows | net angle ° mask only | EPE mask only |",
                     "|---|---|---|---|---|"]
        for s in nets:
            (a1, e1), (a2, e2) = s.net["with arrows"], s.net["mask only"]
            net_lines.append(f"| {s.scene} | {a1:.1f} | {e1:.3f} | {a2:.1f} | {e2:.3f} |")
        text += "\n".join(net_lines)
    return text
