"""Point splatting with pytorch3d's point rasteriser and alpha-compositing semantics, no extension.

The ``'numpy'`` backend (the fastest on the CPU): PyTorch tensors in and out, NumPy and SciPy inside
(no compiled extension, CPU). Not differentiable. ``render.splat_torch`` is the same in torch ops on
any device (backend ``'torch'``); this module also holds the argument checks both share.

Semantics (SPEC j), in pixel units of the target camera:

* A camera-frame point ``(x, y, z)`` projects to ``u = fx x/z + s y/z + cx``, ``v = fy y/z + cy``
  (OpenCV). Pixel ``(col, row)`` has its centre at ``(col + 0.5, row + 0.5)``: pytorch3d's pixel
  centres seen through the official negative-focal screen camera (the +0.5 px render offset).
* A point covers a pixel when ``d^2 < r^2`` (strict), ``d`` the distance from the projected point to
  the pixel centre, ``r`` the point's radius. pytorch3d compares the same quantities in NDC, where a
  pixel is ``2 / min(H, W)`` wide in both axes: ``radius_ndc = radius_px * 2 / min(H, W)``.
* Points with ``z <= 0`` or non-finite coordinates are skipped (pytorch3d drops ``z < 0``; a point at
  ``z == 0`` projects to infinity and covers nothing).
* Per pixel the ``K`` nearest covering points in z are kept, near to far, equal z broken by ascending
  point index (pytorch3d's CPU rasteriser).
* Weight ``a_k = 1 - d_k^2 / r_k^2``; ``F = sum_k a_k prod_{l<k} (1 - a_l) f_k``; a pixel that no
  point covers is 0. Nothing is normalised: with an alpha attribute, that channel is the coverage.

Algorithm (vectorised; no Python loop over points or pixels). The points are ranked once by
(z, index) with one integer-key sort. The image is cut into row bands of at most ``chunk`` candidate
(point, pixel) slots. In a band every point enumerates the pixels of its bounding window (points
grouped by window shape), keeps those it covers, and one sort of 64-bit words
``(local pixel, z-rank | d^2/r^2)`` groups the candidates per pixel, near to far, carrying their
weight. The first K of every pixel are composited with a per-pixel running product of ``1 - a`` and
applied to the attributes as one sparse (pixels x points) matrix product. Bands run on
``torch.get_num_threads()`` threads (NumPy and SciPy release the GIL). Peak extra memory is about
``48 B * chunk`` per thread plus ~72 B per point and the ``(C,H,W)`` output (measured by
``benchmarks/bench_splat.py``). NumPy is used inside because its integer sort and gathers are
several times faster than torch's on the CPU.

``splat_surface`` is a second, non-official compositing for the weight-free path, on the same
candidate generation, bands and sparse product (see its docstring): pixel centres on the integer
grid of the points and a bilinear (tent) footprint, so that an unmoved cloud reproduces its source
image exactly, and front-to-back compositing of whole surfaces instead of single points.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import scipy.sparse
import torch

from ..errors import CinemagraphError

log = logging.getLogger("cinemagraph")

MAX_RADIUS_PX = 64.0
"""Radii above this (px) are clamped, with a log note, so that a point's window stays bounded."""

DEFAULT_CHUNK = 1 << 18
"""Default candidate (point, pixel) slots per row band: ~12 MB of temporaries per band."""

_KEY_BITS = 31
"""Bits available for (local pixel, band rank) in the upper half of a sort word."""

_POINT_BLOCK = 1 << 18
"""Points projected per block (bounds the float64 temporaries)."""

SURFACE_TOLERANCE = 0.02
"""Default relative depth gap (2 %) that separates two surfaces of one id in ``splat_surface``."""

OFFICIAL_CENTRE = 0.5
"""pytorch3d's pixel centres sit half a pixel from the integer grid of the points (SPEC j)."""


