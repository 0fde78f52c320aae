"""Bilinear gathers at pixel coordinates (``grid_sample`` in the package's pixel convention).

Pixel ``(x, y)`` of an ``(H,W)`` map has integer coordinates (the OpenCV grid the point cloud is
unprojected from), so a map sampled at the integer grid returns its own values.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def pixel_grid(h: int, w: int, device: Optional[torch.device] = None) -> torch.Tensor:
    """``(2,H,W)`` float32 pixel coordinates: channel 0 = x (column), channel 1 = y (row)."""
    ys = torch.arange(h, dtype=torch.float32, device=device)
    xs = torch.arange(w, dtype=torch.float32, device=device)
    return torch.stack([xs.expand(h, w), ys[:, None].expand(h, w)])


def sample(x: torch.Tensor, pos: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """Bilinear samples of ``x (B,C,H,W)`` at ``pos (B,2,h,w)`` px (x, y) -> ``(B,C,h,w)``.

    padding: ``'zeros'`` (outside the map counts as 0) or ``'border'`` (clamped to the edge).
    ``x`` and ``pos`` must be on the same device.
    """
    return sample_grid(x, to_grid(pos, (int(x.shape[-2]), int(x.shape[-1]))), padding)


def sample_grid(x: torch.Tensor, grid: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """Bilinear samples of ``x (B,C,H,W)`` at a normalised ``grid (B,h,w,2)`` (``to_grid``) -> ``(B,C,h,w)``."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def to_grid(pos: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel positions ``(B,2,h,w)`` in an ``(H,W)`` map -> ``grid_sample``'s normalised ``(B,h,w,2)``."""
    sx, sy = grid_scale(size)
    return torch.stack([pos[:, 0] * sx - 1.0, pos[:, 1] * sy - 1.0], dim=-1)


def grid_scale(size: tuple[int, int]) -> tuple[float, float]:
    """Normalised units per px (x, y) of an ``(H,W)`` map: ``g = px * scale - 1`` (align_corners True)."""
    h, w = int(size[0]), int(size[1])
    return 2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)


def inside(pos: torch.Tensor, size: tuple[int, int], margin: float = 0.0) -> torch.Tensor:
    """``(B,1,h,w)`` bool: ``pos (B,2,h,w)`` px lies in ``[-margin, W-1+margin] x [-margin, H-1+margin]``."""
    h, w = int(size[0]), int(size[1])
    x, y = pos[:, :1], pos[:, 1:]
    return (x >= -margin) & (x <= w - 1 + margin) & (y >= -margin) & (y <= h - 1 + margin)
