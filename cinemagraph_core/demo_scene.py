"""The demo's inputs: a real photograph, or a procedurally generated scene; no input files, no weights.

``demo_photo``: scikit-learn's bundled ``china.jpg`` (installed with the requirements), animated
with the motion proposed from the image. ``make_demo_scene``: a river on a ground plane under
mountains and sky, with a rock in the foreground (parallax and disocclusion), its exact depth, the
fluid mask and flow hints along the river. Deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .camera import default_intrinsics
from .types import Arrow, Depth


@dataclass(frozen=True)
class DemoScene:
    """image ``(3,H,W)`` float32 0..1, depth (exact, nearest = 1), fluid mask ``(H,W)`` 0/1, arrows (px)."""

    image: torch.Tensor
    depth: Depth
    mask: torch.Tensor
    arrows: tuple[Arrow, ...]


def demo_photo() -> torch.Tensor:
    """scikit-learn's sample photograph ``china.jpg`` (a pagoda above a lake, 640x427) as ``(3,H,W)`` float32 0..1."""
    from sklearn.datasets import load_sample_image

    from .image_io import as_rgb

    return as_rgb(load_sample_image("china.jpg"), "china.jpg")


def _noise(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4) -> np.ndarray:
    """Smooth value noise ``(h,w)`` in about [-1, 1]: bicubic-upsampled random grids, octaves halving."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell = max(cell / 2.0, 1.0)
    return out / total


def make_demo_scene(size: int = 512, seed: int = 7, aspect: float = 0.75) -> DemoScene:
    """Build the scene ``size`` px wide and ``aspect * size`` high (both multiples of 16, at least 48)."""
    w = max(64, int(size) // 16 * 16)
    h = max(48, int(round(w * aspect)) // 16 * 16)
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xs / w, ys / h

    horizon = 0.42
    sky_depth, mountain_depth = 60.0, 18.0
    ground_depth = np.where(v > horizon, 1.0 * (1.0 - horizon) / np.maximum(v - horizon, 1e-3), sky_depth)
    ground_depth = np.minimum(ground_depth, 40.0)

    sky = np.stack([0.45 + 0.25 * v, 0.62 + 0.2 * v, 0.9 + 0.05 * v], -1)
    clouds = np.clip(_noise(rng, h, w, w / 5) * 1.6, 0, 1)[..., None]
    image = sky * (1 - 0.6 * clouds) + 0.95 * 0.6 * clouds
    depth = np.full((h, w), sky_depth, np.float32)

    cols = u[0]
    ridge = horizon - 0.16 - 0.07 * np.sin(cols * 7.0 + 1.0) - 0.04 * np.sin(cols * 17.0) + 0.03 * _noise(rng, 1, w, w / 8)[0]
    mountain = (v > ridge[None, :]) & (v <= horizon)
    rock_tex = 0.5 + 0.5 * _noise(rng, h, w, w / 40)[..., None]
    mountain_rgb = np.array([0.35, 0.38, 0.45]) * (0.75 + 0.35 * rock_tex) + 0.15 * (horizon - v)[..., None]
    image = np.where(mountain[..., None], mountain_rgb, image)
    depth = np.where(mountain, mountain_depth - 4.0 * (v - ridge[None, :]) / 0.25, depth)

    ground = v > horizon
    grass_tex = 0.5 + 0.5 * _noise(rng, h, w, w / 30)[..., None]
    grass = np.array([0.25, 0.45, 0.18]) * (0.7 + 0.5 * grass_tex)
    image = np.where(ground[..., None], grass, image)
    depth = np.where(ground, ground_depth, depth)

    centre = 0.5 + 0.18 * np.sin((v - horizon) * 9.0) * (v - horizon) / (1 - horizon)
    half_width = 0.03 + 0.25 * (v - horizon) / (1 - horizon)
    river = ground & (np.abs(u - centre) < half_width) & (v > horizon + 0.015)
    ripples = 0.5 + 0.5 * np.sin(60.0 * u + 8.0 * _noise(rng, h, w, w / 12)) * (0.6 + 0.4 * _noise(rng, h, w, w / 25))
    water = np.array([0.12, 0.32, 0.55]) + np.array([0.35, 0.4, 0.35]) * (ripples[..., None] ** 3)
    image = np.where(river[..., None], water, image)

    rock = ((u - 0.16) / 0.13) ** 2 + ((v - 0.93) / 0.3) ** 2 < 1.0
    rock_rgb = np.array([0.42, 0.36, 0.3]) * (0.6 + 0.6 * (0.5 + 0.5 * _noise(rng, h, w, w / 50)))[..., None]
    image = np.where(rock[..., None], rock_rgb, image)
    depth = np.where(rock, 1.0 + 0.15 * np.clip(v - 0.7, 0, 1), depth)
    river &= ~rock

    depth = depth / depth.min()
    arrows = []
    for frac in (0.55, 0.7, 0.85):
        y = horizon + frac * (1 - horizon)
        row = int(y * (h - 1))
        cols = np.nonzero(river[row])[0]
        if len(cols) == 0:
            continue
        x0 = float(cols[len(cols) // 2])
        length = 12.0 * (y - horizon) / (1 - horizon) * w / 128
        arrows.append((x0, float(row), x0 + 0.3 * length, float(row) + length))
    img_t = torch.from_numpy(np.clip(image, 0, 1).astype(np.float32)).permute(2, 0, 1).contiguous()
    depth_t = torch.from_numpy(depth.astype(np.float32))
    return DemoScene(
        image=img_t,
        depth=Depth(depth=depth_t, K=default_intrinsics(h, w), disparity=None, source="demo"),
        mask=torch.from_numpy(river.astype(np.float32)),
        arrows=tuple(arrows),
    )
