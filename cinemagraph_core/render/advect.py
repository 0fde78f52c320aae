"""Texture-space 3-D symmetric animation: each layer's texture advected in the image plane.

Frame t of N shows two copies of every flowing layer. The forward copy at pixel x is the layer's
texture where the fluid at x came from t frames ago: the trace of x backwards along the layer's
motion M (``p <- p - M(p)``, bilinear, t steps). The backward copy is the texture where the fluid at
x will be N - t frames later (``p <- p + M(p)``, N - t steps): the source image advected by -M, as
the paper's backward copy. They are blended per pixel with the paper's weights (the two copies lie
on the same layer, so the depth terms of the paper's W cancel)::

    w_f = (1 - t/N) v_f,   w_b = (t/N) v_b,   out = (w_f C_f + w_b C_b + eps C_0) / (w_f + w_b + eps)

with ``v`` the validity of a copy's sample (the splatted copy's coverage, continuous): its trace stayed
inside the image, the share of its bilinear footprint that lies in moving content of the layer (only
that content's colour is taken, so fluid never drags static colour in, nor the reverse), and how
little the trace stretched the texture (``min(1, det J)`` of the trace map, the area a splatted copy
would cover). ``C_0`` (the unmoved texture) only decides static pixels; a fluid pixel neither copy
knows is left empty (a splatted copy's hole) and filled from the frame around it. t = 0 gives the input exactly and frame N would
equal frame 0, so the video loops. Static pixels (no motion) are never traced. Traces advance frame
to frame (O(N) per video); the backward ones are checkpointed (``motion.euler.descending_states``).

A frame is described by per-pixel fields (``flow_fields``: where each copy samples and the three
weights), so that the camera warp can sample the texture once, at the composed position
(``parallax.composite``), instead of resampling an already resampled texture.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

import torch
import torch.nn.functional as F

from ..motion.euler import descending_states
from ..ops.sampling import grid_scale, pixel_grid, sample_grid
from .warp_layers import MovingLayer, WarpLayers

SHARE_EPS = 1e-3
"""Smallest share of moving content a sample's colour is divided by (its weight is already that small)."""

FALLBACK_WEIGHT = 1e-3
"""Weight of the unmoved texture: it only matters where neither copy's sample is valid."""


class Tracer:
    """Where every pixel of the flowing layers samples its texture after ``steps`` steps.

    sign -1 traces backwards in time (the forward copy), +1 forwards (the backward copy).
    grids: per flowing layer ``(1,h,w,2)`` float32, the sample positions of its box's pixels in
    ``grid_sample`` units of the box (directly usable as a grid); valid: ``(1,1,h,w)`` float32, 0 once
    a trace has left the image (sticky; the trace then stays where it left). Steps make new tensors
    (never in place), so ``copy()`` is cheap and copies share nothing mutable.
    """

    def __init__(self, layers: WarpLayers, sign: float):
        self._parts = [m for m in layers.moving if m is not None]
        self._sign = float(sign)
        self._bounds = [_image_bounds(m.box, layers.size, layers.device) for m in self._parts]
        self._flows = []
        self.grids = []
        for m in self._parts:
            h, w = m.box[1] - m.box[0], m.box[3] - m.box[2]
            sx, sy = grid_scale((h, w))
            scale = torch.tensor([sx, sy], device=layers.device)
            # only pixels of moving content are traced: a static pixel beside the fluid stays put (a
            # bilinear lookup there would let the neighbouring motion creep in)
            self._flows.append(m.flow * scale.view(1, 2, 1, 1))
            self.grids.append((pixel_grid(h, w, layers.device).permute(1, 2, 0) * scale - 1.0)[None])
        self._active = [(m.fluid > 0).permute(0, 2, 3, 1) for m in self._parts]
        self.valid = [torch.ones(1, 1, g.shape[1], g.shape[2], device=layers.device) for g in self.grids]
        self.steps = 0

    def step(self) -> None:
        """One Euler step along the layers' motion (bilinear lookup)."""
        grids, valid = [], []
        for flow, (lo, hi), active, g, v in zip(self._flows, self._bounds, self._active, self.grids, self.valid):
            nxt = g + self._sign * sample_grid(flow, g).permute(0, 2, 3, 1)
            out = ((nxt < lo) | (nxt > hi)).any(dim=-1)[:, None]
            grids.append(torch.where(out.permute(0, 2, 3, 1) | ~active, g, nxt))
            valid.append(v.masked_fill(out, 0.0))
        self.grids, self.valid = grids, valid
        self.steps += 1

    def advance(self, n: int) -> None:
        for _ in range(n):
            self.step()

    def copy(self) -> "Tracer":
        other = object.__new__(Tracer)
        other.__dict__.update(self.__dict__)
        return other


