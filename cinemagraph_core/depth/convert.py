"""Disparity -> depth exactly as the official demo, and depth from maps the user supplies (SPEC b).

The official chain: DPT disparity -> 16-bit PNG (min-max normalised, truncated) -> /65535 -> 5x5
median (SciPy, 'reflect') -> depth = 1 / max(disparity, 1e-6). The nearest pixel gets depth ~1,
the farthest up to 1e6 (later clamped to 1000 by the LDI stage).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import torch
from scipy.ndimage import median_filter

from ..camera import default_intrinsics
from ..choices import DEPTH_KINDS, DepthKind, check
from ..errors import CinemagraphError
from ..image_io import resize_map
from ..types import Depth

log = logging.getLogger("cinemagraph")

PNG_LEVELS = 65535
"""Levels of the official 16-bit disparity PNG."""
RANGE_EPS = float(np.finfo(float).eps)
"""A map whose max - min is not above this is constant (the official write_depth test)."""
DISPARITY_FLOOR = 1e-6
MEDIAN_SIZE = 5


def quantise_disparity(pred: torch.Tensor) -> torch.Tensor:
    """The official 16-bit PNG round trip: ``floor(65535*(d-min)/(max-min)) / 65535``.

    pred: ``(H,W)`` relative disparity (any scale). Returns ``(H,W)`` float32 in 0..1; all zeros
    when max - min <= RANGE_EPS. Computed in float32 like the official numpy code.
    """
    d = _as_map(pred, "disparity prediction")
    lo, hi = d.min(), d.max()
    if float(hi) - float(lo) <= RANGE_EPS:
        return torch.zeros_like(d)
    return torch.floor(PNG_LEVELS * (d - lo) / (hi - lo)) / PNG_LEVELS


def disparity_to_depth(disp01: torch.Tensor) -> torch.Tensor:
    """``(H,W)`` disparity 0..1 -> ``(H,W)`` float32 depth = 1 / max(median5(disp), 1e-6).

    The 5x5 median uses SciPy's 'reflect' border; the arithmetic is float64, cast at the end.
    """
    return _reciprocal(_median(_as_map(disp01, "disparity")))


def depth_from_prediction(pred: torch.Tensor, source: str = "dpt") -> Depth:
    """Depth from a relative disparity prediction ``(H,W)`` (DPT output at image size).

    Quantise (official PNG), median + reciprocal, default intrinsics. ``disparity`` of the result is
    the median-filtered 0..1 map, so ``depth == 1 / max(disparity, 1e-6)``. A constant prediction
    gives a flat scene at depth 1 with a warning (the official code would put it at 1e6).
    """
    d = _as_map(pred, "disparity prediction")
    _check_finite(d, "disparity prediction")
    if _is_constant(d):
        return _flat(d.shape, source, "the disparity prediction")
    med = _median(quantise_disparity(d))
    return Depth(depth=_reciprocal(med), K=default_intrinsics(*d.shape), disparity=torch.from_numpy(med).float(),
                 source=source)


def depth_from_map(depth_map: torch.Tensor, kind: DepthKind = "disparity", size=None) -> Depth:
    """Depth from a map the user supplies.

    depth_map: ``(H,W)`` float (numpy or torch), finite and >= 0.
    kind: 'disparity' (bright = near, relative: min-max normalised, then the DPT path:
        16-bit quantisation, 5x5 median, 1/max(d, 1e-6)); 'depth' (bright = far, relative: scaled
        so the nearest pixel has depth 1; must be > 0); 'metric' (depth in scene units, used as is;
        must be > 0).
    size: (h, w) of the image; a map of another size is resized first (bilinear when enlarging,
        area when shrinking; logged).
    A constant map gives a flat scene (depth 1, or the constant for 'metric') with a warning.
    """
    check("depth map kind", kind, DEPTH_KINDS)
    what = f"{kind} map"
    d = _as_map(depth_map, what)
    _check_finite(d, what)
    negative = int((d < 0).sum())
    if negative:
        raise CinemagraphError(
            f"{what} has {negative} negative values (min {float(d.min()):.4g}); disparity and depth must be >= 0: "
            "rescale it to 0..1 (disparity) or give positive depths")
    if size is not None and tuple(int(s) for s in size) != tuple(d.shape):
        shrink = size[0] <= d.shape[0] and size[1] <= d.shape[1]
        d = resize_map(d, size, what, "area" if shrink else "bilinear")
    source = f"external-{kind}"
    if kind == "disparity":
        if _is_constant(d):
            return _flat(d.shape, source, f"the {what}")
        return depth_from_prediction(d, source=source)
    zeros = int((d <= 0).sum())
    if zeros:
        raise CinemagraphError(
            f"{what} has {zeros} pixels with depth 0 of {d.numel()}; depth must be > 0 everywhere (0 often marks "
            "'unknown'): fill those holes, or if bright means near pass kind='disparity'")
    K = default_intrinsics(*d.shape)
    if kind == "metric":
        if _is_constant(d):
            _warn_flat(f"the {what}")
        return Depth(depth=d.clone(), K=K, disparity=None, source=source)
    if _is_constant(d):
        return _flat(d.shape, source, f"the {what}")
    depth = d / d.min()
    inv = 1.0 / depth
    disp = (inv - inv.min()) / (inv.max() - inv.min())
    return Depth(depth=depth, K=K, disparity=disp, source=source)


def _median(disp: torch.Tensor) -> np.ndarray:
    """5x5 median ('reflect' border) of an (H,W) map, float64."""
    return median_filter(disp.double().numpy(), size=MEDIAN_SIZE, mode="reflect")


def _reciprocal(disp: np.ndarray) -> torch.Tensor:
    """1 / max(disp, 1e-6) as float32 (float64 arithmetic)."""
    return torch.from_numpy(1.0 / np.maximum(disp, DISPARITY_FLOOR)).float()


def _as_map(x, what: str) -> torch.Tensor:
    """numpy/torch real (H,W) -> float32 CPU tensor."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        dtype, real = t.dtype, not (t.dtype == torch.bool or t.is_complex())
    else:
        a = np.asarray(x)
        dtype, real = a.dtype, a.dtype.kind in "iuf"
        t = torch.from_numpy(a.astype(np.float32)) if real else None
    if not real:
        raise CinemagraphError(f"{what}: expected a real-valued map, got dtype {dtype}")
    if t.ndim != 2:
        raise CinemagraphError(f"{what}: expected an (H,W) map, got shape {tuple(t.shape)}")
    return t.float()


def _check_finite(d: torch.Tensor, what: str) -> None:
    bad = int((~torch.isfinite(d)).sum())
    if bad:
        raise CinemagraphError(
            f"{what} has {bad} NaN/infinite values of {d.numel()}: fill them (e.g. with the nearest valid value) first")


def _is_constant(d: torch.Tensor) -> bool:
    return float(d.max()) - float(d.min()) <= RANGE_EPS


def _warn_flat(what: str) -> None:
    msg = f"{what} is constant: the scene is a flat plane and the camera motion gives no parallax"
    log.warning(msg)
    warnings.warn(msg, stacklevel=3)


def _flat(shape, source: str, what: str) -> Depth:
    _warn_flat(what)
    h, w = int(shape[0]), int(shape[1])
    return Depth(depth=torch.ones(h, w), K=default_intrinsics(h, w), disparity=torch.ones(h, w), source=source)
