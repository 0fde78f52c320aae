"""Inpainting backends of the sequential layering (SPEC f): one interface, three implementations.

Every backend fills the ``holes`` of a layer from its ``context`` (the eroded pixels of this and all
farther layers). All tensors are ``(1,C,H,W)`` float32: ``depth`` the full source depth, ``holes`` and
``context`` 0/1, ``context_rgb = rgb * context``.

* ``LearnedInpainter``: the official 3D-Photo depth and colour nets.
* ``ClassicalInpainter``: weight-free; OpenCV Navier-Stokes inpainting of colour and log-depth.
* ``NoInpainter``: leaves the holes empty (ablation "without inpainting").

The depth of every backend goes through the same official ordering rules (``finish_depth``), and
the alpha is the same 3x3 opening of ``holes + context`` (``NoInpainter``: the context only).
"""
from __future__ import annotations

from typing import Optional, Protocol

import cv2
import numpy as np
import torch

from ..ops.filters import gaussian_blur, opening
from ..weights import PathLike
from .refine import bbox_bounds

FILL_RADIUS = 3
"""Neighbourhood radius (px) of OpenCV's Navier-Stokes inpainting."""


class Inpainter(Protocol):
    """What ``build_ldi`` needs from an inpainting backend."""

    name: str

    def inpaint_depth(self, depth: torch.Tensor, holes: torch.Tensor, context: torch.Tensor,
                      depth_range: tuple[float, float]) -> torch.Tensor:
        """Layer depth ``(1,1,H,W)``: context keeps ``depth``, holes get a depth behind the nearer surface."""

    def inpaint_rgb(self, holes: torch.Tensor, context: torch.Tensor, context_rgb: torch.Tensor) -> torch.Tensor:
        """Layer RGBA ``(1,4,H,W)``: filled colour and the layer's alpha."""


