"""Which superpixels form a fluid, and of what kind: rules on colour, texture, shape and layout.

The rules are those of a landscape photograph (all colours CIELAB, L 0..100; fractions of the
analysis image):

* **Sky**: superpixels of sky colours (cool or neutral, bright, or a deep blue) reached from the
  top row through each other, covering at least ``SKY_TOP`` of that row and at most
  ``SKY_BOTTOM`` of the last one, with the holes clouds and birds leave filled. It is animated (kind ``clouds``) when it shows something that can drift:
  cloud texture (lightness varying by more than ``CLOUD_TEXTURE`` after removing its smooth
  gradient) or haze (pale: lightness above ``HAZE_L`` and chroma below ``HAZE_CHROMA``). A clear,
  saturated blue sky is left still: moving it would show nothing. Where the sky continues far below
  the horizon row (a hazy sea or lake merging with it) that part is water.
* **Water, smoke**: connected superpixels of cool or neutral colour (water mirrors the sky) and
  lightness at least ``WATER_L`` (``DEEP_WATER_L`` for a deep blue) that are not sky, joined while neighbours differ by less than
  ``LINK_DISTANCE``; at least ``MIN_AREA`` of the image. Then, by shape and texture:
  - touching the top border but too narrow for a sky, bright, neutral and elongated: rising
    **smoke** (or steam);
  - streaks within ``FALL_ANGLE`` of vertical with coherence at least ``FALL_COHERENCE``, at least
    as tall as wide and bright: a **waterfall**;
  - touching the top border otherwise, or beside the sky and not below its lowest row (snow, a
    far range): not a fluid;
  - else water, which lies on the ground, so its depth grows towards the horizon (far / near
    depth at least ``GROUND_DEPTH_RATIO``; with the layout prior: it is below the horizon row): a
    **lake** (open water) when it spans far more depth than a river crossing the view (far / near
    at least ``OPEN_WATER_DEPTH_RATIO``), else a **river**. Solid things in the water (an island,
    a rock, a pier, an overhanging branch) stay still: its superpixels with more than
    ``SOLID_TEXTURE`` times the water's median gradient energy that are also at least
    ``SOLID_DARKER`` darker than its median lightness leave the mask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .fluid_stats import RegionStats, SuperpixelStats, region_stats

COOL_B = 3.0
"""Largest b* of a cool or neutral colour (warmer: earth, wood, sand, foliage)."""
COOL_A = 15.0
"""Largest |a*| of a cool or neutral colour (larger: red or saturated green)."""
SKY_L = 45.0
DEEP_BLUE_B, DEEP_BLUE_L = -25.0, 35.0
"""A deep blue sky may be darker: b* below DEEP_BLUE_B and L above DEEP_BLUE_L."""
SKY_TOP = 0.2
SKY_BOTTOM = 0.25
"""The sky covers at most this fraction of the image's last row (there is ground below it)."""
SKY_LINK_DISTANCE = 25.0
"""Neighbouring sky superpixels differ by less than this (CIELAB distance of their means)."""
CLOUD_TEXTURE = 2.0
"""Least RMS lightness (L units) of the sky after removing a quadratic gradient, over its inner pixels."""
HAZE_L, HAZE_CHROMA = 70.0, 15.0
HORIZON_MARGIN = 0.03
"""Sky more than this fraction of the height below the horizon row may be water."""
BELOW_HORIZON_SHARE = 0.15
"""... when it is at least this share of the sky."""
WATER_L = 45.0
DEEP_WATER_L = 25.0
"""Deep blue water (b* below DEEP_BLUE_B) may be as dark as this."""
LINK_DISTANCE = 20.0
MIN_AREA = 0.004
SMOKE_CHROMA, SMOKE_L, SMOKE_ELONGATION = 10.0, 55.0, 2.0
FALL_ANGLE, FALL_COHERENCE, FALL_L = 30.0, 0.3, 70.0
GROUND_DEPTH_RATIO = 1.15
"""Water lies on the ground: its far / near depth (95th / 5th percentile) is at least this."""
OPEN_WATER_DEPTH_RATIO = 2.3
SOLID_TEXTURE, SOLID_DARKER = 2.0, 2.0


