"""The benchmark loop: scenes x trajectories x times x variants, scored against the ground truth.

Protocol of the paper's section 4.3: the method gets the input image, the exact depth and the exact
flow, so what is measured is rendering (layering, inpainting, animation, splatting, blending), not
depth or motion estimation.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from cinemagraph_core import choices
from cinemagraph_core.camera import preset_path
from cinemagraph_core.models import Models
from cinemagraph_core.pipeline import decoder_for, iter_rgb, make_frames, prepare_scene
from cinemagraph_core.progress import ProgressFn

from .groundtruth import FLUID, REGION_NAMES, View, render_view
from .metrics import fluid_detail, lpips_metric, psnr, squared_error, ssim
from .scenes import SCENES, SyntheticScene, make_scene
from .variants import WEIGHT_FREE, Variant, resolve

log = logging.getLogger("cinemagraph")

TRAJECTORIES = ("up-down", "zoom-in", "side", "circle")
"""The paper's four camera paths (official magnitudes, ``cinemagraph_core.camera.preset_path``)."""

RENDERERS = choices.concrete(choices.RENDERERS)
"""The weight-free renderers compared (``RenderSettings.renderer``); the learned variant always splats."""


def frame_times(num_frames: int, count: int) -> tuple[int, ...]:
    """``count`` frame indices spread over the loop, centred in equal parts (never 0, where both
    animations coincide): ``floor((k + 0.5) N / count)``."""
    return tuple(int((k + 0.5) * num_frames / count) for k in range(count))


@dataclass(frozen=True)
class Setup:
    """What to run. size is (H, W); models: folders searched for the official files (learned variant)."""

    scenes: tuple[str, ...] = tuple(SCENES)
    size: tuple[int, int] = (192, 256)
    num_frames: int = 60
    times: tuple[int, ...] = frame_times(60, 5)
    trajectories: tuple[str, ...] = TRAJECTORIES
    variants: tuple[str, ...] = WEIGHT_FREE
    samples: int = 3
    models: tuple[str, ...] = ()
    renderers: tuple[str, ...] = RENDERERS
    amplitudes: tuple[float, ...] = (1.0,)

    def validate(self) -> "Setup":
        """Raise ValueError naming the first bad field."""
        h, w = self.size
        if min(h, w) < 32 or h % 2 or w % 2:
            raise ValueError(f"size must be even and at least 32 px per side, got {w}x{h}")
        if self.num_frames < 2:
            raise ValueError(f"num_frames must be at least 2, got {self.num_frames}")
        if not self.times or len(set(self.times)) < len(self.times) or not all(
                0 <= t < self.num_frames for t in self.times):
            raise ValueError(f"times must be distinct frame indices in 0..{self.num_frames - 1}, got {self.times}")
        if self.samples < 1 or self.samples % 2 == 0:
            raise ValueError(f"samples must be odd (a centre ray per pixel), got {self.samples}")
        unknown = [s for s in self.scenes if s not in SCENES] + [t for t in self.trajectories if t not in TRAJECTORIES]
        if unknown or not self.scenes or not self.trajectories:
            raise ValueError(f"unknown or missing scenes/trajectories {unknown}; scenes: {', '.join(SCENES)}; "
                             f"trajectories: {', '.join(TRAJECTORIES)}")
        resolve(self.variants)
        if not self.renderers or any(r not in RENDERERS for r in self.renderers) or len(set(self.renderers)) < len(
                self.renderers):
            raise ValueError(f"renderers must be distinct names from {', '.join(RENDERERS)}, got {self.renderers}")
        if 1.0 not in self.amplitudes or any(not a > 0 for a in self.amplitudes) or len(set(self.amplitudes)) < len(
                self.amplitudes):
            raise ValueError(f"amplitudes must be distinct camera-move scales > 0 including 1 (the paper's protocol), "
                             f"got {self.amplitudes}")
        return self

    def sheet_picks(self) -> tuple[tuple[str, str, int], ...]:
        """Columns of the sheet: every scene once, trajectories in turn, at the last time."""
        return tuple((s, self.trajectories[i % len(self.trajectories)], self.times[-1])
                     for i, s in enumerate(self.scenes))


FULL = Setup(amplitudes=(1.0, 2.0, 3.0))
"""The full benchmark (RESULTS.md): the official camera magnitudes and twice and three times them."""