def symmetric_traces(layers: WarpLayers, num_frames: int, frames: Iterable[int]
                     ) -> Iterator[tuple[int, Tracer, Tracer]]:
    """``(t, forward tracer after t steps, backward tracer after N - t steps)`` for ``frames`` ascending.

    frames: distinct indices in 0..N-1, ascending. About 3 N steps in total, O(sqrt N) tracers held.
    """
    wanted = list(frames)
    if not wanted:
        return
    fwd = Tracer(layers, -1.0)
    for k, bwd in descending_states(Tracer(layers, +1.0), [num_frames - t for t in wanted]):
        t = num_frames - k
        fwd.advance(t - fwd.steps)
        yield t, fwd, bwd


def forward_traces(layers: WarpLayers, frames: Iterable[int]) -> Iterator[tuple[int, Tracer]]:
    """``(t, forward tracer after t steps)`` for ``frames`` ascending (naive forward-only animation)."""
    fwd = Tracer(layers, -1.0)
    for t in frames:
        fwd.advance(t - fwd.steps)
        yield t, fwd


FIELDS = 7
"""Channels of a flowing layer's fields at one frame: where the forward and the backward copy sample
the texture (x, y each, ``grid_sample`` units of the layer's box) and the weights of the forward copy,
the backward copy (they take the colour of the moving content under their sample,
``MovingLayer.fluid_texture``) and the unmoved texture (static pixels). The weights stay a convex
combination, so the fields can be interpolated. A fluid pixel that neither copy knows (its content came
from outside the image) is left empty, as a splatted copy's hole, and filled from the frame around it."""


def flow_fields(layers: WarpLayers, fwd: Tracer, bwd: Optional[Tracer], time: float) -> list[Optional[torch.Tensor]]:
    """Per layer its fields ``(1,FIELDS,h,w)`` over its flowing box at one frame, None where it shows its
    unmoved texture: a static layer, and every layer at t = 0 (so the input comes back exactly).

    fwd, bwd: the frame's tracers (``symmetric_traces``); bwd None = the forward copy only (naive).
    time: t / N in [0, 1). The weights are the module docstring's.
    """
    if fwd.steps == 0:
        return [None] * layers.num_layers
    out, j = [], 0
    for part in layers.moving:
        if part is None:
            out.append(None)
            continue
        gf = fwd.grids[j]
        share_f, stretch_f = _share(part, gf)
        vf = (1.0 if bwd is None else 1.0 - time) * fwd.valid[j] * stretch_f
        if bwd is None:
            gb, vb, share_b = gf, torch.zeros_like(vf), share_f
        else:
            gb = bwd.grids[j]
            share_b, stretch_b = _share(part, gb)
            vb = time * bwd.valid[j] * stretch_b
        wf, wb = vf * share_f, vb * share_b
        total = wf + wb + FALLBACK_WEIGHT
        out.append(torch.cat([gf.permute(0, 3, 1, 2), gb.permute(0, 3, 1, 2), wf / total, wb / total,
                              FALLBACK_WEIGHT * (1.0 - part.fluid) / total], dim=1))
        j += 1
    return out


