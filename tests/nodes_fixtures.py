"""Tiny ComfyUI-style inputs for the node tests: an IMAGE, its MASK, a depth IMAGE and arrows."""
from __future__ import annotations

import json

import torch

H, W = 80, 112
ARROWS = [[70.0, 50.0, 80.0, 52.0], [90.0, 62.0, 100.0, 66.0]]
"""Fluid arrows in image px, inside the mask."""
ROWS, COLS = slice(40, 76), slice(56, 112)
"""The fluid region of ``mask``."""


def image(b: int = 1, seed: int = 0) -> torch.Tensor:
    """IMAGE (b,H,W,3): smooth colour ramps plus a little texture, different per batch item."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, H)[:, None].expand(H, W)
    xs = torch.linspace(0, 1, W)[None, :].expand(H, W)
    out = []
    for i in range(b):
        base = torch.stack([0.3 + 0.4 * ys, 0.5 - 0.3 * xs + 0.1 * i, 0.6 * xs * ys + 0.2], -1)
        out.append((base + 0.05 * torch.rand(H, W, 3, generator=g)).clamp(0, 1))
    return torch.stack(out)


def mask(b: int = 1) -> torch.Tensor:
    """MASK (b,H,W): fluid in the lower right (ROWS, COLS)."""
    m = torch.zeros(b, H, W)
    m[:, ROWS, COLS] = 1.0
    return m


def depth_image(b: int = 1) -> torch.Tensor:
    """Depth IMAGE (b,H,W,3), disparity (near = bright): a near block (lower left) before a far
    background, which gives a two-layer LDI."""
    ys = torch.linspace(0.05, 0.15, H)[:, None].expand(H, W).clone()
    ys[H // 2:, :W // 2] = torch.linspace(0.95, 1.0, H - H // 2)[:, None]
    return ys[None, ..., None].expand(b, H, W, 3).contiguous()


def arrows_json() -> str:
    return json.dumps(ARROWS)
