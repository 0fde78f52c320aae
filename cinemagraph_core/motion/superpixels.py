"""SLIC superpixels (Achanta et al. 2012) in numpy: compact regions of similar colour.

Every pixel is assigned to the nearest of the centres of the 3x3 grid cells around its own cell in
the joint distance ``|lab - lab_c|^2 + (m / S)^2 |xy - xy_c|^2`` (S: grid step in px, m: the
compactness), then every centre moves to the mean of its pixels; a fixed number of rounds, no
randomness. Fragments of a label that are not connected keep the label (the callers aggregate
statistics per label, for which that is harmless).
"""
from __future__ import annotations

import math

import numpy as np

ROUNDS = 6
COMPACTNESS = 12.0
"""m, in CIELAB units per grid step: larger = more regular, less adherent to colour edges."""


def slic(lab: np.ndarray, segments: int, compactness: float = COMPACTNESS, rounds: int = ROUNDS) -> np.ndarray:
    """Labels ``(h,w)`` int32 in ``0..K-1`` (K about ``segments``) of an ``(h,w,3)`` CIELAB image (L 0..100).

    Labels are numbered by grid cell (row-major) and may skip numbers whose cell lost all its pixels.
    """
    h, w = lab.shape[:2]
    step = math.sqrt(h * w / max(int(segments), 1))
    gy, gx = max(1, round(h / step)), max(1, round(w / step))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    feats = np.concatenate([lab.astype(np.float32), ys[..., None], xs[..., None]], -1).reshape(-1, 5)
    cell_y = np.minimum((ys * gy / h).astype(np.int64), gy - 1).ravel()
    cell_x = np.minimum((xs * gx / w).astype(np.int64), gx - 1).ravel()
    centres = np.zeros((gy * gx, 5), np.float32)
    cy, cx = (np.arange(gy) + 0.5) * h / gy, (np.arange(gx) + 0.5) * w / gx
    grid = np.stack(np.meshgrid(cy, cx, indexing="ij"), -1).reshape(-1, 2)
    centres[:, 3:] = grid
    centres[:, :3] = feats[(np.minimum(grid[:, 0].astype(int), h - 1) * w + np.minimum(grid[:, 1].astype(int), w - 1)),
                           :3]
    weight = np.array([1, 1, 1, (compactness / step) ** 2, (compactness / step) ** 2], np.float32)
    labels = cell_y * gx + cell_x
    for _ in range(rounds):
        best = np.full(h * w, np.inf, np.float32)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ny, nx = cell_y + dy, cell_x + dx
                ok = (ny >= 0) & (ny < gy) & (nx >= 0) & (nx < gx)
                k = np.where(ok, ny * gx + nx, 0)
                d = (((feats - centres[k]) ** 2) * weight).sum(1)
                d[~ok] = np.inf
                better = d < best
                best[better] = d[better]
                labels[better] = k[better]
        counts = np.bincount(labels, minlength=gy * gx).astype(np.float32)
        sums = np.stack([np.bincount(labels, feats[:, c], minlength=gy * gx) for c in range(5)], 1)
        filled = counts > 0
        centres[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
    return labels.reshape(h, w).astype(np.int32)


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels renumbered ``0..K-1`` without gaps, and K."""
    used, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32), len(used)


def adjacency(labels: np.ndarray, count: int) -> np.ndarray:
    """``(K,K)`` int32 counts of 4-neighbour pixel pairs between labels (symmetric, zero diagonal)."""
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    diff = a != b
    pairs = np.bincount(a[diff] * count + b[diff], minlength=count * count).reshape(count, count)
    return (pairs + pairs.T).astype(np.int32)
