"""The weight-free two-side blend and the finishing of the blended map into an RGB frame (SPEC j).

The blend is the official formula (``ImgDecoder.forward`` with a learned scale,
``renderer.compute_weight_for_two_frame_blending`` with scale 4 for ``direct_rgb``), i.e. the
paper's Eq. 4-6 without the learned decoder: each side is weighted by its time factor, its rendered
coverage and ``exp(sharpness * disparity)``, so near content wins.
"""
from __future__ import annotations

from numbers import Integral

import torch
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..types import SideMaps

ALPHA_CHANNEL = 3
"""Index of the coverage (alpha) channel in a side map (attributes start with r, g, b, a)."""

DIRECT_RGB_SHARPNESS = 4.0
"""The fixed sharpness of the official ``direct_rgb`` blend (the weight-free default)."""

MIN_BLEND_WEIGHT = 1e-6
"""Floor of the summed blend weight (official)."""

MAX_SHARPNESS = 60.0
"""Largest |sharpness|: exp(sharpness * disparity) must stay finite in float32 (disparity <= 1)."""

COVERAGE_EPS = 1e-4
"""Coverage below which a pixel has no colour of its own."""

FILL_COVERAGE = 0.2
"""With hole filling, pixels with coverage below this are mixed with the filled colour in
proportion (coverage / FILL_COVERAGE); above it they keep their own colour."""

MIN_OUTPUT_SIZE = 16
"""Smallest output side (px) a crop may leave."""