def splat(
    xyz: torch.Tensor,
    attrs: torch.Tensor,
    K: torch.Tensor,
    size: tuple[int, int],
    radius_px: Union[torch.Tensor, float],
    points_per_pixel: int = 8,
    chunk: Optional[int] = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Rasterise and alpha-composite a point cloud into one pinhole camera.

    Args:
        xyz: ``(P,3)`` float camera-frame points (OpenCV axes: x right, y down, z forward).
        attrs: ``(P,C)`` float per-point attributes to composite.
        K: ``(3,3)`` intrinsics in px (``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``).
        size: output ``(H, W)`` in px.
        radius_px: ``(P,)`` per-point radius in px (> 0), or one float for all points. Radii above
            ``MAX_RADIUS_PX`` are clamped.
        points_per_pixel: K, the number of nearest points composited per pixel (pytorch3d's
            ``points_per_pixel``).
        chunk: candidate (point, pixel) slots per row band; bounds the temporaries (~48 B a slot);
            None = ``DEFAULT_CHUNK``.

    Returns:
        ``(C,H,W)`` float32 composited attributes; 0 where no point covers a pixel.
    """
    h, w, n_k = check_inputs(xyz, attrs, K, size, points_per_pixel, chunk)
    return _render(xyz, attrs, K, (h, w), radius_px, chunk, OFFICIAL_CENTRE,
                   lambda pts, sel, y0, y1, values, out: _composite_band(pts, sel, y0, y1, w, n_k, values, out))


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
    """Splat a point cloud as opaque surfaces: bilinear footprints averaged per surface (not official).

    Semantics, in pixel units of the target camera:

    * Pixel ``(col, row)`` has its centre at ``(col, row)``, the integer grid the points were
      unprojected from (no +0.5 px offset).
    * Point k covers a pixel with the tent weight ``w_k = (1 - |dx|/s_k)(1 - |dy|/s_k)`` when
      ``|dx|, |dy| < s_k``, ``(dx, dy)`` its offset from the pixel centre and ``s_k = radius_px``
      its footprint half-width. On a regular grid of spacing s these weights sum to 1 (bilinear
      splatting): a grid point on a pixel centre gives that pixel weight 1 and its neighbours 0.
    * Per pixel the K nearest covering points in z (ties by index) are cut, near to far, into
      surfaces: a point starts a new surface when its id differs from the id of the current
      surface's first point, or its z exceeds that point's z times ``1 + depth_tolerance``.
    * Surface g has coverage ``c_g = min(1, sum w_k)`` and attributes ``sum w_k f_k / sum w_k``;
      surfaces are alpha-composited front to back: ``F = sum_g c_g prod_{h<g} (1 - c_h) f_g``. With
      an all-ones alpha attribute that channel is the coverage ``1 - prod_g (1 - c_g)``.

    So an unmoved cloud of one surface reproduces its attributes exactly, a nearer surface hides a
    farther one wherever it fully covers a pixel, and its edges are anti-aliased by the footprint.
    Same row bands, threads and memory bound as ``splat``: the temporaries follow a band's
    candidates (at most ``chunk``), not its pixels.

    Args:
        xyz, attrs, K, size, points_per_pixel, chunk: as ``splat``.
        radius_px: ``(P,)`` footprint half-widths in px (> 0; the point spacing gives exact bilinear
            interpolation), or one float.
        surface_ids: ``(P,)`` integer ids (e.g. the LDI layer); points with different ids never form
            one surface. None: all points share one id.
        depth_tolerance: relative depth gap (>= 0) that separates two surfaces of one id.

    Returns:
        ``(C,H,W)`` float32 composited attributes; 0 where no point covers a pixel.
    """
    h, w, n_k = check_inputs(xyz, attrs, K, size, points_per_pixel, chunk)
    tol = checked_tolerance(depth_tolerance)
    depth = xyz.detach().cpu().to(torch.float32)[:, 2].contiguous().numpy()
    ids = checked_surface_ids(surface_ids, int(xyz.shape[0]))
    ids = None if ids is None else ids.numpy()
    return _render(xyz, attrs, K, (h, w), radius_px, chunk, 0.0,
                   lambda pts, sel, y0, y1, values, out: _composite_band_surface(
                       pts, sel, y0, y1, w, n_k, values, out, depth, ids, tol))


def checked_tolerance(depth_tolerance: float) -> float:
    """The relative depth gap of ``splat_surface`` as a float; must be finite and >= 0."""
    tol = float(depth_tolerance)
    if not tol >= 0.0 or tol == float("inf"):
        raise CinemagraphError(f"splat_surface: depth_tolerance must be a finite relative depth gap >= 0 "
                               f"(e.g. {SURFACE_TOLERANCE}), got {depth_tolerance!r}.")
    return tol


def checked_surface_ids(surface_ids: Optional[torch.Tensor], n_pts: int) -> Optional[torch.Tensor]:
    """``(P,)`` int64 CPU ids from an integer tensor, or None (one surface id for all points)."""
    if surface_ids is None:
        return None
    ids = torch.as_tensor(surface_ids).detach().cpu()
    if tuple(ids.shape) != (n_pts,) or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise CinemagraphError(f"splat_surface: surface_ids must be a (P,) integer tensor with P = {n_pts} "
                               f"(e.g. the LDI layer of each point), got {ids.dtype} of shape {tuple(ids.shape)}.")
    return ids.to(torch.int64)


def _render(xyz: torch.Tensor, attrs: torch.Tensor, K: torch.Tensor, size: tuple[int, int],
            radius_px: Union[torch.Tensor, float], chunk: Optional[int], centre: float, composite) -> torch.Tensor:
    """Project and rank the points, cut the image into row bands and run ``composite`` on each.

    ``centre``: offset (px) of a pixel centre from the integer grid. ``composite(pts, sel, y0, y1,
    values, out)`` writes band rows ``[y0, y1)`` into ``out`` ``(C, (y1-y0)*W)``. Returns ``(C,H,W)``.
    """
    h, w = size
    n_ch = int(attrs.shape[1])
    out = np.zeros((n_ch, h * w), dtype=np.float32)
    radius = checked_radii(radius_px, int(xyz.shape[0])).numpy()
    pts = _prepare(xyz.detach().to(torch.float32).cpu().numpy(), K.detach().cpu().to(torch.float64).numpy(),
                   radius, h, w, centre)
    if pts is not None and n_ch > 0:
        values = np.ascontiguousarray(attrs.detach().cpu().to(torch.float32).numpy())
        bands = _bands(pts, h, w, DEFAULT_CHUNK if chunk is None else int(chunk))

        def render(band: tuple[int, int, np.ndarray]) -> None:
            y0, y1, sel = band
            composite(pts, sel, y0, y1, values, out[:, y0 * w:y1 * w])

        workers = min(max(torch.get_num_threads(), 1), len(bands))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(render, bands))
        else:
            for band in bands:
                render(band)
    return torch.from_numpy(out).view(n_ch, h, w)


def check_inputs(xyz, attrs, K, size, points_per_pixel, chunk) -> tuple[int, int, int]:
    """Validate the arguments of a ``splat`` backend; returns ``(H, W, points_per_pixel)``."""
    if not (torch.is_tensor(xyz) and xyz.dim() == 2 and xyz.shape[1] == 3):
        got = tuple(xyz.shape) if torch.is_tensor(xyz) else type(xyz).__name__
        raise CinemagraphError(f"splat: xyz must be a (P,3) tensor of camera-frame points, got {got}.")
    if not (torch.is_tensor(attrs) and attrs.dim() == 2 and attrs.shape[0] == xyz.shape[0]):
        got = tuple(attrs.shape) if torch.is_tensor(attrs) else type(attrs).__name__
        raise CinemagraphError(f"splat: attrs must be a (P,C) tensor with one row per point "
                               f"(P = {xyz.shape[0]}), got {got}.")
    if not (torch.is_tensor(K) and tuple(K.shape) == (3, 3) and bool(torch.isfinite(K).all())):
        raise CinemagraphError("splat: K must be a finite (3,3) intrinsics tensor in px.")
    if float(K[0, 0]) == 0.0 or float(K[1, 1]) == 0.0:
        raise CinemagraphError("splat: K has a zero focal length; expected fx, fy != 0 px.")
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise CinemagraphError(f"splat: size must be (H, W) in px, got {size!r}.") from None
    if h < 1 or w < 1:
        raise CinemagraphError(f"splat: size must be positive (H, W) in px, got {(h, w)}.")
    if xyz.shape[0] >= 2**31:
        raise CinemagraphError(f"splat: at most 2^31 - 1 points per call, got {xyz.shape[0]}; split the cloud.")
    if int(points_per_pixel) < 1:
        raise CinemagraphError(f"splat: points_per_pixel must be >= 1, got {points_per_pixel}.")
    if chunk is not None and int(chunk) < 1:
        raise CinemagraphError(f"splat: chunk must be >= 1 candidate slots, got {chunk}.")
    return h, w, int(points_per_pixel)


def checked_radii(radius_px: Union[torch.Tensor, float], n_pts: int) -> torch.Tensor:
    """``(P,)`` float32 radii in px from one float or a ``(P,)`` tensor; all must be > 0 (not NaN).

    Radii above ``MAX_RADIUS_PX`` are clamped to it, with a log note.
    """
    r = torch.as_tensor(radius_px).detach().cpu().to(torch.float32)
    if r.dim() == 0:
        r = r.expand(n_pts)
    if tuple(r.shape) != (n_pts,):
        raise CinemagraphError(f"splat: radius_px must be one float or a (P,) tensor with P = {n_pts}, "
                               f"got shape {tuple(r.shape)}.")
    bad = ~(r > 0)
    if bool(bad.any()):
        raise CinemagraphError(f"splat: every point radius must be > 0 px; {int(bad.sum())} of {n_pts} are "
                               f"<= 0 or NaN (e.g. {float(r[bad][0]):g}). Pass positive radii in px.")
    n_big = int((r > MAX_RADIUS_PX).sum())
    if n_big:
        log.info("splat: %d point radii above %g px clamped to %g px (points very close to the camera).",
                 n_big, MAX_RADIUS_PX, MAX_RADIUS_PX)
        r = r.clamp(max=MAX_RADIUS_PX)
    return r.contiguous()


@dataclass(frozen=True)
class _Points:
    """The points that can touch the image, in (z, index) order; all arrays ``(n,)``.

    index: int32 row in the caller's arrays. cx0, cy0: int32 first column / row of the point's
    window (the pixels it may cover). fx, fy: float32 position of the projected centre relative to
    the centre of pixel (cx0, cy0), px. ir2: float32 1 / r^2 (px^-2). shape: int32 window size
    ``ny * 256 + nx`` (px; at most 129 each). row_lo, row_hi: int32 first / last window row inside
    the image.
    """

    index: np.ndarray
    cx0: np.ndarray
    cy0: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    ir2: np.ndarray
    shape: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray


def _prepare(xyz: np.ndarray, K: np.ndarray, radius: np.ndarray, h: int, w: int, centre: float):
    """Project, cull and rank the points; None when no point can touch the image.

    ``xyz`` ``(P,3)`` float32, ``radius`` ``(P,)`` float32 px, ``centre`` the offset (px) of pixel
    centres from the integer grid (0.5 official, 0 surface). Works in blocks of ``_POINT_BLOCK``
    points so that the temporaries stay small; the result holds 36 bytes per kept point.
    """
    n_all = xyz.shape[0]
    ok = np.zeros(n_all, dtype=bool)
    for s in range(0, n_all, _POINT_BLOCK):
        ok[s:s + _POINT_BLOCK] = _in_view(xyz[s:s + _POINT_BLOCK], K, radius[s:s + _POINT_BLOCK], h, w)
    index = np.flatnonzero(ok)
    del ok
    if index.size == 0:
        return None
    # Rank by (z, index): the bit patterns of positive float32 values sort like the values.
    key = np.take(np.ascontiguousarray(xyz[:, 2]).view(np.int32), index).astype(np.int64)
    key <<= 32
    key |= index
    key.sort()
    del index
    n = key.size
    pts = _Points(index=np.empty(n, np.int32), cx0=np.empty(n, np.int32), cy0=np.empty(n, np.int32),
                  fx=np.empty(n, np.float32), fy=np.empty(n, np.float32), ir2=np.empty(n, np.float32),
                  shape=np.empty(n, np.int32), row_lo=np.empty(n, np.int32), row_hi=np.empty(n, np.int32))
    for s in range(0, n, _POINT_BLOCK):
        block = slice(s, s + _POINT_BLOCK)
        index = key[block] & 0xFFFFFFFF
        pts.index[block] = index
        x, y, z = (np.take(xyz[:, i], index).astype(np.float64) for i in range(3))
        r = np.take(radius, index).astype(np.float64)
        inv_z = 1.0 / z
        # Centre coordinates (u - centre, v - centre): pixel column c is covered when |c - u| < r.
        u = (K[0, 0] * x + K[0, 1] * y) * inv_z + (K[0, 2] - centre)
        v = (K[1, 1] * y) * inv_z + (K[1, 2] - centre)
        cx0 = np.floor(u - r).astype(np.int32) + 1
        cy0 = np.floor(v - r).astype(np.int32) + 1
        nx = np.maximum(np.ceil(u + r).astype(np.int32) - cx0, 1)
        ny = np.maximum(np.ceil(v + r).astype(np.int32) - cy0, 1)
        pts.cx0[block], pts.cy0[block] = cx0, cy0
        pts.fx[block], pts.fy[block] = u - cx0, v - cy0
        pts.ir2[block] = 1.0 / (r * r)
        pts.shape[block] = ny * 256 + nx
        pts.row_lo[block] = np.clip(cy0, 0, h - 1)
        pts.row_hi[block] = np.clip(cy0 + ny - 1, 0, h - 1)
    return pts


def _in_view(xyz: np.ndarray, K: np.ndarray, radius: np.ndarray, h: int, w: int) -> np.ndarray:
    """``(n,)`` bool: finite, ``z > 0`` and within a radius (+1 px) of the image (coarse, float32)."""
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    with np.errstate(all="ignore"):
        ok = (z > 0) & np.isfinite(x + y + z)
        u = (np.float32(K[0, 0]) * x + np.float32(K[0, 1]) * y) / z + np.float32(K[0, 2])
        v = (np.float32(K[1, 1]) * y) / z + np.float32(K[1, 2])
        reach = radius + np.float32(1.0)
        return ok & (u > -reach) & (u < w + reach) & (v > -reach) & (v < h + reach)


def _band_rows(pts: _Points, h: int, w: int, chunk: int) -> list[int]:
    """Row boundaries ``[0, ..., h]`` of bands of at most ``chunk`` slots whose sort keys fit.

    A band ``[y0, y1)`` holds the points with ``row_lo < y1`` and ``row_hi >= y0``; its slot count is
    bounded by the full window areas of those points.
    """
    area = ((pts.shape // 256) * (pts.shape % 256)).astype(np.float64)
    lo_pts = np.concatenate([[0], np.cumsum(np.bincount(pts.row_lo, minlength=h))]).tolist()
    hi_pts = np.concatenate([[0], np.cumsum(np.bincount(pts.row_hi, minlength=h))]).tolist()
    lo_area = np.concatenate([[0.0], np.cumsum(np.bincount(pts.row_lo, weights=area, minlength=h))]).tolist()
    hi_area = np.concatenate([[0.0], np.cumsum(np.bincount(pts.row_hi, weights=area, minlength=h))]).tolist()
    rows, y0 = [0], 0
    while y0 < h:
        y1 = y0 + 1
        while y1 < h:
            n = lo_pts[y1 + 1] - hi_pts[y0]
            fits = ((y1 + 1 - y0) * w - 1).bit_length() + max(n - 1, 1).bit_length() <= _KEY_BITS
            if not fits or lo_area[y1 + 1] - hi_area[y0] > chunk:
                break
            y1 += 1
        rows.append(y1)
        y0 = y1
    return rows


def _bands(pts: _Points, h: int, w: int, chunk: int) -> list[tuple[int, int, np.ndarray]]:
    """``(y0, y1, sel)`` per row band; ``sel`` ascending indices into ``pts`` ((z, index) order)."""
    rows = _band_rows(pts, h, w, chunk)
    n_pts = pts.index.shape[0]
    if len(rows) == 2:
        return [(0, h, np.arange(n_pts))]
    band_of_row = np.repeat(np.arange(len(rows) - 1, dtype=np.int32), np.diff(rows))
    b_lo = np.take(band_of_row, pts.row_lo)
    span = np.take(band_of_row, pts.row_hi) - b_lo
    key = b_lo.astype(np.int64) << 32
    key += np.arange(n_pts)
    multi = np.flatnonzero(span)
    if multi.size:  # points whose window reaches into the next band(s) are listed there too
        reps = span[multi]
        first = np.repeat(multi, reps)
        step = np.arange(first.size) - np.repeat(np.cumsum(reps) - reps, reps)
        key = np.concatenate([key, ((b_lo[first] + step + 1).astype(np.int64) << 32) | first])
    del b_lo, span
    key.sort()
    cuts = np.searchsorted(key, np.arange(len(rows), dtype=np.int64) << 32).tolist()
    sel = (key & 0xFFFFFFFF).astype(np.int32)
    return [(rows[b], rows[b + 1], sel[cuts[b]:cuts[b + 1]]) for b in range(len(rows) - 1)]


def _candidates(pts: _Points, sel: np.ndarray, y0: int, y1: int, w: int,
                tent: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """The covered (point, pixel) pairs of a band, sorted by (local pixel, band rank).

    Returns ``key`` int64 ``local_pixel << bits | band_rank``, a float32 value per pair and
    ``bits``, the width of the band-rank field. The value is ``q = d^2 / r^2`` of the disc
    footprint (``q < 1`` covers), or with ``tent`` the weight ``(1 - |dx|/r)(1 - |dy|/r) > 0``.
    """
    n = sel.shape[0]
    bits = max(n - 1, 1).bit_length()
    # Packed: one sort of 64-bit words, key in the upper half and the bits of q (>= 0) in the lower.
    packed = ((y1 - y0) * w - 1).bit_length() + bits <= _KEY_BITS
    shift = bits + 32 if packed else bits
    shape = pts.shape[sel]
    words, qs = [], []
    for cls in np.flatnonzero(np.bincount(shape)).tolist():
        ny, nx = divmod(cls, 256)
        rank = np.flatnonzero(shape == cls)
        g = sel[rank]
        # Slot-major (ny, nx, m) layout so that every elementwise loop runs over the points.
        col = pts.cx0[g] + np.arange(nx, dtype=np.int32)[:, None]
        row = pts.cy0[g] + np.arange(ny, dtype=np.int32)[:, None] - np.int32(y0)
        ir2 = pts.ir2[g]
        qx = np.square(np.arange(nx, dtype=np.float32)[:, None] - pts.fx[g]) * ir2
        qy = np.square(np.arange(ny, dtype=np.float32)[:, None] - pts.fy[g]) * ir2
        qx[(col < 0) | (col >= w)] = np.inf
        qy[(row < 0) | (row >= y1 - y0)] = np.inf
        if tent:
            tx = np.maximum(1.0 - np.sqrt(qx), 0.0)
            ty = np.maximum(1.0 - np.sqrt(qy), 0.0)
            q = (ty[:, None, :] * tx[None, :, :]).ravel()
            hit = np.flatnonzero(q > 0.0)
        else:
            q = (qy[:, None, :] + qx[None, :, :]).ravel()
            hit = np.flatnonzero(q < 1.0)
        word = ((row.astype(np.int64) * w) << shift)[:, None, :] + (col.astype(np.int64) << shift)[None, :, :]
        word += rank.astype(np.int64) << (shift - bits)
        if packed:
            word |= q.view(np.int32).reshape(word.shape)
        else:
            qs.append(np.take(q, hit))
        words.append(np.take(word, hit))
    word = np.concatenate(words) if len(words) > 1 else words[0]
    if not packed:
        order = np.argsort(word)
        q = np.concatenate(qs) if len(qs) > 1 else qs[0]
        return np.take(word, order), np.take(q, order), bits
    word.sort()
    return word >> 32, (word & 0xFFFFFFFF).astype(np.uint32).view(np.float32), bits


def _nearest(key: np.ndarray, value: np.ndarray, bits: int, n_pix: int, n_k: int):
    """The first ``n_k`` candidates of every pixel (the nearest in z) of a sorted band.

    Returns ``key``, ``value``, ``pix`` (local pixel), ``pos`` (slot 0..n_k-1 near to far) per kept
    candidate and ``counts`` ``(n_pix,)``.
    """
    pix = key >> bits
    counts = np.bincount(pix, minlength=n_pix)
    pos = np.arange(key.size) - np.repeat(np.cumsum(counts) - counts, counts)
    if counts.max() > n_k:
        keep = np.flatnonzero(pos < n_k)
        key, value, pos = np.take(key, keep), np.take(value, keep), np.take(pos, keep)
        pix = key >> bits
        counts = np.minimum(counts, n_k)
    return key, value, pix, pos, counts


def _points_of(pts: _Points, sel: np.ndarray, key: np.ndarray, bits: int) -> np.ndarray:
    """Row in the caller's arrays of every candidate of a band."""
    return pts.index[sel][key & ((1 << bits) - 1)]


def _apply(point: np.ndarray, weight: np.ndarray, counts: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out (C, n_pix)`` = per pixel, the sum over its candidates (runs of ``counts``, in pixel
    order) of ``weight * values[point]``."""
    n_pix = counts.shape[0]
    indptr = np.zeros(n_pix + 1, dtype=np.int32 if point.size < 2**31 else np.int64)
    np.cumsum(counts, out=indptr[1:])
    mat = scipy.sparse.csr_matrix((weight, point, indptr), shape=(n_pix, values.shape[0]))
    out[:] = (mat @ values).T


def _composite_band(pts: _Points, sel: np.ndarray, y0: int, y1: int, w: int, n_k: int,
                    values: np.ndarray, out: np.ndarray) -> None:
    """Composite one band into ``out`` ``(C, (y1-y0)*W)`` (a view of the output)."""
    if sel.size == 0:
        return
    key, q, bits = _candidates(pts, sel, y0, y1, w)
    if key.size == 0:
        return
    n_pix = (y1 - y0) * w
    key, q, pix, pos, counts = _nearest(key, q, bits, n_pix, n_k)
    alpha = 1.0 - q
    # Transmittance before slot k: prod_{l<k} (1 - a_l), slot-major for contiguous rows.
    slot = pos * n_pix + pix
    slots = np.zeros((n_k, n_pix), dtype=np.float32)
    slots.ravel()[slot] = alpha
    trans = np.empty_like(slots)
    trans[0] = 1.0
    for k in range(1, n_k):
        np.multiply(trans[k - 1], 1.0 - slots[k - 1], out=trans[k])
    weight = alpha * trans.ravel()[slot]
    _apply(_points_of(pts, sel, key, bits), weight, counts, values, out)


def _composite_band_surface(pts: _Points, sel: np.ndarray, y0: int, y1: int, w: int, n_k: int,
                            values: np.ndarray, out: np.ndarray, depth: np.ndarray, ids: Optional[np.ndarray],
                            tol: float) -> None:
    """``splat_surface`` for one band into ``out`` ``(C, (y1-y0)*W)``.

    ``depth`` ``(P,)`` float32 z and ``ids`` ``(P,)`` int64 surface ids (or None) of the caller's
    points. Works on the candidate list (sorted by pixel, near to far), so memory follows the
    candidates, not the band's pixels: one pass per slot finds where surfaces start, a bincount sums
    their tent weights, one pass per surface rank composites them front to back.
    """
    if sel.size == 0:
        return
    key, tent, bits = _candidates(pts, sel, y0, y1, w, tent=True)
    if key.size == 0:
        return
    key, tent, pix, pos, counts = _nearest(key, tent, bits, (y1 - y0) * w, n_k)
    point = _points_of(pts, sel, key, bits)
    z = np.take(depth, point)
    sid = None if ids is None else np.take(ids, point)
    # A surface starts at a pixel's first candidate and wherever the id changes or z leaves the
    # tolerance of the surface's first point; candidate i - 1 is the previous slot of the same pixel.
    start = pos == 0
    grow = np.float32(1.0 + tol)
    limit = z * grow
    first = None if sid is None else sid.copy()
    for idx in _by_rank(counts, n_k)[1:]:
        new = z[idx] > limit[idx - 1]
        if sid is not None:
            new |= sid[idx] != first[idx - 1]
            first[idx] = np.where(new, sid[idx], first[idx - 1])
        start[idx] = new
        limit[idx] = np.where(new, limit[idx], limit[idx - 1])
    surface = np.cumsum(start) - 1
    total = np.bincount(surface, weights=tent)
    cover = np.minimum(total, 1.0)
    # Transmittance before each surface: the product of (1 - cover) of the pixel's nearer surfaces.
    trans = np.ones(total.size)
    for g in _by_rank(np.bincount(np.take(pix, np.flatnonzero(start))), n_k)[1:]:
        trans[g] = trans[g - 1] * (1.0 - cover[g - 1])
    weight = (tent * (trans * cover / total)[surface]).astype(np.float32)
    _apply(point, weight, counts, values, out)


def _by_rank(counts: np.ndarray, n: int) -> list[np.ndarray]:
    """For a list grouped into runs of ``counts`` entries: the indices of the entries at position
    0, 1, ..., n-1 of their run (ascending), one array per position."""
    counts = counts[counts > 0]
    starts = np.cumsum(counts) - counts
    out = []
    for r in range(n):
        if r:
            live = counts > r
            counts, starts = counts[live], starts[live]
        out.append(starts + r)
    return out
