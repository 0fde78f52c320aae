"""Depth from the DPT-Hybrid network with the official pre- and post-processing (SPEC b).

Chain: image -> 8-bit values as OpenCV reads them (float64 0..1) -> OpenCV bicubic resize to the
DPT size (aspect kept, multiples of 32, 'minimal' scaling) -> (x - 0.5) / 0.5 -> network ->
bicubic interpolation back to H x W (the official ``.pfm``) -> 16-bit min-max quantisation,
5x5 median, ``1 / max(d, 1e-6)`` (``depth.convert.depth_from_prediction``).

Memory: the network input has one side at about 384 px (the side whose scale factor is closer to
1: the short side of an image larger than 384 px both ways, the long side of a smaller one) and
the other side in proportion, so its size does not grow with the image resolution, only with the
aspect ratio (about 576 x aspect ViT tokens). Only the final interpolation is at full resolution.
"""
from __future__ import annotations

from typing import Optional, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..choices import Precision
from ..errors import CinemagraphError
from ..nets.dpt import MULTIPLE, DPTDepthModel
from ..nets.precision import autocast
from ..types import Depth
from .convert import depth_from_prediction

NET_SIZE = 384
"""Target side of the official DPT resize (``net_w = net_h = 384``)."""


def dpt_input_size(h: int, w: int, target: int = NET_SIZE, multiple: int = MULTIPLE) -> tuple[int, int]:
    """Network input ``(h', w')`` for an ``h x w`` image: the official 'minimal' resize.

    One scale for both axes, whichever of ``target/h`` and ``target/w`` is closer to 1; each side
    rounded (numpy, half to even) to a multiple of ``multiple`` -- and at least ``multiple`` (the
    official code would crash on a side rounded to 0 for a very elongated image).
    """
    scale_h, scale_w = target / h, target / w
    scale = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
    nh, nw = (max(multiple, int(np.round(scale * n / multiple)) * multiple) for n in (h, w))
    return nh, nw


def _check_image(image: torch.Tensor) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise CinemagraphError(f"DPT needs an RGB image tensor (3,H,W) with values 0..1; got {got}. "
                               f"Load images with cinemagraph_core.image_io.load_image")
    if not image.is_floating_point() or not bool(torch.isfinite(image).all()):
        raise CinemagraphError("DPT needs a finite floating-point image (3,H,W) with values 0..1; "
                               f"got dtype {image.dtype} or non-finite values")


def dpt_input(image: torch.Tensor) -> torch.Tensor:
    """The official DPT input for ``image`` ``(3,H,W)`` float 0..1 -> ``(1,3,h',w')`` float32 in ~[-1,1].

    Values are taken as the 8-bit levels OpenCV reads (``round(255 x) / 255`` in float64), resized
    with OpenCV's bicubic filter to :func:`dpt_input_size`, then normalised ``(x - 0.5) / 0.5``.
    """
    _check_image(image)
    h, w = int(image.shape[1]), int(image.shape[2])
    rgb = np.round(image.detach().cpu().double().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0) / 255.0
    nh, nw = dpt_input_size(h, w)
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_CUBIC)
    normalised = (resized - 0.5) / 0.5
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1), dtype=np.float32))[None]


def predict_disparity(image: torch.Tensor, model: DPTDepthModel,
                      device: Optional[Union[str, torch.device]] = None, precision: Precision = "fp32") -> torch.Tensor:
    """Raw DPT disparity at image resolution: ``(3,H,W)`` 0..1 -> ``(H,W)`` float32 (relative, >= 0).

    The network output is interpolated bicubically (align_corners False) back to H x W -- the
    official ``.pfm`` content. device: where the net runs (default: where ``model`` is; the model
    is moved there).
    precision: ``'fp32'`` (default, golden parity) or ``'fp16'``/``'bf16'`` autocast on CUDA.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    if next(model.parameters()).device != dev:
        model = model.to(dev)
    x = dpt_input(image).to(dev)
    with torch.inference_mode(), autocast(dev, precision):
        pred = model(x)
    return upsample_prediction(pred, (int(image.shape[1]), int(image.shape[2]))).cpu()


def upsample_prediction(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Network output ``(1,h',w')`` -> ``(H,W)`` float32: bicubic, align_corners False (official)."""
    return F.interpolate(pred.float()[:, None], size=size, mode="bicubic", align_corners=False)[0, 0]


def estimate_depth(image: torch.Tensor, model: DPTDepthModel,
                   device: Optional[Union[str, torch.device]] = None, precision: Precision = "fp32") -> Depth:
    """Depth of ``image`` ``(3,H,W)`` 0..1 from DPT, processed exactly as the official demo.

    Returns ``Depth`` (source ``'dpt'``): depth ``(H,W)`` float32 in [1, 1e6] (nearest = 1), the
    quantised disparity 0..1 it came from, and the default intrinsics. See :func:`predict_disparity`
    for ``device`` and ``precision``.
    """
    return depth_from_prediction(predict_disparity(image, model, device, precision), source="dpt")
