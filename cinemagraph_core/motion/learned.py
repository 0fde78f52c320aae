"""Motion from the learned SPADE U-Net (SPEC a, d): image + mask + hints -> Eulerian flow."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch
from PIL import Image

from ..choices import Precision
from ..errors import CinemagraphError
from ..image_io import as_rgb
from ..nets.precision import autocast
from ..nets.spade_unet import SIZE_MULTIPLE, SPADEUnetMaskMotion
from ..types import MotionField, MotionHints
from .field import postprocess_motion
from .hints import MOTION_SIZE, hints_to_motion_space


def motion_net_input(image: Union[torch.Tensor, np.ndarray], motion_size: int = MOTION_SIZE) -> torch.Tensor:
    """The official motion-net image: 8-bit RGB, PIL bicubic (antialiased) squash to ``motion_size``
    squared, then ``(x/255 - 0.5) / 0.5``.

    image: anything ``image_io.as_rgb`` takes, e.g. ``(3,H,W)`` float32 0..1 (rounded to 8 bits, as
        the official code reads the PNG) or ``(H,W,3)`` uint8. Returns ``(1,3,S,S)`` float32 in [-1, 1].
    """
    if motion_size <= 0 or motion_size % SIZE_MULTIPLE:
        raise CinemagraphError(f"motion_size must be a positive multiple of {SIZE_MULTIPLE} (official 768), "
                               f"got {motion_size}")
    rgb8 = (as_rgb(image, "motion net image") * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    pil = Image.fromarray(rgb8).resize((motion_size, motion_size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    return (x - 0.5) / 0.5


def learned_motion(image: Union[torch.Tensor, np.ndarray], hints: MotionHints, net: SPADEUnetMaskMotion,
                   size: Optional[tuple[int, int]] = None, speed: float = 1.0,
                   motion_size: int = MOTION_SIZE, precision: Precision = "fp32") -> MotionField:
    """Predict the motion field with the learned net (the official demo's path).

    image: ``(3,H,W)`` float32 0..1 or ``(H,W,3)`` uint8 (see ``motion_net_input``); hints: mask and
    arrows at the image size; net: the loaded motion net (on any device); size: output ``(h, w)``
    (default: the hints' size); speed: the official ``flow_scale`` — the flow is divided by it (> 1
    slower); precision: ``'fp32'`` (default) or ``'fp16'``/``'bf16'`` on CUDA.
    Returns a MotionField ``(2,h,w)`` px/frame, source ``'learned'``.
    """
    if not speed > 0:
        raise CinemagraphError(f"speed (flow_scale) must be > 0, got {speed}")
    h, w = hints.size if size is None else size
    device = next(net.parameters()).device
    rgb = motion_net_input(image, motion_size).to(device)
    mask, hint = hints_to_motion_space(hints, motion_size)
    with torch.no_grad(), autocast(device, precision):
        pred = net(rgb, mask.to(device), hint.to(device))
    flow = postprocess_motion(pred.float().cpu(), mask.cpu(), (h, w)) / speed
    return MotionField(flow=flow.contiguous(), source="learned")