def _share(part: MovingLayer, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(1,1,h,w)`` each: the share of a traced sample's bilinear footprint in moving content (only that
    content's colour is taken, so fluid never drags static colour in), and ``min(1, det J)`` of the trace
    map (the area a splatted copy would cover: a stretched texture counts less)."""
    h, w = part.box[1] - part.box[0], part.box[3] - part.box[2]
    sx, sy = grid_scale((h, w))
    stretch = (jacobian_det(grid) / (sx * sy)).clamp_(0.0, 1.0)
    return sample_grid(part.fluid, grid, "zeros"), stretch


def animated(part: MovingLayer, fields: torch.Tensor, still: torch.Tensor) -> torch.Tensor:
    """The flowing layer's premultiplied RGBA ``(1,4,...)`` from its fields ``(1,FIELDS,...)`` and the unmoved
    RGBA ``still (1,4,...)`` at the same points (a box of pixels, or any list of points shaped ``(1,C,1,n)``)."""
    cf = sample_grid(part.fluid_texture, fields[:, 0:2].permute(0, 2, 3, 1), "border")
    cb = sample_grid(part.fluid_texture, fields[:, 2:4].permute(0, 2, 3, 1), "border")
    return (fields[:, 4:5] / cf[:, 4:5].clamp(min=SHARE_EPS) * cf[:, :4]
            + fields[:, 5:6] / cb[:, 4:5].clamp(min=SHARE_EPS) * cb[:, :4] + fields[:, 6:7] * still)


class FrameTextures:
    """Each layer's premultiplied RGBA ``(1,4,H,W)`` at one frame, seen from the source view.

    Static layers are views of ``layers.rgba``; every flowing layer has one buffer of its own whose
    flowing box is rewritten in place for each frame (no per-frame copy of whole layers).
    """

    def __init__(self, layers: WarpLayers):
        self.layers = layers
        self.buffers = [layers.rgba[i:i + 1] if part is None else layers.rgba[i:i + 1].clone()
                        for i, part in enumerate(layers.moving)]

    def at(self, fields: list[Optional[torch.Tensor]]) -> list[torch.Tensor]:
        """The layers given the frame's ``flow_fields`` (valid until the next call)."""
        for part, buf, f in zip(self.layers.moving, self.buffers, fields):
            if part is not None:
                y0, y1, x0, x1 = part.box
                buf[..., y0:y1, x0:x1] = part.texture if f is None else animated(part, f, part.texture)
        return self.buffers


def jacobian_det(grid: torch.Tensor) -> torch.Tensor:
    """``(B,1,h,w)`` determinant of the Jacobian of a position map ``grid (B,h,w,2)`` per pixel step
    (central differences, one-sided at the edges): the source area a pixel's sample comes from, in
    the grid's units squared."""
    g = grid.permute(0, 3, 1, 2)
    gx = F.pad(g, (1, 1, 0, 0), mode="replicate")
    gy = F.pad(g, (0, 0, 1, 1), mode="replicate")
    dx = gx[..., 2:] - gx[..., :-2]
    dy = gy[..., 2:, :] - gy[..., :-2, :]
    if g.shape[-1] > 2:
        dx[..., 1:-1] *= 0.5
    if g.shape[-2] > 2:
        dy[..., 1:-1, :] *= 0.5
    return dx[:, :1] * dy[:, 1:] - dx[:, 1:] * dy[:, :1]


def _image_bounds(box: tuple[int, int, int, int], size: tuple[int, int], device) -> tuple[torch.Tensor, torch.Tensor]:
    """The image ``[0, W-1] x [0, H-1]`` in ``grid_sample`` units of ``box``: (low, high) ``(2,)`` (x, y)."""
    y0, y1, x0, x1 = box
    sx, sy = grid_scale((y1 - y0, x1 - x0))
    h, w = size
    lo = torch.tensor([(0 - x0) * sx - 1.0, (0 - y0) * sy - 1.0], device=device)
    hi = torch.tensor([(w - 1 - x0) * sx - 1.0, (h - 1 - y0) * sy - 1.0], device=device)
    return lo, hi
