"""Point splatting in torch ops on the points' device (backend ``'torch'``): ``render.splat``'s semantics.

Same interface and results as the NumPy splatter ``render.splat`` (``splat``: SPEC j, pytorch3d's
compositing; ``splat_surface``: bilinear footprints composited as whole surfaces), within float
rounding (1e-5), but every step is a torch op on ``xyz.device`` (CUDA when the scene lives there),
without NumPy, SciPy or a Python loop over points or pixels.

Algorithm. The points are projected in float64 (as the NumPy splatter does), each point's window
(the pixels it may cover) is clipped to the image, and the points are ranked by (z, index) with one
stable sort; culled points get an empty window. Walking the ranked points in chunks of about
``chunk`` window slots (+ one point's window), every slot of a chunk is enumerated with
``repeat_interleave``, tested for cover, and one int64 sort of ``pixel * n + rank`` groups the
chunk's candidates per pixel, near to far. The first ``points_per_pixel`` candidates of every
pixel over all chunks are kept in two dense ``(K, H*W)`` tables (point, weight); as the chunks come in
rank order, a pixel's candidates of a later chunk come after those already kept. Compositing then
works on the tables: pytorch3d's ``a_k prod_{l<k} (1 - a_l)`` with one ``cumprod``, or the surface
grouping with a loop over the K slots (dense ``(H*W,)`` ops), and the attributes are gathered per
block of pixels.

Memory: about ``64 B * chunk`` for one chunk's slots, ``12 B * K * H * W`` for the tables (+ 8 x that
during the surface grouping), about ``100 B`` per point and a gather block of at most ``GATHER_BYTES``,
plus the ``(C,H,W)`` output. Host synchronisation: one per call (the chunk sizes).
"""
from __future__ import annotations

from typing import Optional, Union

import torch

from .splat import (DEFAULT_CHUNK, OFFICIAL_CENTRE, SURFACE_TOLERANCE, check_inputs, checked_radii,
                    checked_surface_ids, checked_tolerance)

GATHER_BYTES = 1 << 26
"""Bound (bytes) on the gathered attributes of one block of pixels while compositing."""

_FAR = 1e9
"""Projected coordinates are clamped to +-this (px) before the integer window maths (culled points only)."""


def splat(
    xyz: torch.Tensor,
    attrs: torch.Tensor,
    K: torch.Tensor,
    size: tuple[int, int],
    radius_px: Union[torch.Tensor, float],
    points_per_pixel: int = 8,
    chunk: Optional[int] = DEFAULT_CHUNK,
) -> torch.Tensor:
    """``render.splat.splat`` in torch ops on ``xyz.device``: ``(P,3)`` points, ``(P,C)`` attrs -> ``(C,H,W)``.

    Args as ``render.splat.splat`` (K ``(3,3)`` px, size ``(H, W)``, radius_px ``(P,)`` px or one float,
    chunk: window slots per chunk, None = ``DEFAULT_CHUNK``). Returns float32 on ``xyz.device``; 0
    where no point covers a pixel.
    """
    h, w, n_k = check_inputs(xyz, attrs, K, size, points_per_pixel, chunk)
    point, value = _nearest_tables(xyz, K, radius_px, (h, w), n_k, chunk, OFFICIAL_CENTRE, tent=False)
    alpha = torch.where(point >= 0, 1.0 - value, torch.zeros_like(value))
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:1]), 1.0 - alpha[:-1]]), dim=0)
    return _gather(point, alpha * trans, attrs, (h, w))


