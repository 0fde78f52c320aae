"""Helpers of the sequential layering (SPEC f): masked median blur, edge refinement, inpainting box."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..ops.filters import erode

CHUNK_VALUES = 1 << 20
"""Window values materialised at once by the median: with their gather indices, ranks and flags about
40 B each, so 1M values keep the temporaries near 40 MB."""


def _check_nchw(x: torch.Tensor, what: str) -> None:
    if x.dim() != 4:
        raise CinemagraphError(f"{what} must be a (B,C,H,W) tensor, got shape {tuple(x.shape)}")


def _invalid_counts(valid: torch.Tensor, k: int) -> torch.Tensor:
    """Per pixel, how many of its k x k window entries are invalid (zero padding counts as invalid).

    valid: ``(B,C,H,W)`` float32 0/1. Returns ``(B,C,H,W)`` int64.
    """
    p = k // 2
    rows = F.avg_pool2d(F.pad(valid, (p, p, p, p)), (1, k), stride=1, divisor_override=1)
    n_valid = F.avg_pool2d(rows, (k, 1), stride=1, divisor_override=1)
    return k * k - n_valid.round().long()


def masked_median_blur(x: torch.Tensor, mask: torch.Tensor, k: int = 11,
                       where: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Median over k x k windows in which masked-out entries are replaced alternately by extremes.

    x: ``(B,C,H,W)`` float32; mask: ``(B,1,H,W)`` or ``(B,C,H,W)``, an entry is valid where it is 1;
    k: odd window size. Windows are zero padded; every invalid window entry (mask != 1, padding
    included) is replaced by the global minimum or maximum of all window values, alternating
    min, max, min, ... in the flattened ``(b, c, h, w, k*k)`` order of all invalid entries of the
    whole tensor (official ``masked_median_blur``); the result is the lower median of the k*k values.
    A ``(B,1,H,W)`` mask applies to every channel (the official code, used with C = 1 only, would
    replace the invalid entries of channel 0 alone).
    where: optional ``(B,C,H,W)`` bool; only those pixels are computed (the others are 0) - the
    alternation still counts every pixel, so the selected values are exact.
    Work is done in chunks of pixels, so memory stays bounded for any image size.
    Returns ``(B,C,H,W)`` float32.
    """
    _check_nchw(x, "x")
    _check_nchw(mask, "mask")
    if k < 1 or k % 2 != 1:
        raise CinemagraphError(f"masked_median_blur needs an odd window size, got {k}")
    b, c, h, w = x.shape
    if mask.shape[0] != b or mask.shape[2:] != x.shape[2:] or mask.shape[1] not in (1, c):
        raise CinemagraphError(
            f"mask shape {tuple(mask.shape)} does not fit x {tuple(x.shape)}; expected (B,1,H,W) or (B,C,H,W)")
    x = x.float()
    valid = (mask == 1).float().expand(b, c, h, w)
    lo, hi = x.min(), x.max()
    if k > 1:
        lo, hi = torch.clamp(lo, max=0.0), torch.clamp(hi, min=0.0)
    # index of each pixel's first invalid entry in the global alternation
    counts = _invalid_counts(valid.contiguous(), k).reshape(-1)
    first = torch.cumsum(counts, 0) - counts
    sel = torch.arange(b * c * h * w) if where is None else where.expand(b, c, h, w).reshape(-1).nonzero()[:, 0]
    out = torch.zeros(b * c * h * w, dtype=torch.float32)
    if sel.numel() == 0:
        return out.reshape(b, c, h, w)
    p = k // 2
    xp = F.pad(x.reshape(b * c, 1, h, w), (p, p, p, p))
    vp = F.pad(valid.reshape(b * c, 1, h, w), (p, p, p, p))
    offs = (torch.arange(k).view(k, 1) * (w + 2 * p) + torch.arange(k).view(1, k)).reshape(-1)
    step = max(1, CHUNK_VALUES // (k * k))
    for start in range(0, sel.numel(), step):
        idx = sel[start:start + step]
        plane, pix = idx // (h * w), idx % (h * w)
        base = plane * (h + 2 * p) * (w + 2 * p) + (pix // w) * (w + 2 * p) + pix % w
        gather = base.view(-1, 1) + offs.view(1, -1)
        vals = xp.reshape(-1)[gather]
        bad = vp.reshape(-1)[gather] == 0
        rank = first[idx].view(-1, 1) + torch.cumsum(bad.long(), 1) - 1
        vals = torch.where(bad, torch.where(rank % 2 == 0, lo, hi), vals)
        out[idx] = vals.median(dim=1).values
    return out.reshape(b, c, h, w)


def refine_near_depth_discontinuity(depth: torch.Tensor, alpha: torch.Tensor, k: int = 11) -> torch.Tensor:
    """Median-filter a layer's depth in the band of ``k // 2`` px inside its edge (official, k = 11).

    depth, alpha: ``(B,1,H,W)`` float32 (alpha 0/1). Returns ``(B,1,H,W)``: ``depth * alpha``, where the
    k x k erosion of alpha is 0 replaced by the masked median (times alpha); 0 outside the layer.
    """
    _check_nchw(depth, "depth")
    _check_nchw(alpha, "alpha")
    d = depth * alpha
    band = (erode(alpha, k) == 0) & (alpha != 0)
    med = masked_median_blur(d, alpha, k, where=band) * alpha
    return torch.where(band, med, d)


def bbox_bounds(mask: torch.Tensor, border: int) -> Optional[tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` of the non-zero pixels of ``mask (H,W)`` grown by ``border``, or None if empty.

    Official ``define_inpainting_bbox``: the box is clipped to [0, H-1] x [0, W-1] and the end is
    exclusive, so the last row and column of the image are never inside it.
    """
    rows = mask.any(1).nonzero()[:, 0]
    if rows.numel() == 0:
        return None
    cols = mask.any(0).nonzero()[:, 0]
    h, w = mask.shape
    return (max(int(rows[0]) - border, 0), min(int(rows[-1]) + border, h - 1),
            max(int(cols[0]) - border, 0), min(int(cols[-1]) + border, w - 1))


def inpainting_bbox(mask: torch.Tensor, border: int = 40) -> torch.Tensor:
    """Bounding box (grown by ``border`` px) of each mask's non-zero pixels, as a 0/1 mask.

    mask: ``(B,1,H,W)``. Returns ``(B,1,H,W)`` float32 (all zero for an empty mask); see
    ``bbox_bounds`` for the clipping and the exclusive end.
    """
    _check_nchw(mask, "mask")
    out = torch.zeros(mask.shape, dtype=torch.float32)
    for i in range(mask.shape[0]):
        box = bbox_bounds(mask[i].amax(0), border)
        if box is not None:
            y0, y1, x0, x1 = box
            out[i, :, y0:y1, x0:x1] = 1.0
    return out
