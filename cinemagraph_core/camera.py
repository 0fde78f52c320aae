"""Intrinsics and camera paths."""
from __future__ import annotations

import torch


def default_intrinsics(h: int, w: int) -> torch.Tensor:
    """Official intrinsics ``(3,3)`` float32: focal = max(h, w) px, principal point (w//2, h//2)."""
    f = float(max(h, w))
    return torch.tensor([[f, 0.0, float(w // 2)], [0.0, f, float(h // 2)], [0.0, 0.0, 1.0]])
