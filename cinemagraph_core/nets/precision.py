"""Mixed precision for the learned networks."""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ..choices import PRECISIONS, Precision, check
from ..errors import CinemagraphError

AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
"""The half precisions (``choices.PRECISIONS`` other than fp32) -> their autocast dtype."""


def autocast(device: torch.device | str, precision: Precision = "fp32") -> ContextManager:
    """Mixed-precision context for running a net: ``'fp32'`` (default, no autocast), ``'fp16'`` or
    ``'bf16'`` (CUDA only; on other devices the request is refused with a CinemagraphError)."""
    check("precision", precision, PRECISIONS)
    if precision == "fp32":
        return contextlib.nullcontext()
    if torch.device(device).type != "cuda":
        raise CinemagraphError(f"precision {precision!r} needs a CUDA device (got {device}); use 'fp32' on the CPU")
    return torch.autocast("cuda", dtype=AUTOCAST_DTYPES[precision])