QUICK = Setup(scenes=("river", "smoke", "thin_occluders"), size=(144, 192), num_frames=24, times=frame_times(24, 2))
"""The small deterministic version the CI test runs. 192x144 is the smallest size at which the official
depth binning (Ward threshold on 10-px samples) splits these scenes into two layers; at 128x96 every
scene is a single layer and the layered variants equal the naive ones."""


@dataclass(frozen=True)
class Score:
    """One frame of one variant with one renderer. ``sse``/``count`` per region (static, fluid,
    disoccluded) over valid pixels, counting the three channels; ``hf``: high-frequency energy of the
    frame and of the ground truth on the inner fluid pixels (``metrics.fluid_detail``)."""

    variant: str
    scene: str
    trajectory: str
    t: int
    psnr: float
    ssim: float
    lpips: float
    sse: tuple[float, ...]
    count: tuple[int, ...]
    renderer: str = "splat"
    amplitude: float = 1.0
    hf: tuple[float, float] = (0.0, 0.0)


@dataclass
class SheetColumn:
    """What the sheet shows for one (scene, trajectory, time) at amplitude 1: the input, the ground truth
    and frames ``(3,H,W)`` by row label (``sheet_label``)."""

    image: np.ndarray
    gt: View
    frames: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Results:
    """Scores of every frame; ``floor``: every variant at the source pose and t = 0 against the input
    image (no motion, no camera move: what rendering alone costs, trajectory 'static'); notes (LPIPS,
    learned variant); timings per ``"renderer/variant"`` (prepare_s: seconds preparing the scenes,
    shared between variants that differ only in rendering; render_s, frames); the sheet columns."""

    setup: Setup
    variants: tuple[Variant, ...]
    scores: list[Score] = field(default_factory=list)
    floor: list[Score] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    sheet: dict[tuple[str, str, int], SheetColumn] = field(default_factory=dict)


def learned_models(folders: Sequence[str]) -> tuple[Optional[Models], str]:
    """The official networks when all five files are found in ``folders``, else (None, why not)."""
    from cinemagraph_core.model_files import find_model, load_models
    from cinemagraph_core.weights import KINDS

    if not folders:
        return None, "learned variant skipped: no models folder given (--models DIR with the five official files)."
    missing = sorted({KINDS[k].filename for k in KINDS if find_model(k, list(folders)) is None})
    if missing:
        return None, f"learned variant skipped: {', '.join(missing)} not found in {', '.join(folders)}."
    return load_models(list(folders)), "learned variant: official files from " + ", ".join(folders) + "."


def sheet_label(renderer: str, variant: str, setup: Setup) -> str:
    """Row label of a frame in the sheet: the variant for the first renderer, ``variant (renderer)`` else."""
    return variant if renderer == setup.renderers[0] else f"{variant} ({renderer})"


def runs(setup: Setup, variants: tuple[Variant, ...]) -> list[tuple[str, Variant]]:
    """(renderer, variant) pairs to run: every weight-free variant with every renderer; the learned
    variant once, splatted (its decoder was trained on splats)."""
    out = []
    for r in setup.renderers:
        out += [(r, v) for v in variants if not v.learned]
    out += [("splat", v) for v in variants if v.learned]
    return out


def ground_truth(scene: SyntheticScene, setup: Setup) -> dict[tuple[str, float, int], View]:
    """Ground-truth views for every (trajectory, amplitude, time) of the setup."""
    out = {}
    for name in setup.trajectories:
        for amp in setup.amplitudes:
            cam = preset_path(name, setup.num_frames, amp)
            for t in setup.times:
                out[name, amp, t] = render_view(scene.world, scene.K, scene.size, cam.poses[t],
                                                float(cam.K_scale[t]), time=float(t), samples=setup.samples)
    return out


