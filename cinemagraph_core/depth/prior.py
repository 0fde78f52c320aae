"""A weight-free depth for when neither a depth map nor DPT is available: a scene-layout prior.

The layout is the classic outdoor picture: a far region (sky, distant background) above a horizon
and a ground plane below it. For a flat ground seen by a level pinhole camera, disparity grows
linearly with the distance below the horizon row, so

    disparity(y) = HORIZON_DISPARITY + (1 - HORIZON_DISPARITY) * (y - y_h) / (H - 1 - y_h)   for y >= y_h
    disparity(y) = SKY_DISPARITY                                                                for y <  y_h

(nearest = bottom row, disparity 1, depth 1). The horizon row y_h is where the mean colour of the
rows above differs most from the rows below (a two-segment split of the row profile, searched in
HORIZON_RANGE; DEFAULT_HORIZON when the split has less contrast than MIN_CONTRAST). The layout is
then refined with a colour guided filter (He et al., computed at WORK_SIDE px and applied at full
resolution), so depth changes snap to image edges and stay smooth inside uniform regions.
It is deterministic; it gives plausible but not real parallax.
"""
from __future__ import annotations

import logging
import warnings
from typing import Optional

import torch
import torch.nn.functional as F

from ..camera import default_intrinsics
from ..errors import CinemagraphError
from ..types import Depth

log = logging.getLogger("cinemagraph")

WORK_SIDE = 256
"""Long side (px) of the working resolution of the horizon search and the filter coefficients."""
HORIZON_RANGE = (0.2, 0.8)
"""Allowed horizon rows, as fractions of the height from the top."""
DEFAULT_HORIZON = 0.4
MIN_CONTRAST = 0.05
"""Least RMS colour difference (0..1 units) between the parts above and below a detected horizon."""
SKY_DISPARITY = 0.02
HORIZON_DISPARITY = 0.15
FILTER_RADIUS = 1.0 / 16.0
"""Guided-filter window radius as a fraction of the working long side."""
FILTER_EPS = 1e-3
"""Guided-filter regulariser (guide in 0..1): smaller keeps weaker image edges."""

WARNING = ("no depth map and no DPT model: using a weight-free scene-layout prior (ground plane below an "
           "estimated horizon, far background above). Connect a depth map or put the DPT model file in place "
           "for real parallax.")


