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
from .inpaint import Inpainter, LearnedInpainter, default_inpainter
from .refine import inpainting_bbox, refine_near_depth_discontinuity

CONTEXT_KERNEL = 10
"""Size of the (even) erosion window of the context and of the thin-layer test."""
MIN_LAYER_PIXELS = 10
"""A layer whose eroded pixel count is below this is skipped."""
BBOX_BORDER = 40
"""Growth (px) of the context bounding box that limits the holes."""
BEHIND = 1.05
"""Ordering fix: a pixel not behind the nearer layers is pushed to 1.05 x their depth."""
EDGE_KERNEL = 3
"""With ``keep_visible``, kept pixels within this erosion window of a nearer layer (the ring of 1 px that
touches it, mixed colours and uncertain depth) do not guide the inpainting."""


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


def keeps_visible(inpainter: Inpainter, keep_visible: Optional[bool] = None) -> bool:
    """Whether ``build_ldi`` keeps the visible pixels of its hole regions (see there).

    ``keep_visible`` None (auto) means on for the weight-free backends (classical, none) and off for
    the learned 3D-Photo nets, whose layers feed the learned features and decoder that were trained
    on the official (repainted) layers and that reproduce the official frames.
    """
    if keep_visible is None:
        return inpainter.name != LearnedInpainter.name
    return bool(keep_visible)


def _inpaint_layer(inp: Inpainter, rgb: torch.Tensor, d: torch.Tensor, far: torch.Tensor, context: torch.Tensor,
                   holes: torch.Tensor, depth_range: tuple[float, float],
                   keep: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Depth ``(1,1,H,W)``, RGBA ``(1,4,H,W)`` and visibility ``(1,1,H,W)`` of one layer before its far cut.

    rgb ``(1,3,H,W)``, d ``(1,1,H,W)``; far, context, holes ``(1,1,H,W)`` 0/1 (official, SPEC f).
    Officially the inpainter fills the holes from the context and the visibility is the context.
    With ``keep`` the pixels of ``far`` (visible at this layer's depth or farther) outside the context
    get the input colour, depth and alpha 1 and count as visible (the holes' box never reaches the
    last row and column, so some of them are not holes); those not touching a nearer layer
    (``EDGE_KERNEL``) also join the context the inpainter fills from, so a fill continues the pixels
    next to it.
    """
    if not keep:
        layer_depth = inp.inpaint_depth(d, holes, context, depth_range)
        return layer_depth, inp.inpaint_rgb(holes, context, rgb * context), context
    seen = far * (1.0 - context)
    guide = erode(far, EDGE_KERNEL) * seen
    fill_context, fill_holes = context + guide, holes * (1.0 - guide)
    layer_depth = inp.inpaint_depth(d, fill_holes, fill_context, depth_range)
    rgba = inp.inpaint_rgb(fill_holes, fill_context, rgb * fill_context)
    shown = seen > 0.5
    layer_depth = torch.where(shown, d, layer_depth)
    rgba = torch.where(shown, torch.cat([rgb, torch.ones_like(d)], 1), rgba)
    return layer_depth, rgba, context + seen


def build_ldi(image: torch.Tensor, depth: torch.Tensor, inpainter: Optional[Inpainter] = None,
              bins: Optional[np.ndarray] = None, progress: Optional[ProgressFn] = None,
              official_far_cut: bool = False, keep_visible: Optional[bool] = None) -> LDI:
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
    keep_visible: the 10x10 context erosion turns the visible pixels within ~5 px of every nearer
    layer into holes, which the official code repaints (a band of wrong colour and depth along each
    layer boundary, even in the source view). On: in every layer i >= 1 the hole pixels that are
    visible in the input at depth >= b_i keep the input colour and depth (alpha 1), those of the
    layer's own bin count as visible in its mask (so they keep their motion), and all but the 1-px
    ring touching a nearer layer guide the inpainting of the hidden pixels; the last row and column
    (which the official hole box never reaches) and the pixels of a skipped thin bin (they join the
    next layer) are kept too, so every pixel of the input is in exactly one layer's mask. None (default): on for
    the weight-free backends, off for the learned one (``keeps_visible``); False: the official layering.
    """
    d = as_depth_map(depth)
    rgb = _check_image(image, tuple(d.shape))[None]
    b = depth_bins(d) if bins is None else _check_bins(bins)
    inp = default_inpainter(inpainter)
    keep = keeps_visible(inp, keep_visible)
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

    start = 1
    for i in range(1, n):
        alpha = _bin_mask(d, b, i)
        if float(erode(alpha, CONTEXT_KERNEL).sum()) >= MIN_LAYER_PIXELS:
            lo = start if keep else i
            start = i + 1
            far = (d >= b[lo]).float()
            context = erode(far, CONTEXT_KERNEL)
            holes = (1.0 - context) * inpainting_bbox(context, BBOX_BORDER)
            layer_depth, rgba, visible = _inpaint_layer(inp, rgb, d, far, context, holes,
                                                        (float(b[lo]), float(b[i + 1])), keep)
            closed = i == n - 1 and not official_far_cut
            near = (layer_depth <= b[i + 1] if closed else layer_depth < b[i + 1]).float()
            if i < n - 1:
                rgba = rgba * near
                layer_depth = refine_near_depth_discontinuity(layer_depth, rgba[:, 3:4])
            solid = rgba[:, 3:4] > 0
            layer_depth = torch.where(solid & (layer_depth <= pre_depth), BEHIND * pre_depth, layer_depth)
            pre_depth = torch.where(solid, layer_depth, pre_depth)
            rgbas.append(rgba)
            depths.append(layer_depth)
            masks.append(visible * near)
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