def splat_surface(
    xyz: torch.Tensor,
    attrs: torch.Tensor,
    K: torch.Tensor,
    size: tuple[int, int],
    radius_px: Union[torch.Tensor, float],
    surface_ids: Optional[torch.Tensor] = None,
    points_per_pixel: int = 8,
    depth_tolerance: float = SURFACE_TOLERANCE,
    chunk: Optional[int] = DEFAULT_CHUNK,
) -> torch.Tensor:
    """``render.splat.splat_surface`` in torch ops on ``xyz.device`` (same args and semantics).

    Returns ``(C,H,W)`` float32 on ``xyz.device``; 0 where no point covers a pixel.
    """
    h, w, n_k = check_inputs(xyz, attrs, K, size, points_per_pixel, chunk)
    grow = torch.tensor(1.0 + checked_tolerance(depth_tolerance), dtype=torch.float32)
    ids = checked_surface_ids(surface_ids, int(xyz.shape[0]))
    if xyz.shape[0] == 0:
        return torch.zeros(int(attrs.shape[1]), h, w, device=xyz.device)
    point, tent = _nearest_tables(xyz, K, radius_px, (h, w), n_k, chunk, 0.0, tent=True)
    valid = point >= 0
    safe = point.clamp(min=0)
    z = xyz.detach()[:, 2].to(torch.float32)[safe]
    sid = None if ids is None else ids.to(xyz.device)[safe]
    # Surfaces, near to far per pixel: a new one starts at the first candidate and wherever the id
    # changes or z leaves the tolerance of the current surface's first point.
    start = torch.zeros_like(valid)
    start[0] = valid[0]
    limit = z[0] * grow.to(z.device)
    first = None if sid is None else sid[0]
    for k in range(1, n_k):
        new = z[k] > limit
        if sid is not None:
            new |= sid[k] != first
        new &= valid[k]
        if sid is not None:
            first = torch.where(new, sid[k], first)
        start[k] = new
        limit = torch.where(new, z[k] * grow.to(z.device), limit)
    surface = torch.cumsum(start.to(torch.int64), dim=0).sub_(1).clamp_(min=0)
    tent64 = torch.where(valid, tent, torch.zeros_like(tent)).to(torch.float64)
    total = torch.zeros_like(tent64).scatter_add_(0, surface, tent64)
    cover = total.clamp(max=1.0)
    trans = torch.cumprod(torch.cat([torch.ones_like(cover[:1]), 1.0 - cover[:-1]]), dim=0)
    share = torch.where(total > 0, trans * cover / total.clamp(min=1e-300), torch.zeros_like(total))
    weight = (tent64 * share.gather(0, surface)).to(torch.float32)
    return _gather(point, weight, attrs, (h, w))