def blend_weights(maps: SideMaps, sharpness: float = DIRECT_RGB_SHARPNESS) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised ``(H,W)`` weights of the forward and backward side (they sum to 1 where covered).

    ``w0 = (1 - time) exp(a d0) alpha0``, ``w1 = time exp(a d1) alpha1``, both divided by
    ``max(w0 + w1, 1e-6)``; ``d`` = the last channel (normalised disparity), ``alpha`` = channel 3.
    """
    f, b = maps.forward, maps.backward
    if f.dim() != 3 or f.shape != b.shape or f.shape[0] < ALPHA_CHANNEL + 2:
        raise CinemagraphError(f"blend: side maps must be two (C+1,H,W) tensors of the same shape with "
                               f"[r, g, b, a, ..., disparity] channels, got {tuple(f.shape)} and {tuple(b.shape)}.")
    a = float(sharpness)
    if not abs(a) <= MAX_SHARPNESS:
        raise CinemagraphError(f"blend: sharpness must be a finite number with |sharpness| <= {MAX_SHARPNESS} "
                               f"(official 4), got {sharpness}.")
    time = float(maps.time)
    w0 = (1.0 - time) * torch.exp(a * f[-1]) * f[ALPHA_CHANNEL]
    w1 = time * torch.exp(a * b[-1]) * b[ALPHA_CHANNEL]
    total = (w0 + w1).clamp(min=MIN_BLEND_WEIGHT)
    return w0 / total, w1 / total


def blend_sides(maps: SideMaps, sharpness: float = DIRECT_RGB_SHARPNESS) -> torch.Tensor:
    """``(C+1,H,W)`` float32 blend of the two side maps over all channels (see ``blend_weights``).

    The RGB channels stay premultiplied by the blended coverage (channel 3); ``finish_rgb`` turns
    them into colours.
    """
    w0, w1 = blend_weights(maps, sharpness)
    return w0 * maps.forward + w1 * maps.backward


def mean_coverage(maps: SideMaps) -> torch.Tensor:
    """``(H,W)`` mean coverage of the two sides, ``0.5 (alpha0 + alpha1)`` (the official ``acc``)."""
    return 0.5 * (maps.forward[ALPHA_CHANNEL] + maps.backward[ALPHA_CHANNEL])


def finish_rgb(blended: torch.Tensor, fill_holes: bool = True, crop: int = 0, finite: bool = False) -> torch.Tensor:
    """Blended map ``(C,H,W)`` (C >= 4: premultiplied RGB, coverage, ...) -> ``(3,H-2crop,W-2crop)`` 0..1.

    RGB is divided by the coverage where it exceeds ``COVERAGE_EPS`` (non-finite input counts as 0,
    colours are clipped to 0..1). With ``fill_holes`` every pixel with little or no coverage (holes,
    and borders a moving camera uncovers) is filled from its surroundings by push-pull
    interpolation, so no black holes or borders remain; without it such pixels are black. ``crop``
    px are then removed from every side (official 32). finite: the caller guarantees finite values
    (skips the clean-up of NaN/inf, a full pass over the map).
    """
    if blended.dim() != 3 or blended.shape[0] <= ALPHA_CHANNEL:
        raise CinemagraphError(f"finish_rgb: expected a (C,H,W) map with premultiplied RGB and coverage in "
                               f"channels 0-3, got shape {tuple(blended.shape)}.")
    check_crop(crop, (int(blended.shape[1]), int(blended.shape[2])))
    blended = blended.to(torch.float32)
    if not finite:
        blended = torch.nan_to_num(blended, nan=0.0, posinf=0.0, neginf=0.0)
    cov = blended[ALPHA_CHANNEL].clamp(0.0, 1.0)
    has = cov > COVERAGE_EPS
    rgb = torch.where(has, blended[:3] / torch.where(has, cov, torch.ones_like(cov)), torch.zeros_like(blended[:3]))
    rgb = rgb.clamp(0.0, 1.0)
    if fill_holes and not bool((cov >= FILL_COVERAGE).all()):
        rgb = push_pull_fill(rgb, (cov / FILL_COVERAGE).clamp(0.0, 1.0) * has)
    return crop_border(rgb, crop)


def check_crop(crop: int, size: tuple[int, int]) -> None:
    """Raise unless ``crop`` px per side (an int >= 0) leaves at least ``MIN_OUTPUT_SIZE`` px of ``(H, W)``."""
    h, w = int(size[0]), int(size[1])
    top = max((min(h, w) - MIN_OUTPUT_SIZE) // 2, 0)
    if isinstance(crop, bool) or not isinstance(crop, Integral) or not 0 <= crop <= top:
        raise CinemagraphError(f"crop must be a whole number of px per side in 0..{top} for a {w}x{h} frame "
                               f"(at least {MIN_OUTPUT_SIZE} px must remain), got {crop!r}.")


def crop_border(image: torch.Tensor, crop: int) -> torch.Tensor:
    """``(C,H,W)`` -> ``(C,H-2crop,W-2crop)``: remove ``crop`` px from every side (official 32)."""
    if image.dim() != 3:
        raise CinemagraphError(f"crop_border: expected a (C,H,W) image, got shape {tuple(image.shape)}.")
    check_crop(crop, (int(image.shape[1]), int(image.shape[2])))
    if crop == 0:
        return image
    return image[:, int(crop):-int(crop), int(crop):-int(crop)].contiguous()


def push_pull_fill(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x (C,H,W)`` where ``weight`` is 1, smoothly interpolated elsewhere (push-pull).

    weight: ``(H,W)`` (one for all channels) or ``(C,H,W)`` (one per channel), 0..1.
    Pull: a pyramid of weighted 2x2 means whose weights are summed and clipped to 1. Push: from the
    coarsest level down, every level is ``weight * own mean + (1 - weight) * upsampled coarser
    estimate`` (bilinear). Returns ``(C,H,W)``; zeros where a channel's weights are all 0.
    """
    levels = []
    wgt = weight[None] if weight.dim() == 3 else weight[None, None]
    val = x[None] * wgt
    while True:
        levels.append((torch.where(wgt > 0, val / wgt.clamp(min=1e-12), torch.zeros_like(val)), wgt))
        if max(val.shape[-2:]) <= 1:
            break
        pad = (0, val.shape[-1] % 2, 0, val.shape[-2] % 2)
        val = 4.0 * F.avg_pool2d(F.pad(val, pad), 2)
        wgt = 4.0 * F.avg_pool2d(F.pad(wgt, pad), 2)
        val = torch.where(wgt > 1.0, val / wgt.clamp(min=1e-12), val)
        wgt = wgt.clamp(max=1.0)
    est = levels[-1][0]
    for mean, wgt in reversed(levels[:-1]):
        up = F.interpolate(est, scale_factor=2.0, mode="bilinear", align_corners=False)
        est = wgt * mean + (1.0 - wgt) * up[..., :mean.shape[-2], :mean.shape[-1]]
    return est[0]
