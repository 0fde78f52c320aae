"""The point cloud's layers as textured height fields: what the warp renderer samples (once per video).

Each LDI layer becomes an image again: its premultiplied RGBA, a smooth disparity sheet that says
where every pixel of it sits in 3-D, and, for the layers whose content flows, the motion its texture
follows and where that content is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import cv2
import torch

from ..errors import CinemagraphError
from ..ops.filters import dilate, erode
from ..points import RGBA_CHANNELS, cloud_spread, diffuse_layer_motion
from ..types import MotionField, PointCloud
from .blend import push_pull_fill

Box = tuple[int, int, int, int]
"""``(y0, y1, x0, x1)`` pixel box, ends exclusive."""

SMOOTH_SIGMA_PX = 2.5
"""Spatial sigma (px at 512 px on the longer side; scaled with the resolution) of the edge-preserving
smoothing of the disparity sheets. Per-pixel depth noise would fold the warp (a surface's pixels
crossing each other) and show as speckle."""

SMOOTH_RELATIVE = 0.05
"""Range sigma of that smoothing, in relative depth: depth differences of a few % (noise, texture
copied into the depth) are smoothed, larger ones (object edges) are kept sharp."""

EDGE_RELATIVE = 0.1
"""A relative depth jump above this between neighbouring pixels of a sheet is an edge: the pixels
around it are also forward-splatted each frame (``parallax``), so that thin near things (posts,
twigs) and the near side of every edge win over what lies behind them in the same layer."""

SKIRT_PX = 2
"""Width (px) of the farther layer's visible continuation a nearer layer takes where a depth bin cuts a
surface (``_seam_skirts``)."""

EDGE_GROW = 2
"""Pixels added around every edge (so that features up to 4 px wide are splatted entirely)."""

MOVE_EPS = 1e-3
"""Motion (px/frame) below which a pixel's texture does not move."""

@dataclass(frozen=True)
class MovingLayer:
    """The flowing part of one layer.

    box: ``(y0, y1, x0, x1)`` of the pixels whose texture moves, grown by the largest motion + 2 px,
        so that no trace (which moves only where the motion is non-zero) leaves it.
    flow: ``(1,2,h,w)`` float32 px/frame, the layer's motion inside ``box`` (zero where it has no
        content).
    texture: ``(1,4,h,w)`` float32 the layer's premultiplied RGBA inside ``box``.
    fluid: ``(1,1,h,w)`` float32 0/1 inside ``box``: the layer's moving content. Sampled bilinearly at a
        traced position it is the share of that sample that comes from moving content.
    fluid_texture: ``(1,5,h,w)`` float32 ``[texture * fluid, fluid]``: sampled bilinearly, the first four
        channels divided by the fifth are the colour of the moving content alone under a sample (static
        colour never flows).
    """

    box: Box
    flow: torch.Tensor
    texture: torch.Tensor
    fluid: torch.Tensor
    fluid_texture: torch.Tensor


@dataclass(frozen=True)
class EdgePoints:
    """A layer's pixels next to depth edges of its sheet: ``x``, ``y`` ``(n,)`` float32 px and ``d`` ``(n,)``
    their disparity."""

    x: torch.Tensor
    y: torch.Tensor
    d: torch.Tensor


@dataclass(frozen=True)
class WarpLayers:
    """Per-layer maps of the warp renderer, all on one device.

    rgba: ``(L,4,H,W)`` float32 premultiplied colour and alpha (alpha 1 on the layer's points).
    disparity: ``(L,1,H,W)`` float32 1/depth of each layer's sheet: its content's disparity, extrapolated
        over the whole image (push-pull) and smoothed, so that every layer is one surface (alpha says
        where it has content).
    moving: per layer a ``MovingLayer`` or None (nothing of it moves).
    edges: per layer its ``EdgePoints`` (content pixels near depth edges of its sheet) or None.
    content: per layer the box of its content (alpha > 0), or None when it has none.
    disparity_range: per layer (min, max) of ``disparity`` over its content ((0, 0) when empty).
    K: ``(3,3)`` float32 source intrinsics in px.
    """

    rgba: torch.Tensor
    disparity: torch.Tensor
    moving: tuple[Optional[MovingLayer], ...]
    edges: tuple[Optional[EdgePoints], ...]
    content: tuple[Optional[Box], ...]
    disparity_range: tuple[tuple[float, float], ...]
    K: torch.Tensor

    @property
    def num_layers(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgba.shape[2]), int(self.rgba.shape[3])

    @property
    def device(self) -> torch.device:
        return self.rgba.device


