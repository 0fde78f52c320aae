"""Deterministic procedural noise evaluated at arbitrary float coordinates (numpy float64).

Value noise on an integer lattice whose values come from seeded permutation tables, with quintic
interpolation. A lattice can wrap along x with an integer period, which makes
the noise exactly periodic: this is how the fluid textures become seamless loops along their flow.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

TABLE = 4096
"""Lattice hashing uses per-seed permutation tables of this size (the noise repeats every TABLE cells)."""


@lru_cache(maxsize=None)
def _tables(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.permutation(TABLE).astype(np.int64), rng.random(TABLE)


def hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) float64 for integer lattice points ``ix, iy`` (int64 arrays of one shape)."""
    perm, values = _tables(int(seed))
    return values[perm[(perm[ix & (TABLE - 1)] + iy) & (TABLE - 1)]]


def _fade(f: np.ndarray) -> np.ndarray:
    return f * f * f * (f * (f * 6.0 - 15.0) + 10.0)


def value_noise(x: np.ndarray, y: np.ndarray, seed: int, period: Optional[int] = None) -> np.ndarray:
    """Smooth noise in [-1, 1] at float coordinates (lattice units); exactly periodic in x if ``period``."""
    x0, y0 = np.floor(x), np.floor(y)
    sx, sy = _fade(x - x0), _fade(y - y0)
    ix, iy = x0.astype(np.int64), y0.astype(np.int64)
    ix1 = ix + 1
    if period is not None:
        ix, ix1 = np.mod(ix, period), np.mod(ix1, period)
    iy1 = iy + 1
    top = hash01(ix, iy, seed) * (1 - sx) + hash01(ix1, iy, seed) * sx
    bottom = hash01(ix, iy1, seed) * (1 - sx) + hash01(ix1, iy1, seed) * sx
    return 2.0 * (top * (1 - sy) + bottom * sy) - 1.0


def fbm(x: np.ndarray, y: np.ndarray, seed: int, octaves: int = 4, gain: float = 0.5,
        period: Optional[int] = None) -> np.ndarray:
    """Fractal sum of ``octaves`` value noises (frequency x2 each), normalised to about [-1, 1].

    With ``period`` (lattice units of the first octave) every octave wraps with ``period * 2**k``, so
    the sum is periodic in x with ``period``.
    """
    out = np.zeros(np.broadcast(x, y).shape)
    amp, total, freq = 1.0, 0.0, 1.0
    for k in range(octaves):
        p = None if period is None else period * (1 << k)
        out += amp * value_noise(x * freq, y * freq, seed + 101 * k, p)
        total += amp
        amp *= gain
        freq *= 2.0
    return out / total


def octaves_for(cell: float, finest: float = 1.0, most: int = 6) -> int:
    """Octaves of ``fbm`` whose finest features stay at least ``finest`` px for a first octave of ``cell`` px
    (finer ones would only alias)."""
    return int(min(most, 1 + max(0.0, np.floor(np.log2(max(cell, finest) / finest)))))


def flow_frame(q: np.ndarray, direction: np.ndarray, period_px: float, cell_along: float,
               cell_across: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Lattice coordinates aligned with a flow direction, periodic along it.

    q: ``(R,2)`` px; direction: ``(2,)`` (any length > 0); period_px: the loop length along it.
    Returns ``(a, b, n)``: ``a`` along the flow in lattice units, ``b`` across it, and the integer
    number of lattice cells ``n`` in one period (the along-cell is stretched so that exactly ``n``
    cells of about ``cell_along`` px fit), so ``value_noise(a, b, seed, n)`` repeats every
    ``period_px`` along ``direction``.
    """
    d = np.asarray(direction, np.float64)
    d = d / np.linalg.norm(d)
    n = max(1, int(round(period_px / cell_along)))
    along = (q[:, 0] * d[0] + q[:, 1] * d[1]) * (n / period_px)
    across = (q[:, 1] * d[0] - q[:, 0] * d[1]) / cell_across
    return along, across, n
