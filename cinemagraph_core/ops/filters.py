"""Image filters with the exact border semantics the official pipeline relies on.

All functions take and return ``(B,C,H,W)`` float tensors.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def box_blur(x: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised k x k box filter (odd k) with zero padding (kornia ``box_blur``, constant border)."""
    if k % 2 != 1:
        raise ValueError(f"box_blur needs an odd kernel size, got {k}")
    return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=True)


def _window_pad(k: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding of a k x k window with origin (k//2, k//2)."""
    o = k // 2
    return (o, k - o - 1, o, k - o - 1)


def erode(x: torch.Tensor, k: int) -> torch.Tensor:
    """Flat k x k erosion (minimum) with origin (k//2, k//2) and a geodesic border.

    Matches kornia ``erosion`` with an all-ones kernel: outside the image counts as +inf, so the
    border never erodes; an even k covers offsets -k//2 .. k//2 - 1.
    """
    padded = F.pad(-x, _window_pad(k), value=-math.inf)
    return -F.max_pool2d(padded, k, stride=1)


def dilate(x: torch.Tensor, k: int) -> torch.Tensor:
    """Flat k x k dilation (maximum), odd k, geodesic border (outside counts as -inf)."""
    if k % 2 != 1:
        raise ValueError(f"dilate needs an odd kernel size, got {k}")
    padded = F.pad(x, _window_pad(k), value=-math.inf)
    return F.max_pool2d(padded, k, stride=1)


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