def build_warp_layers(cloud: PointCloud, motion: MotionField, device: Optional[torch.device | str] = None,
                      smooth_sigma: Optional[float] = None) -> WarpLayers:
    """The layers of ``cloud`` as ``WarpLayers`` on ``device`` (default: the cloud's).

    motion: the Eulerian field M ``(2,H,W)`` px/frame; each layer's texture flows by M where the source
    view shows it, and elsewhere (content it hides) by M diffused from the layer's eroded visible
    region (the official per-layer diffusion of the displacement, SPEC i.2, applied once to M). smooth_sigma: Gaussian sigma (px) of the disparity sheets; default
    ``SMOOTH_SIGMA_PX`` scaled to the resolution.
    """
    h, w = cloud.size
    if motion.size != (h, w):
        raise CinemagraphError(f"the motion field is {motion.size[0]}x{motion.size[1]} but the point cloud is "
                               f"{h}x{w}; make the motion at the LDI's resolution")
    device = torch.device(device) if device is not None else cloud.depth.device
    num = cloud.num_layers
    if cloud.channels < RGBA_CHANNELS:
        raise CinemagraphError(f"the point cloud needs [r, g, b, a] attributes, got {cloud.channels} channels")
    rgba = torch.zeros(num, 4, h * w)
    for i, (pix, attrs) in enumerate(zip(cloud.pixels, cloud.attrs)):
        a = attrs[:, 3].float().clamp(0.0, 1.0)
        rgba[i, :3, pix] = (attrs[:, :3].float().clamp(0.0, 1.0) * a[:, None]).T
        rgba[i, 3, pix] = a
    rgba = rgba.reshape(num, 4, h, w)
    depth = (cloud.depth if cloud.layer_depth is None else cloud.layer_depth).float().clone()
    _seam_skirts(rgba, depth)
    solid = rgba[:, 3] > 0
    sigma = SMOOTH_SIGMA_PX * max(h, w) / 512.0 if smooth_sigma is None else float(smooth_sigma)
    disparity = _disparity_sheets(depth, solid, sigma)
    flow = motion.flow.float().cpu()
    spread = cloud_spread(cloud)
    moving = []
    covered = torch.zeros(h, w, dtype=torch.bool)
    for i in range(num):
        visible = solid[i] & ~covered
        covered |= solid[i]
        layer_flow = diffuse_layer_motion(flow, cloud.keep[i], spread[i])
        if layer_flow is not None:
            # what the source view shows keeps its own motion (a static rock beside the water stays
            # static); the diffused motion only reaches what it hides
            layer_flow = torch.where(visible, flow, layer_flow)
        moving.append(None if layer_flow is None else _moving_layer(layer_flow, solid[i], rgba[i], device))
    content = tuple(_box(s, 0) for s in solid)
    ranges = tuple((float(d[0][s].min()), float(d[0][s].max())) if bool(s.any()) else (0.0, 0.0)
                   for d, s in zip(disparity, solid))
    edges = tuple(_edge_points(d[0], s, device) for d, s in zip(disparity, solid))
    return WarpLayers(rgba=rgba.to(device), disparity=disparity.to(device), moving=tuple(moving), edges=edges,
                      content=content, disparity_range=ranges, K=cloud.K.float().to(device))


def _seam_skirts(rgba: torch.Tensor, depth: torch.Tensor) -> None:
    """In place: where a depth bin cuts one surface, the nearer layer also takes the first ``SKIRT_PX`` px of the
    farther layer's visible continuation (their colour, depth, alpha 1).

    ``rgba (L,4,H,W)`` premultiplied and ``depth (L,H,W)`` of the layers, near to far. Without it the
    two layers meet edge to edge, each covers a moved seam pixel partly, and what the farther layer
    holds under the nearer one (inpainted content) shows through as a line along the cut. Only
    where the two sides are one surface (relative depth gap below ``EDGE_RELATIVE``): at a real
    occlusion edge the nearer layer does not grow. The source view is unchanged (a skirt pixel shows
    the colour that is visible there anyway).
    """
    solid = rgba[:, 3] > 0
    covered = torch.zeros_like(solid[0])
    for i in range(1, rgba.shape[0]):
        covered |= solid[i - 1]
        visible = solid[i] & ~covered
        near = solid[i - 1][None, None].float()
        reach = dilate(near, 2 * SKIRT_PX + 1)[0, 0] > 0
        near_depth = -dilate(torch.where(solid[i - 1], -depth[i - 1], torch.full_like(depth[i - 1], -1e9))[None, None],
                             2 * SKIRT_PX + 1)[0, 0]
        skirt = reach & visible & (depth[i] <= near_depth * (1.0 + EDGE_RELATIVE))
        if bool(skirt.any()):
            rgba[i - 1][:, skirt] = rgba[i][:, skirt]
            depth[i - 1][skirt] = depth[i][skirt]


