"""Mixed precision for the learned networks."""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ..errors import CinemagraphError

PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
"""Precision names -> autocast dtype (None = plain float32)."""


def autocast(device: torch.device | str, precision: str = "fp32") -> ContextManager:
    """Mixed-precision context for running a net: ``'fp32'`` (default, no autocast), ``'fp16'`` or
    ``'bf16'`` (CUDA only; on other devices the request is refused with a CinemagraphError)."""
    if precision not in PRECISIONS:
        raise CinemagraphError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    if torch.device(device).type != "cuda":
        raise CinemagraphError(f"precision {precision!r} needs a CUDA device (got {device}); use 'fp32' on the CPU")
    return torch.autocast("cuda", dtype=dtype)
