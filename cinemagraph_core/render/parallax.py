"""The camera by inverse warping: every layer's height field seen from the frame's camera, composited.

For a target pixel u' of a camera ``p' = R p + t`` with focal lengths times ``s``, the source pixels
that can project onto it lie on one line, parametrised by their disparity d = 1/z::

    u(d) = A + B d,   A = c + f (a_xy / a_z),   B = f (b_z a_xy / a_z - b_xy),
    a = R^T K_s^-1 [u', 1],   b = R^T t

(the point of disparity d on the target ray, projected into the source). The layer shows at u' the
nearest point of its disparity sheet on that ray: the largest d with ``sheet(u(d)) = d``. It is
found in three steps (``source_disparity``):

1. on a coarse grid of target pixels, a march along the ray from the layer's nearest disparity to
   its farthest in steps of at most ``MARCH_PX`` source px, keeping the first crossing (inverse
   parallax occlusion mapping), placed by a secant step and refined by a fixed-point step;
2. at every pixel, the nearest of the coarse solutions around it if it is consistent with the sheet
   (one fixed-point step moves it by less than ``CONSISTENT_PX``), else the farthest, each refined
   by that step;
3. the layer's pixels next to depth edges (``warp_layers.EdgePoints``) are forward-splatted, nearest
   wins; where one lands nearer than step 2's answer and is consistent there, it wins: thin near
   things the coarse grid steps over, and the exact near side of every edge.

Each layer is then sampled bilinearly there (colour and alpha premultiplied), so a stretched surface
stays a continuous sheet, never a cloud with gaps, and its alpha edge is anti-aliased; the layers are
composited near over far. Pure torch gathers and one scatter per layer, on the layers' device; A and
B are kept in ``grid_sample``'s normalised units.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..ops.sampling import grid_scale, sample_grid
from .advect import SHARE_EPS, FrameTextures, animated
from .warp_layers import Box, EdgePoints, MovingLayer, WarpLayers

MARCH_PX = 2.0
"""Largest step (source px along the ray) of the coarse march (the refinement places the surface; thin
things a step can skip are found by the edge splat)."""

MAX_MARCH_STEPS = 64
"""Cap on the march steps (a camera moving a layer by more than 64 px takes longer steps; the
refinement still lands on the sheet)."""

COARSE_STRIDE = 4
"""Spacing (px) of the coarse grid of target pixels the march runs on."""

CONSISTENT_PX = 0.5
"""A disparity is on the sheet at a pixel when one fixed-point step moves it by less than this many
source px along the ray."""

BOX_MARGIN = 2
"""Pixels added around the target box a layer can reach."""

REACH_STRIDE = 8
"""Spacing (px) of the target pixels at which a layer's reach is tested (A and B are smooth); the box
is grown by it."""

FLAT_PX = 0.25
"""A layer whose content moves by less than this (px) between its nearest and farthest disparity is
drawn at its middle disparity, without solving (e.g. a sky): the error is at most half of it."""

MIN_DEPTH = 1e-6
"""A point must be at least this far in front of the target camera (depth units) to be seen."""


class FrameCamera:
    """The epipolar lines ``u(d) = A + B d`` of one frame's target pixels (module docstring).

    K: ``(3,3)`` source intrinsics; pose: ``(4,4)`` point transform ``p' = R p + t``; scale: focal
    multiplier; size: ``(H, W)`` of the frame (the source size). ``b_z``: the z of ``R^T t`` (a
    source point of depth z is in front of the camera when ``z + b_z > 0``); ``identity``: the
    source view itself.
    """

    def __init__(self, K: torch.Tensor, pose, scale: float, size: tuple[int, int], device: torch.device):
        pose = np.asarray(pose, dtype=np.float64)
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise CinemagraphError(f"render: pose must be a finite (4,4) point transform, got shape {pose.shape}.")
        if not (np.isfinite(scale) and scale > 0):
            raise CinemagraphError(f"render: the focal scale must be > 0, got {scale}.")
        self.size = (int(size[0]), int(size[1]))
        self.device = device
        k = K.detach().to("cpu", torch.float64).numpy()
        self._f = (float(k[0, 0]), float(k[1, 1]))
        self._c = (float(k[0, 2]), float(k[1, 2]))
        self._scale = float(scale)
        self._rot_t = pose[:3, :3].T
        self._b = self._rot_t @ pose[:3, 3]
        self.b_z = float(self._b[2])
        self.identity = bool(np.array_equal(pose, np.eye(4))) and scale == 1.0

    def project(self, x: torch.Tensor, y: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Target px ``(u, v)`` of source pixels ``(x, y)`` with disparities ``d`` (all ``(n,)``), and whether each
        is in front of the camera (``(n,)`` bool)."""
        (fx, fy), (cx, cy) = self._f, self._c
        rot, t = self._rot_t.T, self._rot_t.T @ self._b
        rx, ry = (x - cx) / fx, (y - cy) / fy
        qx = rot[0, 0] * rx + rot[0, 1] * ry + rot[0, 2] + t[0] * d
        qy = rot[1, 0] * rx + rot[1, 1] * ry + rot[1, 2] + t[1] * d
        qz = rot[2, 0] * rx + rot[2, 1] * ry + rot[2, 2] + t[2] * d
        front = qz > MIN_DEPTH * d
        qz = torch.where(front, qz, torch.ones_like(qz))
        return cx + self._scale * fx * qx / qz, cy + self._scale * fy * qy / qz, front

    def lines(self, xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A, B ``(2,h,w)`` float32 (x, y), in ``grid_sample`` units of the source, at the target pixels
        ``xs (w,)`` x ``ys (h,)`` (any real coordinates, px)."""
        (fx, fy), (cx, cy) = self._f, self._c
        rx = ((xs - cx) / (self._scale * fx))[None, :].expand(len(ys), len(xs))
        ry = ((ys - cy) / (self._scale * fy))[:, None].expand(len(ys), len(xs))
        if np.array_equal(self._rot_t, np.eye(3)):
            ax, ay = rx, ry
        else:
            r = self._rot_t
            az = r[2, 0] * rx + r[2, 1] * ry + r[2, 2]
            ax = (r[0, 0] * rx + r[0, 1] * ry + r[0, 2]) / az
            ay = (r[1, 0] * rx + r[1, 1] * ry + r[1, 2]) / az
        sx, sy = grid_scale(self.size)
        b = self._b
        A = torch.stack([(cx + fx * ax) * sx - 1.0, (cy + fy * ay) * sy - 1.0])
        B = torch.stack([fx * sx * (self.b_z * ax - b[0]), fy * sy * (self.b_z * ay - b[1])])
        return A, B

    def box_lines(self, box: Box, stride: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """``lines`` of the pixels of ``box``; stride > 1: of an evenly spaced grid over the box that
        includes its first and last rows and columns, at most ``stride`` px apart."""
        y0, y1, x0, x1 = box
        return self.lines(_span(x0, x1, stride, self.device), _span(y0, y1, stride, self.device))

    def reach(self, source_box: Box, disparity_range: tuple[float, float]) -> tuple[Optional[Box], float]:
        """Target box (clipped) where content of ``source_box`` at disparities in ``disparity_range`` can
        appear (None if it cannot), tested every ``REACH_STRIDE`` px and grown accordingly, and the
        largest distance (px) between the source positions of one target pixel over that range."""
        h, w = self.size
        sx, sy = grid_scale(self.size)
        rows = torch.unique(torch.tensor(list(range(0, h, REACH_STRIDE)) + [h - 1], dtype=torch.float32))
        cols = torch.unique(torch.tensor(list(range(0, w, REACH_STRIDE)) + [w - 1], dtype=torch.float32))
        A, B = self.lines(cols.to(self.device), rows.to(self.device))
        A, B = A.permute(1, 2, 0).cpu(), B.permute(1, 2, 0).cpu()
        y0, y1, x0, x1 = source_box
        d0, d1 = disparity_range
        lo = torch.minimum(B * d0, B * d1) + A
        hi = torch.maximum(B * d0, B * d1) + A
        box_lo = torch.tensor([(x0 - 1) * sx - 1.0, (y0 - 1) * sy - 1.0])
        box_hi = torch.tensor([x1 * sx - 1.0, y1 * sy - 1.0])
        ok = ((hi >= box_lo) & (lo <= box_hi)).all(-1)
        hit_rows, hit_cols = rows[ok.any(1)], cols[ok.any(0)]
        if hit_rows.numel() == 0:
            return None, 0.0
        spread = ((hi - lo) / torch.tensor([sx, sy]))[ok].norm(dim=-1).max()
        grow = REACH_STRIDE + BOX_MARGIN
        return (max(int(hit_rows[0]) - grow, 0), min(int(hit_rows[-1]) + grow + 1, h),
                max(int(hit_cols[0]) - grow, 0), min(int(hit_cols[-1]) + grow + 1, w)), float(spread)


def _span(start: int, stop: int, stride: int, device) -> torch.Tensor:
    """Pixel coordinates ``start .. stop - 1``, every pixel (stride 1) or evenly spaced, ends included,
    at most ``stride`` apart."""
    if stride <= 1 or stop - start <= 2:
        return torch.arange(start, stop, dtype=torch.float32, device=device)
    n = -(-(stop - 1 - start) // stride) + 1
    return torch.linspace(float(start), float(stop - 1), n, device=device)


def fixed_point_step(sheet: torch.Tensor, A: torch.Tensor, B: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``sheet(A + B d)`` ``(1,h,w)``: the sheet's disparity where disparity d puts each target pixel."""
    return sample_grid(sheet, grid_of(A, B, d), "border").view(d.shape)


def grid_of(A: torch.Tensor, B: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``grid_sample`` grid ``(1,h,w,2)`` of the source positions ``A + B d`` (A, B ``(2,h,w)``, d ``(1,h,w)``)."""
    return torch.stack([torch.addcmul(A[0], B[0], d[0]), torch.addcmul(A[1], B[1], d[0])], dim=-1)[None]


def march(sheet: torch.Tensor, alpha: torch.Tensor, A: torch.Tensor, B: torch.Tensor, d_range: tuple[float, float],
          steps: int) -> torch.Tensor:
    """First crossing ``(1,h,w)`` of every ray with the sheet where the layer has content (``alpha
    (1,1,H,W)`` > 0.5), from the nearest disparity to the farthest.

    The rays are sampled at ``steps + 1`` disparities ``hi .. lo``; f(d) = sheet(u(d)) - d starts <= 0
    (nothing is nearer than hi) and ends >= 0 (nothing is farther than lo); the first sample with
    f >= 0 on content and the one before it bracket the nearest intersection, placed by a secant step
    (the farthest sample when the ray meets no content). Crossings of the sheet where the layer is
    empty (the sheet extrapolated beyond its content) do not stop the march.
    """
    lo, hi = float(d_range[0]), float(d_range[1])
    h, w = int(A.shape[1]), int(A.shape[2])
    ds = torch.linspace(hi, lo, steps + 1, device=A.device).view(-1, 1, 1)
    grid = torch.stack([A[0] + B[0] * ds, A[1] + B[1] * ds], dim=-1).view(1, (steps + 1) * h, w, 2)
    f = sample_grid(sheet, grid, "border").view(steps + 1, h, w) - ds
    hit = (f >= 0) & (sample_grid(alpha, grid, "zeros").view(steps + 1, h, w) > 0.5)
    hit[-1] = True
    # the first hit along each ray (argmax over a contiguous last axis is several times faster)
    k = hit.to(torch.uint8).permute(1, 2, 0).contiguous().argmax(dim=-1)[None]
    prev = (k - 1).clamp(min=0)
    d1, f1 = ds.view(-1)[k], f.gather(0, k)
    d0, f0 = ds.view(-1)[prev], f.gather(0, prev)
    span = f1 - f0
    frac = torch.where(span > 0, -f0 / span.clamp(min=1e-30), torch.zeros_like(span)).clamp(0.0, 1.0)
    return torch.where(k > 0, d0 + (d1 - d0) * frac, d1)


def source_disparity(layers: WarpLayers, i: int, camera: FrameCamera, box: Box, spread: float,
                     lines: Optional[tuple[torch.Tensor, torch.Tensor]] = None) -> torch.Tensor:
    """The disparity ``(1,h,w)`` at which layer ``i``'s sheet is seen at the target pixels of ``box`` (module
    docstring). ``spread``: how far (px) the layer's disparity range moves a pixel's source (``reach``);
    lines: ``camera.box_lines(box)`` when the caller has them. Where a layer tears (no point of its sheet
    on a ray, between two surfaces that the camera pulls apart) the sheet is seen stretched across the
    gap: measured on the quality benchmark, that is closer to the truth than a hole filled afterwards."""
    sheet = layers.disparity[i:i + 1]
    lo, hi = layers.disparity_range[i]
    A, B = camera.box_lines(box) if lines is None else lines
    size = tuple(A.shape[1:])
    if spread < FLAT_PX:
        return torch.full((1, *size), 0.5 * (lo + hi), device=A.device)
    Ac, Bc = camera.box_lines(box, COARSE_STRIDE)
    steps = int(min(max(math.ceil(spread / MARCH_PX), 2), MAX_MARCH_STEPS))
    coarse = fixed_point_step(sheet, Ac, Bc, march(sheet, layers.rgba[i:i + 1, 3:4], Ac, Bc, (lo, hi), steps))
    px = B.abs().amax(0, keepdim=True) * (0.5 * max(layers.size))
    near, far = _upsampled_extremes(coarse, size, px)
    d = _nearest_consistent(sheet, A, B, px, near, far)
    edges = layers.edges[i]
    if edges is not None:
        _edge_candidates(sheet, A, B, px, d, edges, camera, box)
    return d


def _upsampled_extremes(coarse: torch.Tensor, size: tuple[int, int], px: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Near and far candidates ``(1,h,w)`` at full resolution from a coarse disparity ``(1,hc,wc)`` (samples
    spanning the box, ends included): the bilinear interpolation where the four coarse samples around a
    pixel agree (within ``CONSISTENT_PX`` at the box's largest ``px`` px per unit disparity), else their
    largest and their smallest (an edge between two surfaces runs through that cell: each pixel shows
    one of them)."""
    if tuple(coarse.shape[1:]) == size:
        return coarse, coarse
    lin = F.interpolate(coarse[None], size=size, mode="bilinear", align_corners=True)[0]
    if min(coarse.shape[1:]) < 2:
        return lin, lin
    x = coarse[None]
    cell_hi = F.max_pool2d(x, 2, stride=1)
    cell_lo = -F.max_pool2d(-x, 2, stride=1)
    jump = (cell_hi - cell_lo) * float(px.max()) > CONSISTENT_PX
    if not bool(jump.any()):
        return lin, lin

    def up(m: torch.Tensor) -> torch.Tensor:
        return F.interpolate(m, size=size, mode="nearest")[0]

    edge = up(jump.float()) > 0
    return torch.where(edge, up(cell_hi), lin), torch.where(edge, up(cell_lo), lin)


def _nearest_consistent(sheet, A, B, px, near, far) -> torch.Tensor:
    """Per pixel: ``near`` after one fixed-point step where it is consistent, else ``far`` after one."""
    d = fixed_point_step(sheet, A, B, near)
    redo = ((d - near).abs() * px > CONSISTENT_PX) & ((near - far) * px > CONSISTENT_PX)
    if bool(redo.any()):
        idx = redo.view(-1).nonzero()[:, 0]
        d.view(-1)[idx] = _step_at(sheet, A, B, far.view(-1)[idx], idx)
    return d


def _edge_candidates(sheet, A, B, px, d, edges: EdgePoints, camera: FrameCamera, box: Box) -> None:
    """In place: where a forward-splatted edge pixel lands nearer than ``d`` and is consistent there, ``d``
    becomes that pixel's disparity after one fixed-point step. Pixels where
    nothing landed between two that got the same surface (the cracks of a magnified edge) take it too;
    the splat does not grow otherwise, so a thin feature keeps its width."""
    y0, y1, x0, x1 = box
    h, w = y1 - y0, x1 - x0
    u, v, ok = camera.project(edges.x, edges.y, edges.d)
    u, v = torch.round(u) - x0, torch.round(v) - y0
    ok &= (u >= 0) & (u < w) & (v >= 0) & (v < h)
    if not bool(ok.any()):
        return
    u, v = u[ok].long(), v[ok].long()
    # splat into the box of what landed (grown by the crack passes), not the whole target box
    sy0, sy1 = max(int(v.min()) - 2, 0), min(int(v.max()) + 3, h)
    sx0, sx1 = max(int(u.min()) - 2, 0), min(int(u.max()) + 3, w)
    sh, sw = sy1 - sy0, sx1 - sx0
    splat = torch.full((sh * sw,), -1.0, device=d.device).scatter_reduce_(
        0, (v - sy0) * sw + (u - sx0), edges.d[ok], "amax")
    splat = _close_cracks(splat.view(1, 1, sh, sw))[0, 0]
    window = d[0, sy0:sy1, sx0:sx1]
    local = (splat > window).nonzero()
    if local.shape[0] == 0:
        return
    tried = (local[:, 0] + sy0) * w + (local[:, 1] + sx0)
    cand = splat[local[:, 0], local[:, 1]]
    flat, pxf = d.view(-1), px.view(-1)
    stepped = _step_at(sheet, A, B, cand, tried)
    good = (stepped - cand).abs() * pxf[tried] <= CONSISTENT_PX
    flat[tried[good]] = stepped[good]


def _close_cracks(splat: torch.Tensor, passes: int = 2) -> torch.Tensor:
    """Fill the empty (< 0) pixels of a splatted disparity ``(1,1,h,w)`` that lie between two filled ones in a
    row or a column (the farther of the pair), ``passes`` times (cracks up to that many px wide)."""
    for _ in range(passes):
        p = F.pad(splat, (1, 1, 1, 1), value=-1.0)
        across = torch.minimum(p[..., 1:-1, :-2], p[..., 1:-1, 2:])
        along = torch.minimum(p[..., :-2, 1:-1], p[..., 2:, 1:-1])
        splat = torch.where(splat < 0, torch.maximum(across, along), splat)
    return splat


def _step_at(sheet: torch.Tensor, A: torch.Tensor, B: torch.Tensor, d: torch.Tensor, idx: torch.Tensor
             ) -> torch.Tensor:
    """One fixed-point step ``(n,)`` at the flat pixel indices ``idx (n,)`` of a box, from disparities ``d (n,)``."""
    a, b = A.reshape(2, -1)[:, idx], B.reshape(2, -1)[:, idx]
    grid = torch.stack([a[0] + b[0] * d, a[1] + b[1] * d], dim=-1).view(1, 1, -1, 2)
    return sample_grid(sheet, grid, "border").view(-1)


def composite(layers: WarpLayers, fields: list[Optional[torch.Tensor]], camera: FrameCamera,
              textures: FrameTextures) -> torch.Tensor:
    """``(4,H,W)`` premultiplied RGBA of the frame: every layer warped into ``camera``, near over far.

    fields: per layer its ``advect.flow_fields`` at this frame (None: its unmoved texture). A flowing
    layer's texture is sampled once, where the frame's copies put the source position the camera
    sees (never a resampled resample). textures: the frame's layers at the source view, used when the
    camera is the source view. Pixels no layer covers keep a coverage < 1 (channel 3) for the caller.
    """
    h, w = layers.size
    if camera.identity:
        out = torch.zeros(1, 4, h, w, device=layers.device)
        trans = torch.ones(1, 1, h, w, device=layers.device)
        for tex in textures.at(fields):
            out.addcmul_(trans, tex)
            trans.mul_(1.0 - tex[:, 3:4])
        return out[0]
    out = torch.zeros(1, 4, h, w, device=layers.device)
    trans = torch.ones(1, 1, h, w, device=layers.device)
    for i in range(layers.num_layers):
        box = layers.content[i]
        if box is None:
            continue
        lo, hi = layers.disparity_range[i]
        target, spread = camera.reach(box, (lo, hi))
        if target is None:
            continue
        y0, y1, x0, x1 = target
        A, B = camera.box_lines(target)
        disp = source_disparity(layers, i, camera, target, spread, (A, B))
        grid = grid_of(A, B, disp)
        seen = sample_grid(layers.rgba[i:i + 1], grid, "zeros")
        part, f = layers.moving[i], fields[i]
        if part is not None and f is not None:
            _animate_seen(seen, grid, part, f, layers.size, _within(camera.reach(part.box, (lo, hi))[0], target))
        if camera.b_z < 0 and 1.0 + camera.b_z * hi <= MIN_DEPTH * hi:
            seen = seen * ((1.0 + camera.b_z * disp) > MIN_DEPTH * disp)[:, None]
        t_box = trans[..., y0:y1, x0:x1]
        out[..., y0:y1, x0:x1].addcmul_(t_box, seen)
        t_box.mul_(1.0 - seen[:, 3:4])
    return out[0]


def _within(box: Optional[Box], outer: Box) -> Optional[Box]:
    """``box`` clipped to ``outer``, in ``outer``'s own coordinates (None if they do not meet)."""
    if box is None:
        return None
    y0, y1 = max(box[0], outer[0]) - outer[0], min(box[1], outer[1]) - outer[0]
    x0, x1 = max(box[2], outer[2]) - outer[2], min(box[3], outer[3]) - outer[2]
    return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None


def _animate_seen(seen: torch.Tensor, grid: torch.Tensor, part: MovingLayer, fields: torch.Tensor,
                  size: tuple[int, int], reach: Optional[Box]) -> None:
    """Replace, in ``seen (1,4,h,w)``, the pixels whose source position ``grid (1,h,w,2)`` lies in the flowing
    box by the animated texture sampled there (the fields interpolated at that position). ``reach``: the
    part of ``seen``'s box (its own coordinates) where such pixels can be (None: nowhere)."""
    if reach is None:
        return
    ry0, ry1, rx0, rx1 = reach
    by0, by1, bx0, bx1 = part.box
    H, W = size
    bsx, bsy = grid_scale((by1 - by0, bx1 - bx0))
    g = grid[:, ry0:ry1, rx0:rx1]
    px = (g[..., 0] + 1.0) * (0.5 * (W - 1)) - bx0
    py = (g[..., 1] + 1.0) * (0.5 * (H - 1)) - by0
    inside = ((px >= 0) & (px <= bx1 - bx0 - 1) & (py >= 0) & (py <= by1 - by0 - 1))[:, None]
    points = torch.stack([px * bsx - 1.0, py * bsy - 1.0], dim=-1)
    at = sample_grid(fields, points, "border")
    window = seen[..., ry0:ry1, rx0:rx1]
    # the unmoved texture's weight belongs to the static pixels around the point: their colour alone
    own = sample_grid(part.fluid_texture, points, "border")
    still = (window - own[:, :4]) / (1.0 - own[:, 4:5]).clamp(min=SHARE_EPS)
    window.copy_(torch.where(inside, animated(part, at, still), window))