def _nearest_tables(xyz: torch.Tensor, K: torch.Tensor, radius_px: Union[torch.Tensor, float], size: tuple[int, int],
                    n_k: int, chunk: Optional[int], centre: float, tent: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n_k`` nearest covering candidates of every pixel, near to far (ties by point index).

    Returns ``point`` ``(n_k, H*W)`` int64 row in the caller's arrays (-1: none) and ``value``
    ``(n_k, H*W)`` float32: ``q = d^2 / r^2`` of the disc footprint (official) or the tent weight.
    """
    h, w = size
    dev = xyz.device
    n_pix = h * w
    point = torch.full((n_k, n_pix + 1), -1, dtype=torch.int64, device=dev)
    value = torch.zeros((n_k, n_pix + 1), dtype=torch.float32, device=dev)
    n_all = int(xyz.shape[0])
    if n_all == 0:
        return point[:, :n_pix], value[:, :n_pix]
    pts = _ranked_windows(xyz, K, checked_radii(radius_px, n_all).to(dev), h, w, centre)
    area = pts["ncol"] * pts["nrow"]
    starts = torch.cumsum(area, 0) - area
    step = DEFAULT_CHUNK if chunk is None else int(chunk)
    group = torch.div(starts, step, rounding_mode="floor")
    sizes, total = torch.stack([torch.bincount(group), torch.bincount(group, weights=area.double()).long()]).tolist()
    count = torch.zeros(n_pix + 1, dtype=torch.int64, device=dev)
    offset = 0
    for n, n_slots in zip(sizes, total):
        part = {k: v[offset:offset + n] for k, v in pts.items()}
        offset += n
        if n == 0 or n_slots == 0:
            continue
        pix, val, rank = _chunk_candidates(part, n, n_slots, w, n_pix, tent)
        order = torch.argsort(pix * n + rank)
        pix, val, rank = pix[order], val[order], rank[order]
        idx = torch.arange(pix.numel(), device=dev)
        head = torch.ones_like(pix, dtype=torch.bool)
        head[1:] = pix[1:] != pix[:-1]
        pos = idx - torch.cummax(torch.where(head, idx, torch.zeros_like(idx)), 0).values + count[pix]
        keep = (pos < n_k) & (pix < n_pix)
        slot = torch.where(keep, pos * (n_pix + 1) + pix, torch.full_like(pix, n_pix))  # discards go to column n_pix
        point.view(-1).scatter_(0, slot, torch.where(keep, part["index"][rank], -1))
        value.view(-1).scatter_(0, slot, torch.where(keep, val, torch.zeros_like(val)))
        count += torch.bincount(pix, minlength=n_pix + 1)
        count.clamp_(max=n_k)
    return point[:, :n_pix], value[:, :n_pix]


def _ranked_windows(xyz: torch.Tensor, K: torch.Tensor, radius: torch.Tensor, h: int, w: int,
                    centre: float) -> dict[str, torch.Tensor]:
    """Per point in (z, index) order: ``index`` (row in the caller's arrays), the window's first
    column / row ``col0``, ``row0`` and size ``ncol``, ``nrow`` clipped to the image (0 for culled
    points: z <= 0, non-finite, or off the image), its offset ``dx0``, ``dy0`` inside the unclipped
    window, the projected centre ``fx``, ``fy`` (float32 px) relative to the unclipped window's first
    pixel centre, and ``ir2`` = 1 / r^2 (float32 px^-2). Arithmetic as ``render.splat._prepare``."""
    pts32 = xyz.detach().to(torch.float32)
    x, y, z = (pts32[:, i].to(torch.float64) for i in range(3))
    k = [[float(v) for v in row] for row in K.detach().to(torch.float64).cpu().tolist()]
    r = radius.to(torch.float64)
    ok = (z > 0) & torch.isfinite(x + y + z)
    inv_z = 1.0 / torch.where(ok, z, torch.ones_like(z))
    u = ((k[0][0] * x + k[0][1] * y) * inv_z + (k[0][2] - centre)).nan_to_num(0.0).clamp(-_FAR, _FAR)
    v = ((k[1][1] * y) * inv_z + (k[1][2] - centre)).nan_to_num(0.0).clamp(-_FAR, _FAR)
    cx0 = torch.floor(u - r).to(torch.int64) + 1
    cy0 = torch.floor(v - r).to(torch.int64) + 1
    nx = (torch.ceil(u + r).to(torch.int64) - cx0).clamp(min=1)
    ny = (torch.ceil(v + r).to(torch.int64) - cy0).clamp(min=1)
    col0, row0 = cx0.clamp(0, w), cy0.clamp(0, h)
    ncol = ((cx0 + nx).clamp(0, w) - col0) * ok
    nrow = ((cy0 + ny).clamp(0, h) - row0) * ok
    rank = torch.sort(torch.where(ok, pts32[:, 2], torch.full_like(pts32[:, 2], torch.inf)), stable=True).indices
    fields = {"index": torch.arange(z.numel(), device=z.device), "col0": col0, "row0": row0, "ncol": ncol,
              "nrow": nrow, "dx0": col0 - cx0, "dy0": row0 - cy0, "fx": (u - cx0).to(torch.float32),
              "fy": (v - cy0).to(torch.float32), "ir2": (1.0 / (r * r)).to(torch.float32)}
    return {name: t[rank] for name, t in fields.items()}


def _chunk_candidates(part: dict[str, torch.Tensor], n: int, n_slots: int, w: int, n_pix: int,
                      tent: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every window slot of ``n`` ranked points: ``(pixel, value, local rank)`` each ``(n_slots,)``.

    A slot the point does not cover gets pixel ``n_pix`` (a discard column)."""
    dev = part["ncol"].device
    area = part["ncol"] * part["nrow"]
    rank = torch.repeat_interleave(torch.arange(n, device=dev), area, output_size=n_slots)
    first = torch.cumsum(area, 0) - area
    off = torch.arange(n_slots, device=dev) - first[rank]
    ncol = part["ncol"][rank]
    dy, dx = torch.div(off, ncol, rounding_mode="floor"), off % ncol
    ir2 = part["ir2"][rank]
    qx = torch.square((part["dx0"][rank] + dx).to(torch.float32) - part["fx"][rank]) * ir2
    qy = torch.square((part["dy0"][rank] + dy).to(torch.float32) - part["fy"][rank]) * ir2
    if tent:
        val = (1.0 - torch.sqrt(qx)).clamp(min=0.0) * (1.0 - torch.sqrt(qy)).clamp(min=0.0)
        hit = val > 0.0
    else:
        val = qy + qx
        hit = val < 1.0
    pix = (part["row0"][rank] + dy) * w + part["col0"][rank] + dx
    return torch.where(hit, pix, torch.full_like(pix, n_pix)), val, rank


def _gather(point: torch.Tensor, weight: torch.Tensor, attrs: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(C,H,W)`` = per pixel ``sum_k weight[k] * attrs[point[k]]`` (``point`` -1 = nothing), in pixel blocks."""
    h, w = size
    n_k, n_pix = point.shape
    values = attrs.detach().to(device=point.device, dtype=torch.float32)
    n_ch = int(values.shape[1])
    out = torch.zeros((n_pix, n_ch), dtype=torch.float32, device=point.device)
    if n_ch == 0 or values.shape[0] == 0:
        return out.t().reshape(n_ch, h, w)
    block = max(1, GATHER_BYTES // (4 * n_k * n_ch))
    wt = torch.where(point >= 0, weight, torch.zeros_like(weight))
    for s in range(0, n_pix, block):
        idx = point[:, s:s + block].clamp(min=0)
        out[s:s + block] = (values[idx] * wt[:, s:s + block, None]).sum(0)
    return out.t().reshape(n_ch, h, w).contiguous()