def _disparity_sheets(depth: torch.Tensor, solid: torch.Tensor, sigma: float) -> torch.Tensor:
    """``(L,1,H,W)`` disparity sheets from the layers' depth ``(L,H,W)`` and content ``(L,H,W)`` bool.

    Per layer, in log disparity: the content's values extrapolated over the image (push-pull); every
    pixel on a depth edge (its 3x3 neighbourhood spans a jump > ``EDGE_RELATIVE``) snapped to the
    nearer of the neighbourhood's extremes, so the mixed pixels of a depth map's object edges (the
    source of hair-like streaks) join one side while 1-px features keep their depth; then an
    edge-preserving (bilateral) smoothing of spatial sigma ``sigma`` px and range ``SMOOTH_RELATIVE``.
    One layer at a time, so that the temporaries stay those of one map.
    """
    out = torch.empty(depth.shape[0], 1, *depth.shape[1:])
    k = 2 * int(1.5 * sigma + 0.5) + 1
    for i, (d, s) in enumerate(zip(depth, solid)):
        weight = s.float() if bool(s.any()) else torch.ones_like(d)
        log_disp = push_pull_fill(-torch.log(d.clamp(min=1e-3))[None], weight)[None]
        lo, hi = erode(log_disp, 3), dilate(log_disp, 3)
        snap = torch.where(log_disp - lo < hi - log_disp, lo, hi)
        log_disp = torch.where(hi - lo > math.log1p(EDGE_RELATIVE), snap, log_disp)[0, 0].contiguous().numpy()
        if sigma > 0:
            log_disp = cv2.bilateralFilter(log_disp, k, SMOOTH_RELATIVE, sigma, borderType=cv2.BORDER_REFLECT)
        out[i, 0] = torch.exp(torch.from_numpy(log_disp))
    return out


def _edge_points(disparity: torch.Tensor, solid: torch.Tensor, device: torch.device) -> Optional[EdgePoints]:
    """The content pixels within ``EDGE_GROW`` px of a relative disparity jump > ``EDGE_RELATIVE`` of the sheet."""
    log_disp = torch.log(disparity)[None, None]
    jump = dilate(log_disp, 3) - erode(log_disp, 3)
    near_edge = dilate((jump > math.log1p(EDGE_RELATIVE)).float(), 2 * EDGE_GROW + 1)
    ys, xs = torch.nonzero((near_edge[0, 0] > 0) & solid, as_tuple=True)
    if ys.numel() == 0:
        return None
    return EdgePoints(x=xs.float().to(device), y=ys.float().to(device), d=disparity[ys, xs].to(device))


def _moving_layer(layer_flow: torch.Tensor, solid: torch.Tensor, rgba: torch.Tensor, device: torch.device
                  ) -> Optional[MovingLayer]:
    moves = (layer_flow.abs().amax(dim=0) > MOVE_EPS) & solid
    if not bool(moves.any()):
        return None
    flow = torch.where(moves, layer_flow, layer_flow.new_zeros(()))
    y0, y1, x0, x1 = box = _box(moves, int(math.ceil(float(flow.abs().max()))) + 2)
    crop = (slice(None), slice(y0, y1), slice(x0, x1))
    texture = rgba[crop][None].contiguous()
    fluid = moves[None, None, y0:y1, x0:x1].float()
    return MovingLayer(box=box, flow=flow[None][(slice(None),) + crop].contiguous().to(device),
                       texture=texture.to(device), fluid=fluid.to(device), fluid_texture=torch.cat([texture * fluid, fluid], 1).to(device))


def _box(mask: torch.Tensor, grow: int) -> Optional[Box]:
    """Box of the True pixels of ``mask (H,W)`` grown by ``grow`` px (clipped), or None if there are none."""
    rows = mask.any(1).nonzero()
    if rows.numel() == 0:
        return None
    cols = mask.any(0).nonzero()
    h, w = mask.shape
    return (max(int(rows[0]) - grow, 0), min(int(rows[-1]) + grow + 1, h),
            max(int(cols[0]) - grow, 0), min(int(cols[-1]) + grow + 1, w))
