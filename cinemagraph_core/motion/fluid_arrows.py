"""Arrows for a proposed fluid region: which way it moves, how fast, where the arrows start.

Direction by kind (angles in image coordinates, y down):

* ``waterfall``: along its streaks, downwards.
* ``smoke``: along the plume's long axis, upwards.
* ``river``: along its streaks (the banks); towards the viewer (down the image) when they are
  steeper than 45 degrees, else to the right. A still image does not show which way a river
  crossing the view flows: right is a convention (flip the arrows in the editor if it is wrong).
* ``lake`` (open water): towards the viewer (down the image), as waves roll in to the shore.

Water flowing towards the viewer (a lake, a river coming down the image) slows with perspective: its
image speed is the speed of the kind of the picture's largest such region (all water coming towards the
viewer is taken as one body: a lake seen in pieces between trees moves at one pace) times
``perspective``: ``(near / depth)^2`` of the picture's nearest water (over all its water regions),
brought down linearly to 0 at ``FAR_STILL``, so the far water and the far shore stay still
(waves far away are smaller than a pixel; moving them would double the far shore at mid-loop) and
do not pull the sky in at the horizon. Its arrows (twice as many, at most ``MAX_ARROWS``) are spread
from the far end to the near one and shortened the same way (to at least ``MIN_PERSPECTIVE``, so each
still shows its direction); the proposal's speed map gives the speed between them.
* ``clouds``: along the cloud streaks when they lie within ``CLOUD_TILT`` of horizontal, else
  horizontally; to the right.

Streaks count where the texture is oriented (coherence at least ``MIN_COHERENCE``); elsewhere a
river goes to the right as well.

Speeds are px/frame for an image ``SPEED_WIDTH`` px wide, scaled with the width. The arrows start
at ``arrow_count`` points spread along the region's long axis, each inside the region.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import Arrow
from .fluid_stats import RegionStats
from .hints import HINT_DIVISOR

SPEED_WIDTH = 256.0
SPEEDS = {"clouds": 0.6, "river": 1.0, "lake": 0.6, "waterfall": 1.3, "smoke": 1.0}
"""px/frame at SPEED_WIDTH px of image width, per kind."""
CLOUD_TILT = 30.0
MIN_COHERENCE = 0.2
MIN_PERSPECTIVE = 0.05
FAR_STILL = 0.2
MAX_ARROWS = 4
AREA_PER_ARROW = 0.03
"""One arrow per this fraction of the image (1 to MAX_ARROWS per region)."""


def direction(kind: str, stats: RegionStats) -> tuple[float, float]:
    """Unit motion direction (dx, dy) of a region of ``kind`` (see the module doc)."""
    streak = math.radians(stats.streak) if stats.coherence >= MIN_COHERENCE else 0.0
    along = (math.cos(streak), math.sin(streak))
    if kind == "waterfall":
        return _towards(along, (0.0, 1.0))
    if kind == "smoke":
        axis = math.radians(stats.axis)
        return _towards((math.cos(axis), math.sin(axis)), (0.0, -1.0))
    if kind == "river":
        return _towards(along, (0.0, 1.0) if abs(along[1]) > abs(along[0]) else (1.0, 0.0))
    if kind == "lake":
        return 0.0, 1.0
    if kind == "clouds":
        return _towards(along, (1.0, 0.0)) if abs(along[1]) <= math.sin(math.radians(CLOUD_TILT)) else (1.0, 0.0)
    raise ValueError(f"unknown fluid kind {kind!r}")


def arrow_count(area: float) -> int:
    """Arrows for a region covering ``area`` of the image."""
    return int(min(MAX_ARROWS, max(1, round(area / AREA_PER_ARROW))))


def water_near(masks: list[np.ndarray], depth: np.ndarray) -> float:
    """Depth of the picture's nearest water: the 5th percentile of ``depth`` ``(h,w)`` over the
    union of the water regions' ``(h,w)`` bool masks (1.0 when there is none)."""
    if not masks:
        return 1.0
    return float(np.percentile(depth[np.logical_or.reduce(masks)], 5))


def towards_viewer(kind: str, stats: RegionStats) -> bool:
    """Whether a region of ``kind`` is water coming towards the viewer (down the image)."""
    dx, dy = direction(kind, stats)
    return kind in ("lake", "river") and dy > abs(dx)


def region_speed(kind: str, width: int) -> float:
    """px/frame of a region of ``kind`` (of its nearest water, for water coming towards the viewer) in
    an image ``width`` px wide."""
    return SPEEDS[kind] * width / SPEED_WIDTH


def perspective(depth, near: float):
    """Image-speed factor 0..1 of water at ``depth`` (numpy array or scalar) relative to the nearest
    water's: ``(near / depth)^2`` mapped linearly from ``[FAR_STILL, 1]`` to ``[0, 1]``, clamped."""
    return (((near / depth) ** 2 - FAR_STILL) / (1.0 - FAR_STILL)).clip(0.0, 1.0)


def region_arrows(kind: str, stats: RegionStats, mask: np.ndarray, size: tuple[int, int],
                  depth: np.ndarray, near: float, speed: float) -> tuple[Arrow, ...]:
    """Arrows in px of an image of ``size`` (H, W) for a region of ``kind``.

    mask: ``(h,w)`` bool, the region at the analysis resolution (not empty); depth: ``(h,w)`` depth
    at the same resolution and near: ``water_near`` of the picture (used for water's perspective).
    speed: px/frame (of the nearest water, for water coming towards the viewer), e.g. ``region_speed``.
    """
    h, w = mask.shape
    H, W = size
    dx, dy = direction(kind, stats)
    length = HINT_DIVISOR * speed
    towards = towards_viewer(kind, stats)
    out = []
    count = min(MAX_ARROWS, 2 * arrow_count(stats.area)) if towards else arrow_count(stats.area)
    for x, y in spread_points(mask, count, 90.0 if towards else stats.axis):
        scale = max(MIN_PERSPECTIVE, float(perspective(depth[y, x], near))) if towards else 1.0
        sx, sy = (x + 0.5) * W / w, (y + 0.5) * H / h
        out.append((round(sx, 1), round(sy, 1), round(sx + scale * length * dx, 1),
                    round(sy + scale * length * dy, 1)))
    return tuple(out)


def _towards(v: tuple[float, float], preferred: tuple[float, float]) -> tuple[float, float]:
    """``v`` or ``-v``, whichever points more along ``preferred``."""
    return v if v[0] * preferred[0] + v[1] * preferred[1] >= 0 else (-v[0], -v[1])


def spread_points(mask: np.ndarray, n: int, axis_degrees: float) -> list[tuple[int, int]]:
    """``n`` pixels (x, y) of an ``(h,w)`` bool mask spread along a direction (degrees from the x axis):
    the pixel nearest to the mean of each of ``n`` equal slices of the mask's pixels ordered along it."""
    ys, xs = np.nonzero(mask)
    a = math.radians(axis_degrees)
    order = np.argsort(xs * math.cos(a) + ys * math.sin(a), kind="stable")
    out = []
    for part in np.array_split(order, n):
        if len(part) == 0:
            continue
        px, py = xs[part], ys[part]
        i = int(np.argmin((px - px.mean()) ** 2 + (py - py.mean()) ** 2))
        out.append((int(px[i]), int(py[i])))
    return out
