"""Every choice set of the pipeline, defined once: a ``Literal`` type and the tuple of its values.

``PipelineConfig``, ``RenderSettings``, the command line's ``choices=`` and the node dropdowns use
these; ``check`` is the one error for a value outside its set.
"""
from __future__ import annotations

from typing import Literal, get_args

from .errors import CinemagraphError

Inpaint = Literal["auto", "classical", "learned", "none"]
"""LDI inpainting: the 3D-Photo nets when present, else OpenCV ('auto'); OpenCV; the nets; nothing."""
Features = Literal["auto", "rgba", "learned"]
"""Point features: the ResUNet when present ('auto'); colour + alpha only (weight-free); the ResUNet."""
Motion = Literal["auto", "hints", "learned"]
"""Motion field: the motion net when present ('auto'); the arrows alone (weight-free); the motion net."""
Decoder = Literal["auto", "blend", "learned"]
"""Frames: the learned image decoder when present ('auto'); the two-side blend (weight-free); the decoder."""
DepthKind = Literal["disparity", "depth", "metric"]
"""How a given depth map reads: near = bright (relative); far = bright (relative); depths in scene units."""
Renderer = Literal["auto", "warp", "splat"]
"""Frame renderer (``pipeline.render_settings_for``): warp for the blend, splat for the decoder ('auto')."""
Backend = Literal["auto", "numpy", "torch", "pytorch3d"]
"""Splatter of the splat renderer (``render.view.resolve_backend``)."""
Compositing = Literal["auto", "official", "surface"]
"""Splat compositing (``RenderSettings.compositing``)."""
Border = Literal["zoom", "crop", "fill"]
"""What the moving camera uncovers at the frame border (``render.border``)."""
Precision = Literal["fp32", "fp16", "bf16"]
"""How the learned networks run: float32, or fp16/bf16 autocast on CUDA (``nets.precision``)."""

INPAINTS: tuple[Inpaint, ...] = get_args(Inpaint)
FEATURES: tuple[Features, ...] = get_args(Features)
MOTIONS: tuple[Motion, ...] = get_args(Motion)
DECODERS: tuple[Decoder, ...] = get_args(Decoder)
DEPTH_KINDS: tuple[DepthKind, ...] = get_args(DepthKind)
IMAGE_DEPTH_KINDS: tuple[DepthKind, ...] = tuple(k for k in DEPTH_KINDS if k != "metric")
"""The depth kinds of a depth IMAGE (0..1 grey values hold no metric depths)."""
RENDERERS: tuple[Renderer, ...] = get_args(Renderer)
BACKENDS: tuple[Backend, ...] = get_args(Backend)
COMPOSITINGS: tuple[Compositing, ...] = get_args(Compositing)
BORDERS: tuple[Border, ...] = get_args(Border)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)


def concrete(values: tuple[str, ...]) -> tuple[str, ...]:
    """The choices of a set other than ``'auto'`` (what a benchmark compares)."""
    return tuple(v for v in values if v != "auto")


def check(name: str, value: object, allowed: tuple[str, ...], meaning: str = "") -> str:
    """``value`` when it is one of ``allowed``; else a CinemagraphError naming the setting, its choices and
    (when given) what they mean."""
    if not (isinstance(value, str) and value in allowed):
        explain = f" ({meaning})" if meaning else ""
        raise CinemagraphError(f"{name} must be one of {', '.join(allowed)}{explain}, got {value!r}")
    return value
