"""Per-layer 2D features of the LDI for the point cloud (SPEC g)."""
from __future__ import annotations

import logging
from typing import Optional

import torch

from ..choices import Precision
from ..errors import CinemagraphError
from ..nets.resunet import ResUNet
from ..nets.precision import autocast
from ..types import LDI, LayerFeatures

log = logging.getLogger("cinemagraph")


def extract_features(ldi: LDI, net: Optional[ResUNet] = None, chunk: Optional[int] = None,
                     precision: Precision = "fp32") -> LayerFeatures:
    """Feature maps of every LDI layer.

    net None -> ``LayerFeatures(None, 'rgba')`` (the weight-free variant: points carry RGBA only).
    Otherwise the ResUNet runs on ``ldi.rgba`` ``(L,4,H,W)`` and returns ``(L,32,H/4,W/4)`` float32 on
    the CPU, source ``'learned'``.

    The net's BatchNorms use the statistics of the batch, so a layer's features depend on the layers
    passed with it. Like the official demo, all layers go in ONE batch by default (chunk None); a
    ``chunk`` smaller than L bounds the memory but changes the features (no longer the official
    result). precision: ``'fp32'`` (default) or ``'fp16'``/``'bf16'`` on CUDA.
    """
    if net is None:
        return LayerFeatures(None, "rgba")
    if chunk is not None and chunk < 1:
        raise CinemagraphError(f"chunk must be a positive number of layers or None (all at once), got {chunk}")
    x = ldi.rgba
    step = x.shape[0] if chunk is None else chunk
    if step < x.shape[0]:
        log.info("feature net run on %d layers in chunks of %d: batch statistics differ from the official "
                 "all-layers-at-once result", x.shape[0], step)
    device = next(net.parameters()).device
    with torch.no_grad(), autocast(device, precision):
        maps = [net(x[i:i + step].to(device)).float().cpu() for i in range(0, x.shape[0], step)]
    return LayerFeatures(torch.cat(maps).contiguous(), "learned")
