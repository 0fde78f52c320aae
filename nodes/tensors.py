"""ComfyUI's tensors to the core's and back.

ComfyUI IMAGE: ``(B,H,W,C)`` float 0..1 (C = 3; 1 and 4 are accepted). MASK: ``(B,H,W)`` or
``(H,W)`` float 0..1. Core image: ``(3,H,W)`` float32 0..1 on the CPU at the working resolution
(longer side <= ``pipeline.MAX_SIDE`` unless a node says otherwise).
"""
from __future__ import annotations

import logging

import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.image_io import check_image_size, resize_map
from cinemagraph_core.pipeline import MAX_SIDE, fit_image

log = logging.getLogger("cinemagraph")

ASPECT_TOLERANCE = 0.03
"""A mask or depth map may differ from the image's aspect ratio by this fraction and still be resized."""


def _tensor(x, what: str, source: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise CinemagraphError(f"{what}: expected a ComfyUI {source} tensor, got {type(x).__name__}")
    if not (x.is_floating_point() or x.dtype in (torch.uint8, torch.bool)):
        raise CinemagraphError(f"{what}: expected float values 0..1, got dtype {x.dtype}")
    x = x.detach().cpu()
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def _finite(x: torch.Tensor, what: str) -> torch.Tensor:
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise CinemagraphError(f"{what}: {bad} of {x.numel()} values are NaN or infinite; fix the node that made it")
    return x


def image_batch(image, what: str = "image", max_side: int = MAX_SIDE) -> list[torch.Tensor]:
    """ComfyUI IMAGE ``(B,H,W,C)`` -> B core images ``(3,h,w)`` at the working resolution.

    C = 1 (grey) is repeated, C = 4 drops alpha. Images larger than ``max_side`` are downscaled
    (area filter, logged), so every node that takes the same IMAGE works at the same size.
    """
    x = _tensor(image, what, "IMAGE")
    if x.ndim != 4:
        raise CinemagraphError(
            f"{what}: expected an IMAGE batch (B,H,W,C), got shape {tuple(x.shape)}; connect an IMAGE output "
            "(e.g. Load Image or VAE Decode)")
    b, h, w, c = (int(s) for s in x.shape)
    if b < 1:
        raise CinemagraphError(f"{what}: the IMAGE batch is empty")
    if c not in (1, 3, 4):
        raise CinemagraphError(f"{what}: expected 1, 3 or 4 channels (last axis of (B,H,W,C)), got shape "
                               f"{tuple(x.shape)}")
    check_image_size(h, w)
    x = _finite(x, what)
    if float(x.min()) < 0.0 or float(x.max()) > 1.0:
        log.info("%s: values %.3g..%.3g clipped to 0..1", what, float(x.min()), float(x.max()))
        x = x.clamp(0.0, 1.0)
    rgb = x[..., :3] if c >= 3 else x.expand(-1, -1, -1, 3)
    return [fit_image(rgb[i].permute(2, 0, 1).contiguous(), max_side) for i in range(b)]


def _check_aspect(h: int, w: int, size: tuple[int, int], what: str) -> None:
    if h < 1 or w < 1:
        raise CinemagraphError(f"{what} is empty ({w}x{h} px); connect a map of the image")
    ratio = (w / h) / (size[1] / size[0])
    if abs(ratio - 1.0) > ASPECT_TOLERANCE:
        raise CinemagraphError(
            f"{what} is {w}x{h} but the image is {size[1]}x{size[0]} (another aspect ratio): it cannot belong to "
            "this image. Make it from the same image (or crop/scale both alike)")


def mask_batch(mask, size: tuple[int, int], what: str = "mask") -> list[torch.Tensor]:
    """ComfyUI MASK ``(B,H,W)`` or ``(H,W)`` -> list of ``(h,w)`` float32 0..1 masks at ``size``.

    Another size with the same aspect ratio is resized (nearest, logged); values are clipped to 0..1.
    """
    x = _finite(_tensor(mask, what, "MASK"), what)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] < 1:
        raise CinemagraphError(f"{what}: expected a MASK (B,H,W) or (H,W), got shape {tuple(mask.shape)}")
    h, w = int(x.shape[1]), int(x.shape[2])
    _check_aspect(h, w, size, what)
    return [resize_map(m, size, what, "nearest").clamp(0.0, 1.0) for m in x]


def is_blank(mask) -> bool:
    """True for a MASK with nothing painted (every value < 0.5), e.g. Load Image's 64x64 placeholder."""
    return isinstance(mask, torch.Tensor) and mask.numel() > 0 and bool((mask.detach().float() < 0.5).all())


def depth_batch(depth_image, size: tuple[int, int], what: str = "depth_image") -> list[torch.Tensor]:
    """A depth IMAGE from any depth node ``(B,H,W,C)`` (grey in RGB) or a ``(B,H,W)`` map -> ``(H,W)`` maps.

    The channel mean is taken; the map keeps its own size (``depth_from_map`` resizes it, logged)
    unless its aspect ratio differs from the image's.
    """
    x = _finite(_tensor(depth_image, what, "IMAGE"), what)
    if x.ndim == 4 and x.shape[-1] in (1, 3, 4):
        x = x[..., :3].mean(dim=-1)
    if x.ndim != 3 or x.shape[0] < 1:
        raise CinemagraphError(f"{what}: expected a depth IMAGE (B,H,W,C) with C = 1, 3 or 4, or a (B,H,W) map, "
                               f"got shape {tuple(depth_image.shape)}")
    _check_aspect(int(x.shape[1]), int(x.shape[2]), size, what)
    return list(x)


def check_size(expected: tuple[int, int], got: tuple[int, int], what: str, fix: str) -> None:
    """Raise unless two working sizes (h, w) agree."""
    if tuple(expected) != tuple(got):
        raise CinemagraphError(f"{what} is {got[1]}x{got[0]} but the image is {expected[1]}x{expected[0]}: {fix}")
