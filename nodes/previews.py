"""Pictures of intermediate results for ComfyUI's Preview Image: depth, motion, LDI layers, holes.

All functions return ``(H,W,3)`` float32 0..1 (or ``(L,H,W,3)`` for the layers), ready to be
stacked into an IMAGE batch.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from cinemagraph_core.types import LDI, Depth

ARROW_GRID = 16
"""Arrows per longer side in the motion preview."""
CHECKER = 16
"""Checkerboard square (px) behind transparent LDI pixels."""


def depth_preview(depth: Depth) -> torch.Tensor:
    """Grey disparity, near = bright (the convention of depth nodes; feeds back into DepthDPT as is)."""
    disp = depth.disparity if depth.disparity is not None else 1.0 / depth.depth
    lo, hi = disp.min(), disp.max()
    grey = (disp - lo) / (hi - lo) if float(hi - lo) > 0 else torch.ones_like(disp)
    return grey.float()[..., None].expand(-1, -1, 3).contiguous()


def motion_preview(flow: torch.Tensor) -> torch.Tensor:
    """Flow ``(2,H,W)`` px/frame -> colour wheel (hue = direction, saturation = speed) with black arrows.

    Speeds are normalised by the largest one; arrows on a grid point along the motion, the longest
    one grid step long. A field without motion is white.
    """
    fx, fy = flow[0].double().numpy(), flow[1].double().numpy()
    h, w = fx.shape
    mag = np.hypot(fx, fy)
    top = float(mag.max())
    hsv = np.empty((h, w, 3), np.float32)
    hsv[..., 0] = (np.degrees(np.arctan2(fy, fx)) % 360.0).astype(np.float32)
    hsv[..., 1] = (mag / top if top > 0 else mag).astype(np.float32)
    hsv[..., 2] = 1.0
    rgb = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if top > 0:
        step = max(max(h, w) // ARROW_GRID, 4)
        scale = 0.9 * step / top
        thick = max(1, max(h, w) // 400)
        for y in range(step // 2, h, step):
            for x in range(step // 2, w, step):
                if mag[y, x] > 0.05 * top:
                    end = (int(round(x + fx[y, x] * scale)), int(round(y + fy[y, x] * scale)))
                    cv2.arrowedLine(rgb, (x, y), end, (0, 0, 0), thick, cv2.LINE_AA, tipLength=0.35)
    return torch.from_numpy(rgb.astype(np.float32) / 255.0)


def _checkerboard(h: int, w: int) -> torch.Tensor:
    ys = torch.arange(h)[:, None] // CHECKER
    xs = torch.arange(w)[None, :] // CHECKER
    return torch.where((ys + xs) % 2 == 0, 0.8, 0.6).float()


def layers_preview(ldi: LDI) -> torch.Tensor:
    """Each LDI layer over a checkerboard (transparent = no content) -> ``(L,H,W,3)``, near to far."""
    h, w = ldi.size
    board = _checkerboard(h, w)[None, None]
    rgb, alpha = ldi.rgba[:, :3], ldi.rgba[:, 3:4].clamp(0.0, 1.0)
    out = rgb * alpha + (1.0 - alpha) * board
    return out.clamp(0.0, 1.0).permute(0, 2, 3, 1).contiguous()


def hole_mask(ldi: LDI) -> torch.Tensor:
    """``(H,W)`` float32 0/1: where a farther layer holds content hidden in the source view (inpainted)."""
    alpha, seen = ldi.rgba[1:, 3], ldi.mask[1:, 0]
    if alpha.shape[0] == 0:
        return torch.zeros(ldi.size)
    return ((alpha > 0.5) & (seen < 0.5)).any(dim=0).float()