def zero_mean_log_depth(depth: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Official depth-net input: ``x = (log(depth + 1e-8) * context - mu) * context``.

    mu is the mean of ``log(depth + 1e-8) * context`` over the pixels with context > 0 (0 if none).
    depth, context: ``(1,1,H,W)``. Returns (x ``(1,1,H,W)``, mu 0-d tensor).
    """
    ld = torch.log(depth + 1e-8) * context
    inside = ld[context > 0]
    mu = inside.mean() if inside.numel() else torch.zeros((), dtype=ld.dtype)
    return (ld - mu) * context, mu


def finish_depth(raw: torch.Tensor, depth: torch.Tensor, context: torch.Tensor,
                 depth_range: tuple[float, float]) -> torch.Tensor:
    """Official post-processing of an inpainted depth (all ``(1,1,H,W)``; depth_range = (b_i, b_i+1)).

    Context pixels take ``depth``; 3x3 Gaussian blur (sigma 1.5, reflect); context pixels take
    ``depth`` again; wherever the result is nearer than the source depth it becomes ``depth * 1.01``;
    finally at least ``0.9 * b_i``.
    """
    keep = context > 0.5
    d = torch.where(keep, depth, raw)
    d = torch.where(keep, depth, gaussian_blur(d, 3, 1.5))
    d = torch.where(d < depth, depth * 1.01, d)
    return torch.clamp(d, min=0.9 * float(depth_range[0]))


def layer_alpha(holes: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Official layer alpha: 3x3 opening of ``holes + context``, ``(1,1,H,W)``."""
    return opening(holes + context, 3)


class LearnedInpainter:
    """The official 3D-Photo partial-convolution nets (``depth-model.pth``, ``color-model.pth``)."""

    name = "learned"

    def __init__(self, depth_net: torch.nn.Module, color_net: torch.nn.Module) -> None:
        self.depth_net = depth_net.eval()
        self.color_net = color_net.eval()

    @classmethod
    def from_files(cls, depth_model_path: PathLike, color_model_path: PathLike,
                   device: torch.device | str = "cpu") -> "LearnedInpainter":
        """Load both nets strictly from the official files (or converted .safetensors) onto ``device``."""
        from ..nets.inpaint_nets import load_color_net, load_depth_net

        return cls(load_depth_net(depth_model_path).to(device), load_color_net(color_model_path).to(device))

    @staticmethod
    def _run(net: torch.nn.Module, values: torch.Tensor, holes: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The net's padded forward on the net's device; the result comes back to the inputs' device."""
        dev = next(net.parameters()).device
        out = net.forward_padded(values.to(dev), torch.zeros_like(holes, device=dev), context.to(dev), holes.to(dev))
        return out.to(values.device)

    @torch.no_grad()
    def inpaint_depth(self, depth: torch.Tensor, holes: torch.Tensor, context: torch.Tensor,
                      depth_range: tuple[float, float]) -> torch.Tensor:
        """Official ``inpaint_depth``: the net predicts log depth around the context mean; see ``finish_depth``."""
        x, mu = zero_mean_log_depth(depth, context)
        out = self._run(self.depth_net, x, holes, context)
        return finish_depth(torch.exp(out + mu), depth, context, depth_range)

    @torch.no_grad()
    def inpaint_rgb(self, holes: torch.Tensor, context: torch.Tensor, context_rgb: torch.Tensor) -> torch.Tensor:
        """Official ``inpaint_rgb``: ``[net_rgb * holes + context_rgb, opening(holes + context)]``."""
        out = self._run(self.color_net, context_rgb, holes, context)
        return torch.cat([out * holes + context_rgb, layer_alpha(holes, context)], 1)


def _ns_fill(values: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """OpenCV Navier-Stokes fill of the ``unknown (h,w) uint8`` pixels of ``values (h,w,C)`` float32, per channel."""
    return np.stack([cv2.inpaint(np.ascontiguousarray(values[..., c]), unknown, FILL_RADIUS, cv2.INPAINT_NS)
                     for c in range(values.shape[-1])], -1)


class ClassicalInpainter:
    """Weight-free inpainting with OpenCV's Navier-Stokes method, in float32 (deterministic).

    Navier-Stokes rather than Telea: measured on 0..1 float32 data, OpenCV's Telea is unusable (fills
    off by > 1) and on 8-bit data it drifts (a flat colour came back up to 0.02 off) and quantises;
    Navier-Stokes in float32 reproduces flat regions exactly, had the lowest error on smooth test
    content, and costs about as much (0.16 s for a 96k-pixel hole, three channels). Colour is filled
    from the context colour; depth in log space from the context depth (the farther layers only),
    then ``finish_depth`` applies the official ordering rules. Work happens in the bounding box of
    the holes grown by the fill radius, so cost follows the hole area, not the image size.
    """

    name = "classical"

    @staticmethod
    def _fill(values: torch.Tensor, context: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        """``values (1,C,H,W)`` filled from the context pixels around the holes.

        The working box is the holes' bounding box grown by the fill radius + 1 px; every
        non-context pixel in it is filled (so no empty pixel bleeds in, and the pixels next to a
        hole get sensible values for the later 3x3 blur). context, holes: ``(1,1,H,W)`` 0/1.
        """
        out = values.clone()
        box = bbox_bounds(holes[0, 0] > 0.5, FILL_RADIUS + 1)
        if box is None:
            return out
        y0, y1, x0, x1 = box
        y1, x1 = y1 + 1, x1 + 1
        crop = values[0, :, y0:y1, x0:x1].permute(1, 2, 0).numpy().astype(np.float32)
        unknown = (context[0, 0, y0:y1, x0:x1] <= 0.5).numpy().astype(np.uint8)
        filled = torch.from_numpy(_ns_fill(crop, unknown)).permute(2, 0, 1)
        inside = torch.from_numpy(unknown.astype(bool))
        out[0, :, y0:y1, x0:x1] = torch.where(inside, filled, out[0, :, y0:y1, x0:x1])
        return out

    def inpaint_depth(self, depth: torch.Tensor, holes: torch.Tensor, context: torch.Tensor,
                      depth_range: tuple[float, float]) -> torch.Tensor:
        """Log-depth fill of the holes from the context, then ``finish_depth``."""
        raw = torch.exp(self._fill(torch.log(depth) * context, context, holes))
        return finish_depth(raw, depth, context, depth_range)

    def inpaint_rgb(self, holes: torch.Tensor, context: torch.Tensor, context_rgb: torch.Tensor) -> torch.Tensor:
        """Fill of the context colour inside the holes; alpha as the official one."""
        rgb = self._fill(context_rgb, context, holes).clamp(0.0, 1.0)
        return torch.cat([rgb * holes + context_rgb, layer_alpha(holes, context)], 1)


class NoInpainter:
    """Leaves the holes empty: each layer after the first keeps only its context pixels."""

    name = "none"

    def inpaint_depth(self, depth: torch.Tensor, holes: torch.Tensor, context: torch.Tensor,
                      depth_range: tuple[float, float]) -> torch.Tensor:
        """The source depth under the official ordering rules (holes get no alpha, so it does not matter there)."""
        return finish_depth(depth, depth, context, depth_range)

    def inpaint_rgb(self, holes: torch.Tensor, context: torch.Tensor, context_rgb: torch.Tensor) -> torch.Tensor:
        """``[context_rgb, context]``."""
        return torch.cat([context_rgb, context], 1)


def default_inpainter(inpainter: Optional[Inpainter]) -> Inpainter:
    """``inpainter`` or, when None, a ``ClassicalInpainter``."""
    return ClassicalInpainter() if inpainter is None else inpainter