def score_frame(rgb: np.ndarray, gt: View, lpips=None) -> dict:
    """PSNR, SSIM, LPIPS (or NaN), per-region SSE and value counts, and the fluid detail energies of ``rgb (3,H,W)``."""
    err = squared_error(rgb, gt.rgb)
    sse = tuple(float(err[gt.valid & (gt.region == r)].sum()) for r in range(len(REGION_NAMES)))
    count = tuple(3 * int((gt.valid & (gt.region == r)).sum()) for r in range(len(REGION_NAMES)))
    lp = lpips(rgb, gt.rgb, gt.valid) if lpips is not None else math.nan
    return {"psnr": psnr(rgb, gt.rgb, gt.valid), "ssim": ssim(rgb, gt.rgb, gt.valid), "lpips": lp, "sse": sse,
            "count": count, "hf": fluid_detail(rgb, gt.rgb, gt.valid & (gt.region == FLUID))}


def _floor_score(ready, config, models, variant: Variant, renderer: str, scene: str, source: View,
                 lpips=None) -> Score:
    """``variant`` at the source pose, frame 0, scored against the source view (the input image)."""
    frames = make_frames(ready, config, preset_path("static", config.num_frames))
    decoder = decoder_for(frames, config.decoder, models.img_decoder) if variant.learned else None
    (_, rgb), = iter_rgb(frames, decoder, indices=[0])
    return Score(variant.key, scene, "static", 0, renderer=renderer, **score_frame(rgb.numpy(), source, lpips))


def _run_scene(scene: SyntheticScene, variants: tuple[Variant, ...], models: Optional[Models], lpips,
               results: Results, tick) -> None:
    """Every (renderer, variant) on one scene: scores, floor, timings and sheet columns go into ``results``;
    ``tick()`` after each scored frame."""
    setup = results.setup
    gts = ground_truth(scene, setup)
    source = render_view(scene.world, scene.K, scene.size, samples=scene.samples)
    for (name, amp, t), view in gts.items():
        if amp == 1.0 and (scene.name, name, t) in setup.sheet_picks():
            results.sheet[scene.name, name, t] = SheetColumn(scene.image.numpy(), view)
    prepared: dict = {}
    for renderer, v in runs(setup, variants):
        config = v.config(setup.num_frames, renderer)
        timing = results.timings.setdefault(f"{renderer}/{v.key}", {"prepare_s": 0.0, "render_s": 0.0, "frames": 0})
        if v.scene_key not in prepared:
            t0 = time.perf_counter()
            ready = prepare_scene(scene.image, depth=scene.depth_input(), flow=scene.flow, config=config,
                                  models=models)
            prepared[v.scene_key] = ready, time.perf_counter() - t0
        ready, seconds = prepared[v.scene_key]
        timing["prepare_s"] += seconds
        results.floor.append(_floor_score(ready, config, models, v, renderer, scene.name, source, lpips))
        for name in setup.trajectories:
            for amp in setup.amplitudes:
                frames = make_frames(ready, config, preset_path(name, setup.num_frames, amp))
                decoder = decoder_for(frames, config.decoder, models.img_decoder) if v.learned else None
                t0 = time.perf_counter()
                for t, rgb in iter_rgb(frames, decoder, indices=setup.times):
                    timing["render_s"] += time.perf_counter() - t0
                    timing["frames"] += 1
                    rgb = rgb.numpy()
                    results.scores.append(Score(v.key, scene.name, name, t, renderer=renderer, amplitude=amp,
                                                **score_frame(rgb, gts[name, amp, t], lpips)))
                    if amp == 1.0 and (scene.name, name, t) in results.sheet:
                        results.sheet[scene.name, name, t].frames[sheet_label(renderer, v.key, setup)] = rgb
                    tick()
                    t0 = time.perf_counter()


def run_benchmark(setup: Setup = FULL, progress: Optional[ProgressFn] = None) -> Results:
    """Run every variant of ``setup`` on every scene, trajectory and time; report ``progress`` per frame."""
    variants = resolve(setup.validate().variants)
    models = None
    notes = []
    if any(v.learned for v in variants):
        models, note = learned_models(setup.models)
        notes.append(note)
        if models is None:
            variants = tuple(v for v in variants if not v.learned)
    lpips, note = lpips_metric()
    results = Results(setup, variants, notes=notes + [note])
    total = (len(setup.scenes) * len(runs(setup, variants)) * len(setup.trajectories) * len(setup.amplitudes)
             * len(setup.times))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    for name in setup.scenes:
        _run_scene(make_scene(name, setup.size, setup.num_frames, setup.samples), variants, models, lpips, results,
                   tick)
        log.info("quality benchmark: scene %s done", name)
    return results
