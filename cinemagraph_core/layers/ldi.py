"""Sequential layering of an image into a layered depth image (SPEC f "Sequential inpainting")."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..errors import CinemagraphError
from ..ops.filters import erode
from ..progress import ProgressFn
from ..types import LDI
from .bins import as_depth_map, depth_bins
from .inpaint import Inpainter, default_inpainter
from .refine import inpainting_bbox, refine_near_depth_discontinuity

CONTEXT_KERNEL = 10
"""Size of the (even) erosion window of the context and of the thin-layer test."""
MIN_LAYER_PIXELS = 10
"""A layer whose eroded pixel count is below this is skipped."""
BBOX_BORDER = 40
"""Growth (px) of the context bounding box that limits the holes."""
BEHIND = 1.05
"""Ordering fix: a pixel not behind the nearer layers is pushed to 1.05 x their depth."""


def _check_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if hasattr(image, "shape") else type(image).__name__
        raise CinemagraphError(f"image must be a (3,H,W) float tensor in 0..1, got {shape}")
    if tuple(image.shape[1:]) != size:
        raise CinemagraphError(
            f"image is {tuple(image.shape[1:])} (H,W) but the depth map is {size}; resize the depth map "
            f"to the image size first")
    return image.detach().to(device="cpu", dtype=torch.float32)


def _check_bins(bins: np.ndarray) -> np.ndarray:
    b = np.asarray(bins, dtype=np.float64).reshape(-1)
    if b.size < 2 or not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
        raise CinemagraphError(
            f"bins must be at least two finite, strictly increasing depth edges, got {b.tolist()}; "
            f"leave bins=None to compute them with depth_bins()")
    return b


def _bin_mask(d: torch.Tensor, b: np.ndarray, i: int) -> torch.Tensor:
    """Pixels of bin i, ``b[i] <= d < b[i+1]``, with the last bin closed (``d <= b[-1]``).

    Officially the last bin is open too; as ``b[-1] = max + 1e-6`` rounds to ``max`` in float32 for
    depths >= 32, the farthest pixels then belong to no bin (a single far plane would give an empty
    LDI, and a far layer could fail the thin-layer test). Closing it changes nothing else.
    """
    upper = d <= b[i + 1] if i == len(b) - 2 else d < b[i + 1]
    return ((d >= b[i]) & upper).float()


def build_ldi(image: torch.Tensor, depth: torch.Tensor, inpainter: Optional[Inpainter] = None,
              bins: Optional[np.ndarray] = None, progress: Optional[ProgressFn] = None,
              official_far_cut: bool = False) -> LDI:
    """Split an image into depth layers and inpaint what each layer's nearer layers hide.

    image: ``(3,H,W)`` float32 0..1; depth: ``(H,W)`` float32 depth units (> 0.01); inpainter: a
    backend (default ``ClassicalInpainter``); bins: depth-bin edges (default ``depth_bins(depth)``);
    progress: called once per bin.
    Layer 0 is the nearest bin, cut out as is. Every later bin i (unless thin) gets a context (10x10
    erosion of all pixels at depth >= b_i), holes (the rest of the context's box grown by 40 px),
    inpainted depth and colour, a cut at the bin's far edge (not for the last bin), edge refinement,
    and a depth pushed behind the nearer layers. Returns an ``LDI`` with rgba ``(L,4,H,W)``, depth
    ``(L,1,H,W)`` (not clamped, see ``clamp_depth``), mask ``(L,1,H,W)`` (pre-inpainting visibility).
    official_far_cut: keep the official strict ``depth < b[-1]`` in the last layer's visibility mask.
    As ``b[-1] = max + 1e-6`` rounds to ``max`` in float32 for depths >= 32, the farthest pixels (a
    sky, a far wall) are then in no mask, so they never move. Off by default (the mask of the last
    layer is closed, like its alpha); on to reproduce the official numbers.
    """
    d = as_depth_map(depth)
    rgb = _check_image(image, tuple(d.shape))[None]
    b = depth_bins(d) if bins is None else _check_bins(bins)
    inp = default_inpainter(inpainter)
    d = d[None, None]
    n = len(b) - 1
    rgbas, depths, masks = [], [], []
    if progress is not None:
        progress(0, n)

    alpha = _bin_mask(d, b, 0)
    rgbas.append(torch.cat([rgb * alpha, alpha], 1))
    depths.append(refine_near_depth_discontinuity(d, alpha))
    masks.append(alpha)
    pre_depth = d * alpha
    if progress is not None:
        progress(1, n)

    for i in range(1, n):
        alpha = _bin_mask(d, b, i)
        if float(erode(alpha, CONTEXT_KERNEL).sum()) >= MIN_LAYER_PIXELS:
            context = erode((d >= b[i]).float(), CONTEXT_KERNEL)
            holes = (1.0 - context) * inpainting_bbox(context, BBOX_BORDER)
            layer_depth = inp.inpaint_depth(d, holes, context, (float(b[i]), float(b[i + 1])))
            closed = i == n - 1 and not official_far_cut
            near = (layer_depth <= b[i + 1] if closed else layer_depth < b[i + 1]).float()
            rgba = inp.inpaint_rgb(holes, context, rgb * context)
            if i < n - 1:
                rgba = rgba * near
                layer_depth = refine_near_depth_discontinuity(layer_depth, rgba[:, 3:4])
            solid = rgba[:, 3:4] > 0
            layer_depth = torch.where(solid & (layer_depth <= pre_depth), BEHIND * pre_depth, layer_depth)
            pre_depth = torch.where(solid, layer_depth, pre_depth)
            rgbas.append(rgba)
            depths.append(layer_depth)
            masks.append(context * near)
        if progress is not None:
            progress(i + 1, n)
    return LDI(rgba=torch.cat(rgbas), depth=torch.cat(depths), mask=torch.cat(masks), bins=b,
               inpainter=inp.name)


def single_layer_ldi(image: torch.Tensor, depth: torch.Tensor) -> LDI:
    """One layer holding the whole image (the naive point cloud without layering or inpainting).

    image: ``(3,H,W)`` float32 0..1; depth ``(H,W)``. Returns an LDI with rgba ``(1,4,H,W)`` (alpha 1),
    depth ``(1,1,H,W)``, mask ones, bins ``[min - 1e-6, max + 1e-6]``.
    """
    d = as_depth_map(depth)
    rgb = _check_image(image, tuple(d.shape))
    ones = torch.ones(1, 1, *d.shape)
    bins = np.array([float(d.min()) - 1e-6, float(d.max()) + 1e-6], dtype=np.float64)
    return LDI(rgba=torch.cat([rgb[None], ones], 1), depth=d[None, None].clone(), mask=ones, bins=bins,
               inpainter="none")


def clamp_depth(depth: torch.Tensor) -> torch.Tensor:
    """Official ``apply_scale_shift(d, 1, 0)``: ``1 / max(1 / max(d, 1e-3), 1e-3)``, i.e. clamp to [1e-3, 1000].

    Any shape, float32. Zero depth outside a layer becomes 1e-3; depth above 1000 becomes 1000.
    """
    disp = 1.0 / torch.clamp(depth, min=1e-3)
    return 1.0 / torch.clamp(disp, min=1e-3)
