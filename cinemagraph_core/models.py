"""The learned networks a run may use, each optional (None = that stage runs weight-free)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .choices import Precision


@dataclass
class Models:
    """Loaded networks: one field per stage of ``networks.STAGES`` (its ``field``), filled by its loader.

    dpt: depth (DPTDepthModel); motion: SPADE U-Net; inpainter: the learned 3D-Photo inpainter (a
    ``layers.inpaint.Inpainter``); feature_net: ResUNet; img_decoder: ImgDecoder.
    precision: how dpt, motion, feature_net and img_decoder run: ``'fp32'`` (default; the goldens'
    numbers) or ``'fp16'``/``'bf16'`` autocast on CUDA (faster, not bit-faithful).
    """

    dpt: Optional[Any] = None
    motion: Optional[Any] = None
    inpainter: Optional[Any] = None
    feature_net: Optional[Any] = None
    img_decoder: Optional[Any] = None
    precision: Precision = "fp32"