def prior_depth(image: torch.Tensor, horizon: Optional[float] = None) -> Depth:
    """Depth ``(H,W)`` float32 (nearest = 1) of ``image`` ``(3,H,W)`` float 0..1 from the layout prior.

    horizon: first ground row as a fraction of the height (0 = top), or None to estimate it.
    Returns a Depth with source 'prior' and the min-max normalised disparity; warns that it is a
    fallback.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if hasattr(image, "shape") else type(image).__name__
        raise CinemagraphError(f"prior_depth: expected an image tensor (3,H,W) float 0..1, got {shape}")
    if horizon is not None and not 0.0 <= horizon <= 1.0:
        raise CinemagraphError(f"prior_depth: horizon must be a fraction of the height in 0..1, got {horizon}")
    log.warning(WARNING)
    warnings.warn(WARNING, stacklevel=2)
    img = image.detach().cpu().float().clamp(0.0, 1.0)
    h, w = int(img.shape[1]), int(img.shape[2])
    small = downsample(img)
    y_h = estimate_horizon(small) * h if horizon is None else horizon * h
    layout = layout_disparity(h, w, y_h)
    disp = guided_filter(img, small, layout, FILTER_EPS).clamp(SKY_DISPARITY, 1.0)
    disp = disp / disp.max()
    span = (disp.max() - disp.min()).clamp_min(1e-12)
    return Depth(depth=1.0 / disp, K=default_intrinsics(h, w), disparity=(disp - disp.min()) / span, source="prior")


def estimate_horizon(image: torch.Tensor) -> float:
    """First ground row of ``image`` ``(3,h,w)`` as a fraction of its height (see the module doc)."""
    h = int(image.shape[1])
    rows = image.mean(dim=2).T.double()
    lo, hi = max(1, round(HORIZON_RANGE[0] * h)), min(h - 1, round(HORIZON_RANGE[1] * h))
    if hi < lo:
        return DEFAULT_HORIZON
    csum = torch.cat([torch.zeros(1, 3, dtype=rows.dtype), rows.cumsum(0)])
    s = torch.arange(lo, hi + 1, dtype=rows.dtype)
    above = csum[lo:hi + 1] / s[:, None]
    below = (csum[h] - csum[lo:hi + 1]) / (h - s)[:, None]
    diff2 = ((above - below) ** 2).sum(1)
    score = s * (h - s) * diff2
    best = int(score.argmax())
    if float(diff2[best] / 3.0) ** 0.5 < MIN_CONTRAST:
        return DEFAULT_HORIZON
    return float(s[best]) / h


def layout_disparity(h: int, w: int, horizon_row: float) -> torch.Tensor:
    """``(h,w)`` float32 layout disparity: ground plane from ``horizon_row`` (px) down, far above."""
    y = torch.arange(h, dtype=torch.float32)
    ramp = HORIZON_DISPARITY + (1.0 - HORIZON_DISPARITY) * (y - horizon_row) / max(h - 1 - horizon_row, 1.0)
    col = torch.where(y >= horizon_row, ramp.clamp(max=1.0), torch.full_like(y, SKY_DISPARITY))
    return col[:, None].expand(h, w).contiguous()


def guided_filter(guide: torch.Tensor, guide_small: torch.Tensor, src: torch.Tensor, eps: float,
                  radius: float = FILTER_RADIUS) -> torch.Tensor:
    """Colour guided filter of ``src`` ``(H,W)`` by ``guide`` ``(3,H,W)``, coefficients at low resolution.

    guide_small: ``(3,h,w)`` the guide at the working resolution (src may be at either size). The
    window radius is ``radius`` (a fraction) of its long side. Returns ``(H,W)`` float32
    ``mean_a . guide + mean_b``.
    """
    h, w = int(guide_small.shape[1]), int(guide_small.shape[2])
    r = max(1, min(round(radius * max(h, w)), (min(h, w) - 1) // 2))
    I = guide_small.double()
    p = F.interpolate(src[None, None], size=(h, w), mode="area")[0, 0].double()
    mean_I = _box(I, r)
    mean_p = _box(p[None], r)[0]
    cov_Ip = _box(I * p, r) - mean_I * mean_p
    outer = I[:, None] * I[None, :]
    cov_II = _box(outer.reshape(9, h, w), r).reshape(3, 3, h, w) - mean_I[:, None] * mean_I[None, :]
    sigma = cov_II.permute(2, 3, 0, 1) + eps * torch.eye(3, dtype=I.dtype)
    a = torch.linalg.solve(sigma, cov_Ip.permute(1, 2, 0)[..., None])[..., 0].permute(2, 0, 1)
    b = mean_p - (a * mean_I).sum(0)
    coef = torch.cat([_box(a, r), _box(b[None], r)]).float()
    H, W = int(guide.shape[1]), int(guide.shape[2])
    if (H, W) != (h, w):
        coef = F.interpolate(coef[None], size=(H, W), mode="bilinear", align_corners=False)[0]
    return (coef[:3] * guide).sum(0) + coef[3]


def downsample(img: torch.Tensor, side: int = WORK_SIDE) -> torch.Tensor:
    """``(3,H,W)`` -> area-downsampled so that the long side is at most ``side`` px."""
    h, w = int(img.shape[1]), int(img.shape[2])
    scale = side / max(h, w)
    if scale >= 1.0:
        return img
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(img[None], size=size, mode="area")[0]


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)^2 window inside the image (windows shrink at the border). ``(C,h,w)``."""
    return F.avg_pool2d(x[None], 2 * r + 1, stride=1, padding=r, count_include_pad=False)[0]
