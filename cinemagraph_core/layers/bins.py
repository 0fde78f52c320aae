"""Depth bins of the layered depth image (SPEC f "Depth bins").

The disparity, sampled every 10th row and column and min-max normalised, is clustered with Ward
agglomerative clustering (merge-distance threshold 5, no fixed cluster count); each cluster's largest
sampled depth closes a bin. Layer i holds the pixels with ``bins[i] <= depth < bins[i+1]``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering

from ..errors import CinemagraphError

SAMPLE_STRIDE = 10
"""Official sampling step (px) of the disparity samples."""
DISTANCE_THRESHOLD = 5.0
"""Official Ward merge-distance threshold."""
MAX_SAMPLES = 6000
"""Default cap on the number of samples (Ward needs O(n^2) memory: 6000 samples ~ 150 MB)."""
MIN_DEPTH = 0.01
"""The official code asserts depth > 0.01."""


def as_depth_map(depth: torch.Tensor | np.ndarray, what: str = "depth") -> torch.Tensor:
    """``(H,W)`` float32 CPU tensor from a ``(H,W)``, ``(1,H,W)`` or ``(1,1,H,W)`` map; checks the values.

    Raises CinemagraphError unless every value is finite and > 0.01 (official assertion).
    """
    d = torch.as_tensor(np.asarray(depth) if not isinstance(depth, torch.Tensor) else depth)
    while d.dim() > 2 and d.shape[0] == 1:
        d = d[0]
    if d.dim() != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise CinemagraphError(
            f"{what} must be a single (H,W) map, got shape {tuple(d.shape)}; pass one depth map per image")
    d = d.detach().to(device="cpu", dtype=torch.float32)
    if not bool(torch.isfinite(d).all()):
        raise CinemagraphError(
            f"{what} has {int((~torch.isfinite(d)).sum())} NaN/inf values; fill or clip them "
            f"(e.g. with the depth of a neighbouring pixel) before building layers")
    low = float(d.min())
    if low <= MIN_DEPTH:
        raise CinemagraphError(
            f"{what} must be > {MIN_DEPTH} everywhere (minimum is {low:g}); depth maps are in "
            f"depth units with the nearest pixel at about 1 - if this is a disparity map, load it as "
            f"disparity so it gets converted")
    return d


def sample_stride(h: int, w: int, max_samples: int = MAX_SAMPLES) -> int:
    """Smallest stride >= 10 px whose sample grid ``ceil(h/s) * ceil(w/s)`` has at most ``max_samples``."""
    if max_samples < 1:
        raise CinemagraphError(f"max_samples must be >= 1, got {max_samples}")
    s = SAMPLE_STRIDE
    while math.ceil(h / s) * math.ceil(w / s) > max_samples:
        s += 1
    return s


def _ward_labels(samples: np.ndarray, threshold: float) -> np.ndarray:
    """Ward cluster labels of ``(n,)`` samples (one cluster when fewer than two samples)."""
    if samples.shape[0] < 2:
        return np.zeros(samples.shape[0], dtype=np.int64)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="ward")
    return model.fit(samples.reshape(-1, 1)).labels_


def depth_bins(depth: torch.Tensor | np.ndarray, max_samples: int = MAX_SAMPLES,
               scale_threshold: bool = True) -> np.ndarray:
    """Depth-bin edges ``(L+1,)`` float64, ascending, for a depth map ``(H,W)`` float32 (> 0.01).

    Official algorithm (values computed in float32 like the official code, then widened). When the
    10-px sample grid would exceed ``max_samples`` (e.g. 1280x720 -> 9,216 samples, 1080p -> 20,736),
    the stride grows until it fits, which bounds memory. Fewer samples make every Ward merge distance
    smaller (about sqrt(cluster size) x mean gap), so with the fixed threshold fewer layers would come out;
    ``scale_threshold`` (default) multiplies the threshold by ``sqrt(n_capped / n_uncapped)`` to keep
    the layer count of the official sampling. Below the cap the result is the official one. Note that
    ``max + 1e-6`` rounds to ``max`` in float32 when the maximum is >= 32, so then the last edge equals
    the maximum depth (``build_ldi`` keeps those pixels in the last layer). A constant depth gives one
    layer.
    """
    d = as_depth_map(depth)
    h, w = d.shape
    stride = sample_stride(h, w, max_samples)
    threshold = DISTANCE_THRESHOLD
    if stride != SAMPLE_STRIDE and scale_threshold:
        full = math.ceil(h / SAMPLE_STRIDE) * math.ceil(w / SAMPLE_STRIDE)
        threshold *= math.sqrt(math.ceil(h / stride) * math.ceil(w / stride) / full)
    disp = 1.0 / d
    lo, hi = disp.min(), disp.max()
    edges = [d.min()]
    if hi > lo:
        norm = (disp[::stride, ::stride].reshape(-1) - lo) / (hi - lo)
        labels = torch.from_numpy(_ward_labels(norm.numpy().astype(np.float64), threshold))
        for c in torch.unique(labels):
            edges.append(1.0 / (norm[labels == c].min() * (hi - lo) + lo))
    else:
        edges.append(d.max())
    b = torch.stack(edges).sort().values
    b[0] = d.min() - 1e-6
    b[-1] = d.max() + 1e-6
    return b.numpy().astype(np.float64)
