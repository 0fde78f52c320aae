"""Image filters with the exact border semantics the official pipeline relies on.

All functions take and return ``(B,C,H,W)`` float tensors.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def box_blur(x: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised k x k box filter (odd k), zero border, with the official pipeline's rounding.

    kornia >= 0.9 ``box_blur(..., border_type='constant')`` on one ``(1,1,H,W)`` map at a time: a
    horizontal pass then a vertical pass, each a 1 x k convolution with float32 taps 1/k. The
    rounding matters (the diffused depths order the splatter's z-ties exactly), and a batched
    convolution rounds differently, so every map is filtered on its own: the result of a map never
    depends on what it is batched with.
    """
    if k % 2 != 1:
        raise ValueError(f"box_blur needs an odd kernel size, got {k}")
    o = k // 2
    taps = torch.ones(1, dtype=x.dtype, device=x.device) / k
    row, col = taps.expand(1, 1, 1, k), taps.expand(1, 1, k, 1)
    maps = x.reshape(-1, 1, *x.shape[-2:])
    out = [F.conv2d(F.pad(F.conv2d(F.pad(m[None], (o, o, 0, 0)), row), (0, 0, o, o)), col) for m in maps]
    return torch.cat(out).reshape(x.shape)


def box_blur_fast(x: torch.Tensor, k: int) -> torch.Tensor:
    """``box_blur`` (odd k, zero padding) from doubling window sums: O(log k) additions per pixel.

    Faster than ``box_blur`` for large k, with other rounding (within a few float32 ulps of the
    window's magnitude; windows of zeros give exactly 0): for per-frame work where ulps do not matter.
    """
    if k % 2 != 1:
        raise ValueError(f"box_blur_fast needs an odd kernel size, got {k}")
    o = k // 2
    y = _window_sum(F.pad(x, (o, o)), k, -1)
    y = _window_sum(F.pad(y, (0, 0, o, o)), k, -2)
    return y.div_(k * k)


def _window_sum(x: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """Sums of every k consecutive entries along ``dim`` (length n + k - 1 -> n)."""
    n = x.shape[dim] - k + 1
    powers = [x]
    while 2 ** len(powers) <= k:
        p, w = powers[-1], 2 ** (len(powers) - 1)
        size = p.shape[dim] - w
        powers.append(p.narrow(dim, 0, size) + p.narrow(dim, w, size))
    out, offset = None, 0
    for j in reversed(range(len(powers))):
        if k & (1 << j):
            part = powers[j].narrow(dim, offset, n)
            out = part.clone() if out is None else out.add_(part)
            offset += 1 << j
    return out


def _window_pad(k: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding of a k x k window with origin (k//2, k//2)."""
    o = k // 2
    return (o, k - o - 1, o, k - o - 1)


def _window_max(x: torch.Tensor, k: int) -> torch.Tensor:
    """Maximum over k x k windows (no padding), separably: a row pass then a column pass (exact)."""
    return F.max_pool2d(F.max_pool2d(x, (1, k), stride=1), (k, 1), stride=1)


def erode(x: torch.Tensor, k: int) -> torch.Tensor:
    """Flat k x k erosion (minimum) with origin (k//2, k//2) and a geodesic border.

    Matches kornia ``erosion`` with an all-ones kernel: outside the image counts as +inf, so the
    border never erodes; an even k covers offsets -k//2 .. k//2 - 1. Exact (a minimum does not round).
    """
    if x.device.type == "cpu" and x.dtype == torch.float32:
        return _cv2_morphology(x, k, cv2.erode, math.inf)
    padded = F.pad(-x, _window_pad(k), value=-math.inf)
    return -_window_max(padded, k)


def dilate(x: torch.Tensor, k: int) -> torch.Tensor:
    """Flat k x k dilation (maximum), odd k, geodesic border (outside counts as -inf)."""
    if k % 2 != 1:
        raise ValueError(f"dilate needs an odd kernel size, got {k}")
    if x.device.type == "cpu" and x.dtype == torch.float32:
        return _cv2_morphology(x, k, cv2.dilate, -math.inf)
    padded = F.pad(x, _window_pad(k), value=-math.inf)
    return _window_max(padded, k)


def _cv2_morphology(x: torch.Tensor, k: int, op, border: float) -> torch.Tensor:
    """``erode``/``dilate`` of a CPU float32 ``(B,C,H,W)`` with OpenCV, map by map (the same values as the
    torch window maximum, several times faster on the CPU)."""
    kernel = np.ones((k, k), np.uint8)
    maps = x.detach().reshape(-1, *x.shape[-2:]).contiguous().numpy()
    out = np.stack([op(m, kernel, anchor=(k // 2, k // 2), borderType=cv2.BORDER_CONSTANT, borderValue=border)
                    for m in maps])
    return torch.from_numpy(out).reshape(x.shape)


def opening(x: torch.Tensor, k: int) -> torch.Tensor:
    """Morphological opening (erosion then dilation), odd k (kornia ``opening``)."""
    return dilate(erode(x, k), k)


def gaussian_blur(x: torch.Tensor, k: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, odd k, reflect border (kornia ``gaussian_blur2d``)."""
    if k % 2 != 1:
        raise ValueError(f"gaussian_blur needs an odd kernel size, got {k}")
    r = torch.arange(k, dtype=x.dtype, device=x.device) - k // 2
    g = torch.exp(-(r**2) / (2.0 * sigma * sigma))
    g = g / g.sum()
    c = x.shape[1]
    y = F.pad(x, (k // 2, k // 2, k // 2, k // 2), mode="reflect")
    y = F.conv2d(y, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(y, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
