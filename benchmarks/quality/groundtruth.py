"""Ground-truth renderer: supersampled ray casting of the analytic scene at any pose and time.

Independent of the pipeline under test (no import of cinemagraph_core's points or render code).
Conventions (those of the pipeline): OpenCV camera axes; a pose moves *points* of the source camera
frame, ``p' = R p + t``; pixel (x, y) of the integer grid is the centre of pixel column x, row y; the
target camera uses the source intrinsics with the focal length multiplied by ``K_scale``.

Fluid surfaces are textured through their source-view coordinates: a fluid point whose projection
into the source view is ``q`` shows ``tex0(q - time * M)`` (M its flow in px/frame), so frame ``time``
is the source texture advected by ``time`` frames; see README.md for why this is the exact target of
both copies of the symmetric animation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .geometry import World, cast

REF_WIDTH = 256
"""Textures and flows are defined in px of a 256-px-wide image and scaled to the actual width."""

STATIC, FLUID, DISOCCLUDED = 0, 1, 2
REGION_NAMES = ("static", "fluid", "disoccluded")


@dataclass(frozen=True)
class View:
    """One rendered view.

    rgb: ``(3,H,W)`` float32 0..1 (mean of the sub-pixel samples).
    valid: ``(H,W)`` bool: every sub-pixel ray hits the scene at a point that projects inside the
        source image (content the input never saw is excluded).
    region: ``(H,W)`` uint8 class of the centre ray's hit: STATIC / FLUID (visible in the source view)
        or DISOCCLUDED (hidden in the source view); meaningful where ``valid``.
    depth: ``(H,W)`` float32 target-camera depth of the centre ray (depth units, inf = miss).
    surface: ``(H,W)`` int16 index of the surface the centre ray hits (-1 = miss).
    """

    rgb: np.ndarray
    valid: np.ndarray
    region: np.ndarray
    depth: np.ndarray
    surface: np.ndarray


def pixel_rays(K: np.ndarray, size: tuple[int, int], samples: int, K_scale: float = 1.0) -> np.ndarray:
    """Camera-frame ray directions ``(H*W*S*S, 3)`` (z = 1) ordered (row, col, sub-row, sub-col).

    Sub-pixel offsets are ``(i + 0.5)/S - 0.5``; with odd S the middle sample is the pixel centre.
    """
    h, w = size
    off = (np.arange(samples) + 0.5) / samples - 0.5
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    shape = (h, w, samples, samples)
    u = np.broadcast_to(xs[:, :, None, None] + off[None, None, None, :], shape)
    v = np.broadcast_to(ys[:, :, None, None] + off[None, None, :, None], shape)
    f = K_scale * np.array([K[0, 0], K[1, 1]])
    d = np.stack([(u - K[0, 2]) / f[0], (v - K[1, 2]) / f[1], np.ones_like(u)], -1)
    return d.reshape(-1, 3)


def project(K: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Source-view pixel coordinates ``(R,2)`` of camera-frame points ``X (R,3)`` (z > 0)."""
    return np.stack([K[0, 0] * X[:, 0] / X[:, 2] + K[0, 2], K[1, 1] * X[:, 1] / X[:, 2] + K[1, 2]], -1)


def shade(world: World, idx: np.ndarray, X: np.ndarray, q: np.ndarray, ref: float, time: float) -> np.ndarray:
    """Colour ``(R,3)`` of hits on surfaces ``idx`` at source points ``X`` with projections ``q`` (px)."""
    rgb = np.zeros((len(idx), 3))
    X_world = X @ world.rotation.T * world.scale
    for i, surf in enumerate(world.surfaces):
        m = idx == i
        if not m.any():
            continue
        q_ref = q[m] * ref
        if surf.is_fluid:
            q_ref = q_ref - time * np.asarray(surf.flow_ref, np.float64)
        rgb[m] = surf.texture(q_ref, X_world[m])
    return np.clip(rgb, 0.0, 1.0)


def render_view(world: World, K: np.ndarray, size: tuple[int, int], pose: Optional[np.ndarray] = None,
                K_scale: float = 1.0, time: float = 0.0, samples: int = 3) -> View:
    """Render the scene seen from ``pose`` ``(4,4)`` (default identity = the source view) at ``time`` frames.

    K: ``(3,3)`` source intrinsics in px; size: (H, W); samples: S x S rays per pixel (odd S).
    """
    if samples % 2 != 1:
        raise ValueError(f"samples must be odd (a centre ray per pixel), got {samples}")
    h, w = size
    K = np.asarray(K, np.float64)
    pose = np.eye(4) if pose is None else np.asarray(pose, np.float64)
    R, t = pose[:3, :3], pose[:3, 3]
    d_target = pixel_rays(K, size, samples, K_scale)
    o = -R.T @ t
    d = d_target @ R
    s, idx = cast(world, o, d)
    hit = idx >= 0
    X = o + np.where(hit, s, 0.0)[:, None] * d
    in_front = hit & (X[:, 2] > 1e-9)
    q = np.zeros((len(d), 2))
    q[in_front] = project(K, X[in_front])
    inside = in_front & (q[:, 0] >= -0.5) & (q[:, 0] <= w - 0.5) & (q[:, 1] >= -0.5) & (q[:, 1] <= h - 0.5)
    rgb = shade(world, np.where(in_front, idx, -1), X, q, REF_WIDTH / w, time)
    n = samples * samples
    centre = np.arange(h * w) * n + n // 2
    region = np.full(h * w, STATIC, np.uint8)
    qc, Xc, ic = q[centre], X[centre], idx[centre]
    ok = inside[centre]
    d_src = np.concatenate([(qc[ok] - K[:2, 2]) / np.diag(K)[:2], np.ones((int(ok.sum()), 1))], 1)
    s_src, i_src = cast(world, np.zeros(3), d_src)
    seen = (i_src == ic[ok]) & (np.abs(s_src - Xc[ok, 2]) <= 1e-7 * Xc[ok, 2])
    fluid = np.array([surf.is_fluid for surf in world.surfaces])[ic[ok]]
    region[np.flatnonzero(ok)] = np.where(seen, np.where(fluid, FLUID, STATIC), DISOCCLUDED)
    return View(
        rgb=rgb.reshape(h, w, n, 3).mean(2).transpose(2, 0, 1).astype(np.float32),
        valid=inside.reshape(h, w, n).all(2),
        region=region.reshape(h, w),
        depth=np.where(hit[centre], s[centre], np.inf).reshape(h, w).astype(np.float32),
        surface=ic.reshape(h, w).astype(np.int16),
    )
