"""Procedural textures of the synthetic scenes.

Every texture maps source-view coordinates ``q (R,2)`` in reference px (see groundtruth.REF_WIDTH) and
world points ``X (R,3)`` to colours ``(R,3)`` 0..1. Fluid textures depend on ``q`` only, through
coordinates along and across their flow, and repeat exactly every ``num_frames * |flow|`` px along it.
"""
from __future__ import annotations

import numpy as np

from .geometry import Texture
from .noise import fbm, flow_frame, hash01, octaves_for, value_noise

Colour = tuple[float, float, float]


def _mix(a: Colour, b: Colour, t: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a + (b - a) * np.clip(t, 0.0, 1.0)[:, None]


def _noise_px(q: np.ndarray, cell_x: float, cell_y: float, seed: int) -> np.ndarray:
    """Fractal noise with features of ``cell_x`` by ``cell_y`` px down to about 1 px."""
    return fbm(q[:, 0] / cell_x, q[:, 1] / cell_y, seed, octaves_for(min(cell_x, cell_y)))


def mottled(base: Colour, other: Colour, cell: float, seed: int, contrast: float = 1.0) -> Texture:
    """Two colours mixed by fractal noise of feature size ``cell`` px (grass, foliage, dirt)."""
    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        n = _noise_px(q, cell, cell, seed)
        return _mix(base, other, 0.5 + 0.5 * contrast * n)
    return tex


def streaked(base: Colour, other: Colour, cell_x: float, cell_y: float, seed: int) -> Texture:
    """Anisotropic noise (bark, grass blades, reeds): features ``cell_x`` by ``cell_y`` px."""
    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        n = _noise_px(q, cell_x, cell_y, seed)
        return _mix(base, other, 0.5 + 0.9 * n)
    return tex


def rock(base: Colour, dark: Colour, cell: float, seed: int) -> Texture:
    """Grainy stone with dark cracks (ridged noise)."""
    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        grain = _noise_px(q, cell, cell, seed)
        crack = np.abs(value_noise(q[:, 0] / (2.5 * cell), q[:, 1] / (2.5 * cell), seed + 7))
        col = _mix(base, dark, 0.45 - 0.5 * grain)
        return col * (0.55 + 0.45 * np.clip(crack * 6.0, 0.0, 1.0))[:, None]
    return tex


def sky(top: Colour, horizon: Colour, height_px: float, seed: int) -> Texture:
    """Static sky: vertical gradient over ``height_px`` reference px with faint haze."""
    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        haze = _noise_px(q, 40.0, 20.0, seed)
        return _mix(top, horizon, q[:, 1] / height_px + 0.08 * haze)
    return tex


def mountain(rock_col: Colour, snow: Colour, snow_y: float, seed: int) -> Texture:
    """Rock below, snow above world height ``snow_y`` (y down) with a noisy snow line."""
    stone = rock(rock_col, tuple(0.55 * c for c in rock_col), 9.0, seed)

    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        line = snow_y + 0.25 * abs(snow_y) * _noise_px(q, 12.0, 12.0, seed + 3)
        white = _mix(snow, (0.75, 0.8, 0.9), 0.5 + 0.5 * _noise_px(q, 5.0, 5.0, seed + 5))
        return np.where((X[:, 1] < line)[:, None], white, stone(q, X))
    return tex


def bricks(brick: Colour, mortar: Colour, size: tuple[float, float], seed: int) -> Texture:
    """Running-bond brick wall on world (x, y) with bricks of ``size`` (world units)."""
    bw, bh = size

    def tex(X_xy: np.ndarray) -> np.ndarray:
        row = np.floor(X_xy[:, 1] / bh)
        shift = np.where(np.mod(row, 2) == 0, 0.0, 0.5 * bw)
        col = np.floor((X_xy[:, 0] + shift) / bw)
        fx = (X_xy[:, 0] + shift) / bw - col
        fy = X_xy[:, 1] / bh - row
        joint = (np.minimum(fx, 1 - fx) * bw < 0.06 * bh) | (np.minimum(fy, 1 - fy) * bh < 0.06 * bh)
        tone = hash01(col.astype(np.int64), row.astype(np.int64), seed)
        grain = fbm(X_xy[:, 0] / (0.08 * bw), X_xy[:, 1] / (0.08 * bw), seed + 1, 2)
        c = np.asarray(brick) * (0.75 + 0.35 * tone + 0.12 * grain)[:, None]
        return np.where(joint[:, None], np.asarray(mortar) * (0.9 + 0.1 * grain)[:, None], c)

    return lambda q, X: tex(X[:, :2])


def _flow_noise(q: np.ndarray, flow_ref: tuple[float, float], period: float, cell_along: float,
                cell_across: float, seed: int, freq: float = 1.0) -> np.ndarray:
    """Fractal noise in flow-aligned lattice coordinates, periodic along the flow with ``period`` px,
    ``freq`` times finer than the cells, with octaves down to about 1 px."""
    a, b, n = flow_frame(q, np.asarray(flow_ref), period, cell_along, cell_across)
    finest = min(period / n, cell_across) / freq
    return fbm(freq * a, freq * b, seed, octaves_for(finest), period=int(round(freq * n)))


def _period(flow_ref: tuple[float, float], num_frames: int) -> float:
    return num_frames * float(np.hypot(*flow_ref))


def water(deep: Colour, light: Colour, flow_ref: tuple[float, float], num_frames: int, seed: int,
          cell_along: float = 16.0, cell_across: float = 5.0, sparkle: float = 3.0) -> Texture:
    """Flowing water: streaks stretched along the flow with bright crests; periodic along the flow."""
    period = _period(flow_ref, num_frames)

    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        body = _flow_noise(q, flow_ref, period, cell_along, cell_across, seed)
        crest = np.clip(_flow_noise(q, flow_ref, period, cell_along, cell_across, seed + 11, 2.0), 0.0, 1.0) ** 2
        return _mix(deep, light, 0.45 + 0.5 * body + sparkle * crest)
    return tex


def clouds(sky_top: Colour, sky_low: Colour, flow_ref: tuple[float, float], num_frames: int, seed: int,
           height_px: float) -> Texture:
    """Drifting clouds over a sky gradient (across the flow); periodic along the flow."""
    period = _period(flow_ref, num_frames)
    d = np.asarray(flow_ref, np.float64) / np.hypot(*flow_ref)

    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        cover = np.clip(1.8 * _flow_noise(q, flow_ref, period, 28.0, 12.0, seed) + 0.1, 0.0, 1.0)
        shade = 0.5 + 0.5 * _flow_noise(q, flow_ref, period, 28.0, 12.0, seed + 3, 2.0)
        across = q[:, 1] * d[0] - q[:, 0] * d[1]
        base = _mix(sky_top, sky_low, across / height_px)
        cloud = _mix((0.78, 0.8, 0.86), (0.98, 0.98, 1.0), shade)
        return base + (cloud - base) * cover[:, None]
    return tex


def smoke(wall_tint: Colour, light: Colour, flow_ref: tuple[float, float], num_frames: int,
          seed: int) -> Texture:
    """Opaque billowing smoke, periodic along its flow."""
    period = _period(flow_ref, num_frames)

    def tex(q: np.ndarray, X: np.ndarray) -> np.ndarray:
        puff = _flow_noise(q, flow_ref, period, 9.0, 6.0, seed)
        return _mix(wall_tint, light, 0.55 + 0.8 * puff)
    return tex
