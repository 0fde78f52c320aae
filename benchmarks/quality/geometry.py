"""Analytic shapes, surfaces and ray casting for the synthetic scenes (numpy float64).

A ray is ``o + s d`` with one origin ``o (3,)`` and many directions ``d (R,3)``. Every shape returns
the smallest ``s > EPS`` where the ray meets it, ``inf`` where it does not. The scene lives in
world units; the camera frame of the source view relates to it by a rotation and a scale
(``World``), so that depth units can be fixed afterwards (nearest source depth = 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol

import numpy as np

EPS = 1e-9
Region = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Inside test on a plane's local coordinates ``(a, b)`` (R,) -> bool (R,)."""
Texture = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Colour ``(R,3)`` 0..1 from source-view coordinates ``q (R,2)`` (reference px) and world points ``X (R,3)``."""


class Shape(Protocol):
    def intersect(self, o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """Ray parameter ``(R,)`` of the first hit (``inf`` = miss); hits at or beyond ``limit`` (R,)
        may be reported as misses (they are hidden anyway)."""


def _quadratic_hit(a: np.ndarray, b: np.ndarray, c: np.ndarray, valid=None) -> np.ndarray:
    """Smallest root ``> EPS`` of ``a s^2 + b s + c = 0`` (a > 0) per ray, ``inf`` where there is none.

    ``valid(idx, s)`` (optional) rejects roots of rays ``idx``; the far root is tried where the near one
    is rejected.
    """
    s = np.full(len(a), np.inf)
    disc = b * b - 4.0 * a * c
    idx = np.flatnonzero(disc > 0.0)
    root = np.sqrt(disc[idx])
    for sign in (1.0, -1.0):
        cand = (-b[idx] + sign * root) / (2.0 * a[idx])
        ok = cand > EPS
        if valid is not None:
            ok &= valid(idx, cand)
        s[idx[ok]] = cand[ok]
    return s


@dataclass(frozen=True)
class Plane:
    """The plane through ``origin`` spanned by the unit axes ``u``, ``v`` (local coordinates a, b),
    limited to ``region(a, b)`` when given."""

    origin: tuple[float, float, float]
    u: tuple[float, float, float]
    v: tuple[float, float, float]
    region: Optional[Region] = None

    @staticmethod
    def fronto(z: float, region: Optional[Region] = None) -> "Plane":
        """World plane ``z = const``; local (a, b) = world (x, y)."""
        return Plane((0.0, 0.0, z), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), region)

    @staticmethod
    def ground(y: float, region: Optional[Region] = None) -> "Plane":
        """World plane ``y = const`` (y points down); local (a, b) = world (x, z)."""
        return Plane((0.0, y, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), region)

    def intersect(self, o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
        p0, u, v = (np.asarray(x, np.float64) for x in (self.origin, self.u, self.v))
        n = np.cross(u, v)
        denom = d @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(np.abs(denom) > 1e-12, float((p0 - o) @ n) / denom, np.inf)
        s[~((s > EPS) & (s < limit))] = np.inf
        if self.region is not None:
            hit = np.isfinite(s)
            rel = o + s[hit, None] * d[hit] - p0
            inside = self.region(rel @ u, rel @ v)
            idx = np.flatnonzero(hit)
            s[idx[~inside]] = np.inf
        return s


@dataclass(frozen=True)
class Ellipsoid:
    """Axis-aligned ellipsoid (world axes)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]

    def intersect(self, o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
        r = np.asarray(self.radii, np.float64)
        oo = (o - np.asarray(self.centre, np.float64)) / r
        dd = d / r
        return _quadratic_hit(np.einsum("ij,ij->i", dd, dd), 2.0 * (dd @ oo), np.full(len(d), oo @ oo - 1.0))


@dataclass(frozen=True)
class Cylinder:
    """Lateral surface of a cylinder (no caps): axis from ``base`` along unit ``axis`` for ``length``."""

    base: tuple[float, float, float]
    axis: tuple[float, float, float]
    radius: float
    length: float

    def intersect(self, o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
        a0 = np.asarray(self.axis, np.float64)
        a0 = a0 / np.linalg.norm(a0)
        w = o - np.asarray(self.base, np.float64)
        da, dw, wa = d @ a0, d @ w, float(w @ a0)
        a = np.einsum("ij,ij->i", d, d) - da * da
        c = np.full(len(d), w @ w - wa * wa - self.radius**2)

        def within(idx: np.ndarray, s: np.ndarray) -> np.ndarray:
            along = wa + s * da[idx]
            return (along >= 0.0) & (along <= self.length)

        return _quadratic_hit(a, 2.0 * (dw - da * wa), c, within)


@dataclass(frozen=True)
class Surface:
    """A shape with its texture; ``flow_ref`` (2,) reference px/frame marks a fluid."""

    name: str
    shape: Shape
    texture: Texture
    flow_ref: Optional[tuple[float, float]] = None

    @property
    def is_fluid(self) -> bool:
        return self.flow_ref is not None


@dataclass(frozen=True)
class World:
    """Surfaces in world units and how the source camera sits in the world.

    rotation: ``(3,3)`` world-from-camera rotation (OpenCV camera axes, no translation).
    scale: world units per depth unit (set so that the nearest source depth is 1).
    """

    surfaces: tuple[Surface, ...]
    rotation: np.ndarray
    scale: float = 1.0


def cast(world: World, o_cam: np.ndarray, d_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First hit of camera-frame rays (depth units): ``(s (R,), surface index (R,) int64, -1 = miss)``.

    ``s`` is the ray parameter in the camera frame, i.e. the hit is ``o_cam + s d_cam``.
    """
    o_w = world.rotation @ np.asarray(o_cam, np.float64) * world.scale
    d_w = d_cam @ world.rotation.T * world.scale
    best = np.full(len(d_cam), np.inf)
    idx = np.full(len(d_cam), -1, np.int64)
    for i, surf in enumerate(world.surfaces):
        s = surf.shape.intersect(o_w, d_w, best)
        closer = s < best
        best = np.where(closer, s, best)
        idx[closer] = i
    return best, idx


def pitch_down(degrees: float) -> np.ndarray:
    """World-from-camera rotation of a camera pitched down by ``degrees`` (y down, z forward)."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
