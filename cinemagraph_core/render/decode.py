"""Learned decoding of a rendered frame: the two side maps -> RGB through the ImgDecoder (SPEC j)."""
from __future__ import annotations

import torch

from ..choices import Precision
from ..errors import CinemagraphError
from ..nets.img_decoder import ImgDecoder
from ..nets.precision import autocast
from ..types import SideMaps


def decode_learned(maps: SideMaps, decoder: ImgDecoder, precision: Precision = "fp32") -> torch.Tensor:
    """RGB of one frame from its two side maps.

    maps.forward / maps.backward: ``(C+1,H,W)`` = [rgba, features, normalised disparity] (the official
    decoder expects C+1 = 37); maps.time = t/N weights the backward side. H, W even.
    precision: ``'fp32'`` (default) or ``'fp16'``/``'bf16'`` on CUDA.
    Returns ``(3,H,W)`` float32 in (0,1) on the CPU.
    """
    c = decoder.firstconv.in_channels
    if maps.forward.shape[0] != c:
        raise CinemagraphError(
            f"the image decoder takes {c}-channel side maps ([rgba, {c - 5} features, disparity]), got "
            f"{maps.forward.shape[0]}; render the points with learned features (extract_features with the "
            f"feature net) or use the weight-free blend")
    device = next(decoder.parameters()).device
    with torch.no_grad(), autocast(device, precision):
        rgb = decoder(maps.forward[None].to(device), maps.backward[None].to(device), maps.time)
    return rgb[0].float().cpu()