@dataclass(frozen=True)
class FluidCandidate:
    """A region the rules accepted: its kind, superpixels ``(K,)`` bool, pixel mask ``(h,w)`` bool
    (holes filled), statistics and confidence 0..1."""

    kind: str
    selected: np.ndarray
    mask: np.ndarray
    stats: RegionStats
    confidence: float


@dataclass(frozen=True)
class SkyFinding:
    """The sky: superpixels ``(K,)`` bool (may be none), whether it is animated, why, and how surely."""

    selected: np.ndarray
    animated: bool
    reason: str
    confidence: float = 0.0


def find_fluids(stats: SuperpixelStats, light: np.ndarray, depth: np.ndarray, horizon: float
                ) -> tuple[list[FluidCandidate], SkyFinding]:
    """The fluid regions of an analysis image.

    light: ``(h,w)`` CIELAB lightness 0..100.  depth: ``(h,w)`` depth (any scale, > 0; a layout
    prior when none is known).  horizon: first ground row as a fraction of the height.
    Returns the candidates (most confident first) and the sky finding.
    """
    lab = stats.lab
    cool = (lab[:, 2] < COOL_B) & (np.abs(lab[:, 1]) < COOL_A)
    sky, below = _sky(stats, cool, horizon)
    finding = _judge_sky(stats, sky, light)
    out = []
    if finding.animated:
        out.append(FluidCandidate("clouds", sky, _fill_holes(stats.pixels(sky)), region_stats(stats, sky),
                                  finding.confidence))
    deep_blue = (lab[:, 2] < DEEP_BLUE_B) & (lab[:, 0] > DEEP_WATER_L)
    candidates = (cool & ((lab[:, 0] >= WATER_L) | deep_blue) & ~sky) | below
    component = _components(stats, candidates, LINK_DISTANCE)
    sky_bottom = float(stats.pixels(sky).nonzero()[0].max() + 1) / stats.size[0] if sky.any() else 0.0
    beside_sky = (stats.adjacency[:, sky] > 0).any(1) if sky.any() else np.zeros(len(cool), bool)
    for c in np.unique(component[candidates]):
        selected = candidates & (component == c)
        if stats.count[selected].sum() < MIN_AREA * stats.labels.size:
            continue
        found = _classify(stats, selected, depth, beside_sky, sky_bottom)
        if found is not None:
            out.append(found)
    return sorted(out, key=lambda f: -f.confidence), finding


def _classify(stats: SuperpixelStats, selected: np.ndarray, depth: np.ndarray, beside_sky: np.ndarray,
              sky_bottom: float) -> Optional[FluidCandidate]:
    r = region_stats(stats, selected)
    light, chroma = float(r.lab[0]), float(np.hypot(r.lab[1], r.lab[2]))
    x0, y0, x1, y1 = r.box
    vertical = 90.0 - abs(r.streak)
    mask = _fill_holes(stats.pixels(selected))
    if y0 == 0.0 and r.top < SKY_TOP:
        if chroma < SMOKE_CHROMA and light >= SMOKE_L and r.elongation >= SMOKE_ELONGATION:
            return FluidCandidate("smoke", selected, mask, r, _confidence(r.elongation, SMOKE_ELONGATION))
        return None
    if vertical <= FALL_ANGLE and r.coherence >= FALL_COHERENCE and (y1 - y0) * stats.size[0] >= (
            x1 - x0) * stats.size[1] and light >= FALL_L:
        return FluidCandidate("waterfall", selected, mask, r, _confidence(r.coherence, FALL_COHERENCE, 0.1))
    if y0 == 0.0 or ((beside_sky & selected).any() and stats.centre[selected, 1].mean() < sky_bottom):
        return None
    d = depth[mask]
    ratio = float(np.percentile(d, 95) / max(np.percentile(d, 5), 1e-6))
    if ratio < GROUND_DEPTH_RATIO:
        return None
    kind = "lake" if ratio >= OPEN_WATER_DEPTH_RATIO else "river"
    solid = _solid(stats, selected)
    return FluidCandidate(kind, selected & ~solid, mask & ~stats.pixels(solid), r,
                          _confidence(-float(r.lab[2]), 5.0, 5.0))


