"""What the motion proposal measures: superpixel colour and texture, and the shape of a region.

Everything here works on the small analysis image (``propose.ANALYSIS_SIDE`` px on the longer
side) as numpy arrays. Texture is the structure tensor of the CIELAB lightness: per pixel
``J = [gx^2, gx gy, gy^2]`` of the Sobel gradient (lightness 0..1 per px), averaged over a
superpixel or a region; its dominant eigenvector is the gradient direction, across the streaks,
and the coherence ``(l1 - l2) / (l1 + l2)`` says how strongly the texture is oriented (0..1).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .superpixels import adjacency, compact_labels, slic

SUPERPIXEL_AREA = 40
"""Mean superpixel area in analysis px (about 6x6 px)."""
SLIC_SMOOTHING = 1.0
"""Gaussian sigma (px) applied to the CIELAB image before the superpixels."""
GRADIENT_SMOOTHING = 0.8
"""Gaussian sigma (px) applied to the lightness before its gradient."""


@dataclass(frozen=True)
class SuperpixelStats:
    """Superpixels of an ``(h,w)`` analysis image and their statistics (K superpixels).

    labels: ``(h,w)`` int32 0..K-1.  count: ``(K,)`` px.  lab: ``(K,3)`` mean CIELAB (L 0..100).
    tensor: ``(K,3)`` mean structure tensor ``[gx^2, gx gy, gy^2]``.  centre: ``(K,2)`` mean (x, y)
    as fractions of the width and height.  adjacency: ``(K,K)`` count of touching pixel pairs.
    """

    labels: np.ndarray
    count: np.ndarray
    lab: np.ndarray
    tensor: np.ndarray
    centre: np.ndarray
    adjacency: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        return int(self.labels.shape[0]), int(self.labels.shape[1])

    @property
    def chroma(self) -> np.ndarray:
        """``(K,)`` CIELAB chroma of the mean colours."""
        return np.hypot(self.lab[:, 1], self.lab[:, 2])

    def pixels(self, selected: np.ndarray) -> np.ndarray:
        """``(h,w)`` bool mask of the superpixels ``selected`` ``(K,)`` bool."""
        return selected[self.labels]

    def from_pixels(self, mask: np.ndarray) -> np.ndarray:
        """``(K,)`` bool: superpixels of which more than half the pixels are in ``mask`` ``(h,w)`` bool."""
        inside = np.bincount(self.labels.ravel(), mask.ravel().astype(np.float64), minlength=len(self.count))
        return inside > 0.5 * self.count


@dataclass(frozen=True)
class RegionStats:
    """A set of superpixels seen as one region.

    area: fraction of the image.  lab: mean CIELAB.  coherence: 0..1 of the summed structure
    tensor.  streak: direction of its streaks in degrees from the x axis (image y down), in
    (-90, 90].  top: fraction of the image's first row the region covers.  box: (x0, y0, x1, y1)
    as fractions of the width and height.  elongation: sqrt of the ratio of the principal second
    moments of its pixels (1 = round).  axis: direction of its long axis, degrees in (-90, 90].
    """

    area: float
    lab: np.ndarray
    coherence: float
    streak: float
    top: float
    box: tuple[float, float, float, float]
    elongation: float
    axis: float


def superpixel_stats(rgb: np.ndarray) -> SuperpixelStats:
    """Superpixels and their statistics of an ``(h,w,3)`` float32 RGB 0..1 analysis image."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2LAB)
    labels, k = compact_labels(slic(cv2.GaussianBlur(lab, (0, 0), SLIC_SMOOTHING), max(1, h * w // SUPERPIXEL_AREA)))
    light = cv2.GaussianBlur(lab[..., 0] / 100.0, (0, 0), GRADIENT_SMOOTHING)
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    flat = labels.ravel()
    count = np.bincount(flat, minlength=k).astype(np.float64)

    def mean(x: np.ndarray) -> np.ndarray:
        return np.bincount(flat, x.ravel().astype(np.float64), minlength=k) / count

    ys, xs = np.mgrid[0:h, 0:w]
    return SuperpixelStats(
        labels=labels, count=count, lab=np.stack([mean(lab[..., c]) for c in range(3)], 1),
        tensor=np.stack([mean(gx * gx), mean(gx * gy), mean(gy * gy)], 1),
        centre=np.stack([mean(xs) / w, mean(ys) / h], 1), adjacency=adjacency(labels, k))


def orientation(tensor: np.ndarray) -> tuple[float, float]:
    """(coherence 0..1, streak direction in degrees (-90, 90]) of a structure tensor ``[jxx, jxy, jyy]``."""
    jxx, jxy, jyy = (float(v) for v in tensor)
    total = jxx + jyy
    coherence = float(np.hypot(jxx - jyy, 2.0 * jxy) / total) if total > 1e-12 else 0.0
    gradient = 0.5 * np.degrees(np.arctan2(2.0 * jxy, jxx - jyy))
    return coherence, wrap_axis(gradient + 90.0)


def wrap_axis(degrees: float) -> float:
    """An undirected direction (axis) in degrees, wrapped into (-90, 90]."""
    d = (float(degrees) + 90.0) % 180.0 - 90.0
    return 90.0 if d == -90.0 else d


def region_stats(stats: SuperpixelStats, selected: np.ndarray) -> RegionStats:
    """``RegionStats`` of the superpixels ``selected`` ``(K,)`` bool (at least one)."""
    h, w = stats.size
    weight = stats.count[selected] / stats.count[selected].sum()
    coherence, streak = orientation((stats.tensor[selected] * weight[:, None]).sum(0))
    mask = stats.pixels(selected)
    ys, xs = np.nonzero(mask)
    if len(xs) > 2:
        moments = np.cov(np.stack([xs, ys]).astype(np.float64))
        values, vectors = np.linalg.eigh(moments)
        elongation = float(np.sqrt(values[1] / max(values[0], 1e-6)))
        axis = wrap_axis(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
    else:
        elongation, axis = 1.0, 0.0
    return RegionStats(
        area=float(mask.mean()), lab=(stats.lab[selected] * weight[:, None]).sum(0), coherence=coherence,
        streak=streak, top=float(mask[0].mean()),
        box=(xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h), elongation=elongation, axis=axis)
