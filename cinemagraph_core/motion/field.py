"""The Eulerian motion field at image resolution (SPEC d post-processing) without network weights.

``postprocess_motion`` is the official treatment of a motion predicted in the S x S motion space:
mask, ONE 15x15 box blur (the official loop of 7 always blurs the original flow), mask, rescale to
image px, bilinear resize. The weight-free field ``motion_from_hints`` feeds the S-space hint map
through the same steps in place of the network output.

``speed`` everywhere is the official ``flow_scale``: the flow is DIVIDED by it (2 = half as fast).
"""
from __future__ import annotations

import logging
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..ops.filters import box_blur
from ..types import MotionField, MotionHints
from .hints import MOTION_SIZE, hints_to_motion_space

log = logging.getLogger("cinemagraph")

BLUR_KERNEL = 15


def postprocess_motion(pred: torch.Tensor, mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """S-space motion ``(1,2,S,S)`` px + mask ``(1,1,S,S)`` 0..1 -> ``(2,h,w)`` float32 px/frame.

    flow = pred * mask; 15x15 box blur (zero border); * mask; x * w/S_w, y * h/S_h; bilinear resize
    to size = (h, w), align_corners False.
    """
    if pred.ndim != 4 or pred.shape[:2] != (1, 2):
        raise CinemagraphError(f"motion prediction: expected (1,2,S,S), got {tuple(pred.shape)}")
    if mask.ndim != 4 or mask.shape[:2] != (1, 1) or mask.shape[2:] != pred.shape[2:]:
        raise CinemagraphError(f"motion mask: expected (1,1,{pred.shape[2]},{pred.shape[3]}), got {tuple(mask.shape)}")
    h, w = int(size[0]), int(size[1])
    sh, sw = int(pred.shape[2]), int(pred.shape[3])
    m = mask.float()
    flow = box_blur(pred.float() * m, BLUR_KERNEL) * m
    flow = torch.cat([flow[:, :1] * (w / sw), flow[:, 1:] * (h / sh)], dim=1)
    return F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)[0]


def motion_from_hints(hints: MotionHints, size: tuple[int, int], speed: float = 1.0,
                      motion_size: int = MOTION_SIZE) -> MotionField:
    """Weight-free motion ``(2,h,w)`` px/frame: the S-space hint map post-processed as a prediction, / speed.

    The hints may have been drawn at another resolution than size = (h, w): the S-space round trip
    converts their px into image px.
    """
    _check_speed(speed)
    if not hints.arrows:
        raise CinemagraphError("no arrows: the motion without the motion network comes only from the arrows; "
                               "draw at least one arrow from where the fluid is to where it flows")
    mask, hint = hints_to_motion_space(hints, motion_size)
    return MotionField(flow=postprocess_motion(hint, mask, size) / speed, source="hints")


def explicit_motion(flow, size: tuple[int, int]) -> MotionField:
    """A caller-given flow as a MotionField.

    flow: ``(2,H,W)`` or ``(H,W,2)`` (x, y) px/frame, numpy or torch, finite. A flow of another
    size than size = (h, w) is resized (bilinear when enlarging, area when shrinking) and its
    vectors scaled to the new px (logged).
    """
    t = flow.detach().cpu() if isinstance(flow, torch.Tensor) else torch.from_numpy(np.asarray(flow, dtype=np.float32))
    if t.ndim == 3 and t.shape[0] != 2 and t.shape[2] == 2:
        t = t.permute(2, 0, 1)
    if t.ndim != 3 or t.shape[0] != 2:
        raise CinemagraphError(f"flow: expected (2,H,W) or (H,W,2) (x, y) px/frame, got {tuple(t.shape)}")
    t = t.float()
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise CinemagraphError(f"flow has {bad} NaN/infinite values of {t.numel()}: replace them (e.g. with 0)")
    h, w = int(size[0]), int(size[1])
    fh, fw = int(t.shape[1]), int(t.shape[2])
    if (fh, fw) != (h, w):
        log.info("flow is %dx%d, the image is %dx%d: resizing it and scaling its vectors", fw, fh, w, h)
        shrink = h <= fh and w <= fw
        kw = {} if shrink else {"align_corners": False}
        t = F.interpolate(t[None], size=(h, w), mode="area" if shrink else "bilinear", **kw)[0]
        t = torch.stack([t[0] * (w / fw), t[1] * (h / fh)])
    return MotionField(flow=t.contiguous(), source="explicit")


def scale_speed(field: MotionField, speed: float) -> MotionField:
    """The same field divided by ``speed`` (official flow_scale: 2 = half as fast)."""
    _check_speed(speed)
    return MotionField(flow=field.flow / speed, source=field.source)


def _check_speed(speed: float) -> None:
    if not (isinstance(speed, numbers.Real) and not isinstance(speed, bool) and math.isfinite(speed) and speed > 0):
        raise CinemagraphError(f"speed must be a positive number (1 = official speed, 2 = half as fast), got {speed}")