def _solid(stats: SuperpixelStats, water: np.ndarray) -> np.ndarray:
    """``(K,)`` bool: superpixels of ``water`` that are solid things in it (textured and darker)."""
    energy = stats.tensor[:, 0] + stats.tensor[:, 2]
    textured = energy > SOLID_TEXTURE * np.median(energy[water])
    darker = stats.lab[:, 0] < np.median(stats.lab[water, 0]) - SOLID_DARKER
    return water & textured & darker


def _sky(stats: SuperpixelStats, cool: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """(sky superpixels, the part of a sky-coloured flood below the horizon), both ``(K,)`` bool."""
    lab = stats.lab
    sky_like = cool & ((lab[:, 0] > SKY_L) | ((lab[:, 2] < DEEP_BLUE_B) & (lab[:, 0] > DEEP_BLUE_L)))
    first_row = np.zeros(len(cool), bool)
    first_row[np.unique(stats.labels[0])] = True
    component = _components(stats, sky_like, SKY_LINK_DISTANCE)
    reached = sky_like & np.isin(component, component[first_row & sky_like])
    none = np.zeros(len(cool), bool)
    if not reached.any() or stats.pixels(reached)[0].mean() < SKY_TOP or stats.pixels(reached)[-1].mean() > SKY_BOTTOM:
        return none, none
    sky = stats.from_pixels(_fill_holes(stats.pixels(reached)))
    below = sky & (stats.centre[:, 1] > horizon + HORIZON_MARGIN)
    if stats.count[below].sum() < BELOW_HORIZON_SHARE * stats.count[sky].sum():
        return sky, none
    return sky & ~below, below


def _judge_sky(stats: SuperpixelStats, sky: np.ndarray, light: np.ndarray) -> SkyFinding:
    if not sky.any():
        return SkyFinding(sky, False, "no sky")
    mask = cv2.erode(stats.pixels(sky).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    texture = _residual_rms(light, mask) if mask.sum() > 20 else 0.0
    lab = region_stats(stats, sky).lab
    chroma = float(np.hypot(lab[1], lab[2]))
    clouds = _confidence(texture, CLOUD_TEXTURE) if texture >= CLOUD_TEXTURE else 0.0
    haze = _confidence(HAZE_CHROMA - chroma, 0.0, 3.0) if lab[0] > HAZE_L and chroma < HAZE_CHROMA else 0.0
    if clouds or haze:
        return SkyFinding(sky, True, "clouds" if clouds >= haze else "haze", max(clouds, haze))
    return SkyFinding(sky, False, "a clear sky (nothing in it would visibly move)")


def _residual_rms(light: np.ndarray, mask: np.ndarray) -> float:
    """RMS of ``light`` on ``mask`` after removing the least-squares quadratic surface in x, y."""
    ys, xs = np.nonzero(mask)
    h, w = light.shape
    x, y = xs / w, ys / h
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1)
    values = cv2.GaussianBlur(light, (0, 0), 1.0)[ys, xs].astype(np.float64)
    coef, *_ = np.linalg.lstsq(basis, values, rcond=None)
    return float(np.sqrt(np.mean((values - basis @ coef) ** 2)))


def _components(stats: SuperpixelStats, selected: np.ndarray, distance: float) -> np.ndarray:
    """``(K,)`` component index of every superpixel when ``selected`` neighbours whose mean colours
    differ by less than ``distance`` are joined (the others are joined to nothing)."""
    i, j = np.nonzero(np.triu(stats.adjacency) > 0)
    keep = selected[i] & selected[j] & (np.linalg.norm(stats.lab[i] - stats.lab[j], axis=1) < distance)
    k = len(selected)
    graph = csr_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(k, k))
    return connected_components(graph, directed=False)[1]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every region of False that does not touch the border set True."""
    h, w = mask.shape
    outside = (~mask).astype(np.uint8)
    _, parts = cv2.connectedComponents(outside, connectivity=4)
    border = np.unique(np.concatenate([parts[0], parts[-1], parts[:, 0], parts[:, -1]]))
    return mask | ((outside > 0) & ~np.isin(parts, border[border > 0]))


def _confidence(value: float, threshold: float, scale: Optional[float] = None) -> float:
    """A logistic 0..1 of how far ``value`` is past ``threshold`` (0.5 at it; scale: threshold / 4)."""
    s = scale if scale is not None else max(abs(threshold) / 4.0, 1e-6)
    return float(1.0 / (1.0 + np.exp(-(value - threshold) / s)))
