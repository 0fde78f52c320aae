"""Image metrics on valid pixels: PSNR, SSIM (written here) and LPIPS when available locally.

Images are ``(3,H,W)`` float arrays 0..1 (clipped before measuring); ``valid`` is ``(H,W)`` bool.
"""
from __future__ import annotations

import importlib.util
import math
import os
from typing import Callable, Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
SSIM_C1, SSIM_C2 = 0.01**2, 0.03**2
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"


def squared_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel sum over channels of the squared difference ``(H,W)`` float64 (inputs clipped to 0..1)."""
    d = np.clip(np.asarray(pred, np.float64), 0, 1) - np.clip(np.asarray(gt, np.float64), 0, 1)
    return (d * d).sum(0)


def psnr_from_sse(sse: float, count: int) -> float:
    """PSNR (dB, peak 1) of a summed squared error over ``count`` values; inf for a perfect match."""
    if count == 0:
        return math.nan
    mse = sse / count
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def psnr(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """PSNR in dB over the valid pixels (all three channels)."""
    return psnr_from_sse(float(squared_error(pred, gt)[valid].sum()), 3 * int(valid.sum()))


DETAIL_SIGMA = 1.0
"""Gaussian sigma (px) below which image content counts as fine detail (``fluid_detail``)."""


def fluid_detail(pred: np.ndarray, gt: np.ndarray, fluid: np.ndarray) -> tuple[float, float]:
    """High-frequency energy of a frame and of its ground truth on the fluid: the sums of the squared
    difference between each image and its Gaussian blur (sigma ``DETAIL_SIGMA``), over the fluid pixels
    whose 5x5 neighbourhood is all fluid (the fluid's outline is not its texture).

    Their ratio (pooled over frames) is 1 for a frame with the texture's own detail, above 1 where a
    renderer adds fine structure that is not there (a dot grid, seams, speckle), below 1 where it washes
    the texture out (blur, blending two copies).
    """
    inner = cv2.erode(np.asarray(fluid, np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if not inner.any():
        return 0.0, 0.0

    def energy(img: np.ndarray) -> float:
        x = np.clip(np.asarray(img, np.float32), 0, 1).transpose(1, 2, 0)
        high = x - cv2.GaussianBlur(x, (0, 0), DETAIL_SIGMA, borderType=cv2.BORDER_REFLECT)
        return float((high[inner].astype(np.float64) ** 2).sum())

    return energy(pred), energy(gt)


def _gaussian_window() -> torch.Tensor:
    r = torch.arange(SSIM_WINDOW, dtype=torch.float64) - SSIM_WINDOW // 2
    g = torch.exp(-(r**2) / (2 * SSIM_SIGMA**2))
    return g / g.sum()


def _filter(x: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of ``(C,1,H,W)`` without padding -> ``(C,1,H-10,W-10)``."""
    g = _gaussian_window()
    return F.conv2d(F.conv2d(x, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))


def ssim_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """SSIM per pixel, mean over channels ``(H,W)`` float64; NaN within 5 px of the image border.

    Gaussian window 11 x 11, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2 (data range 1), statistics per channel.
    """
    x = torch.from_numpy(np.clip(np.asarray(pred, np.float64), 0, 1))[:, None]
    y = torch.from_numpy(np.clip(np.asarray(gt, np.float64), 0, 1))[:, None]
    mx, my = _filter(x), _filter(y)
    vx = _filter(x * x) - mx * mx
    vy = _filter(y * y) - my * my
    cxy = _filter(x * y) - mx * my
    s = ((2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)) / ((mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2))
    h, w = x.shape[2:]
    out = np.full((h, w), np.nan)
    r = SSIM_WINDOW // 2
    out[r:h - r, r:w - r] = s.mean(0)[0].numpy()
    return out


def window_valid(valid: np.ndarray) -> np.ndarray:
    """Pixels whose whole SSIM window lies inside the image and on valid pixels ``(H,W)`` bool."""
    v = torch.from_numpy(np.asarray(valid, np.float64))[None, None]
    full = F.avg_pool2d(v, SSIM_WINDOW, stride=1) > 1 - 1e-9
    out = np.zeros(valid.shape, bool)
    r = SSIM_WINDOW // 2
    out[r:valid.shape[0] - r, r:valid.shape[1] - r] = full[0, 0].numpy()
    return out


def ssim(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """Mean SSIM over the pixels whose 11 x 11 window is entirely valid (NaN if there are none)."""
    keep = window_valid(valid)
    return float(ssim_map(pred, gt)[keep].mean()) if keep.any() else math.nan


def lpips_metric() -> tuple[Optional[Callable[[np.ndarray, np.ndarray, np.ndarray], float]], str]:
    """LPIPS (AlexNet) on valid pixels when the ``lpips`` package and its backbone file are already local.

    Returns ``(metric or None, note)``; nothing is ever downloaded.
    """
    if importlib.util.find_spec("lpips") is None:
        return None, "LPIPS not computed: the `lpips` package is not installed (nothing is downloaded)."
    backbone = os.path.join(torch.hub.get_dir(), "checkpoints", ALEXNET_FILE)
    if not os.path.isfile(backbone):
        return None, f"LPIPS not computed: its AlexNet weights {backbone} are not present (nothing is downloaded)."
    import lpips

    net = lpips.LPIPS(net="alex", spatial=True, verbose=False).eval()

    def metric(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
        to_t = lambda a: torch.from_numpy(np.clip(np.asarray(a, np.float32), 0, 1) * 2 - 1)[None]
        with torch.no_grad():
            dist = net(to_t(pred), to_t(gt))[0, 0].numpy()
        return float(dist[valid].mean())

    return metric, "LPIPS: AlexNet, spatial map averaged over valid pixels."
