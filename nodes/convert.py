"""Conversions between ComfyUI's tensors and the core's, and batch bookkeeping.

ComfyUI IMAGE: ``(B,H,W,C)`` float 0..1 (C = 3; 1 and 4 are accepted). MASK: ``(B,H,W)`` or
``(H,W)`` float 0..1. Core image: ``(3,H,W)`` float32 0..1 on the CPU at the working resolution
(longer side <= ``pipeline.MAX_SIDE`` unless a node says otherwise). MaskHints' ``mask_strokes`` JSON
(the mask painted in the node's editor, ``web/``) -> a core mask.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
from typing import Optional, Sequence, TypeVar

import cv2
import numpy as np
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.image_io import check_image_size, resize_map
from cinemagraph_core.pipeline import MAX_SIDE, fit_image

log = logging.getLogger("cinemagraph")

T = TypeVar("T")
ASPECT_TOLERANCE = 0.03
"""A mask or depth map may differ from the image's aspect ratio by this fraction and still be resized."""
STROKE_MODES = ("paint", "erase")
MAX_STROKE_POINTS = 200_000
"""Most points (strokes and polygons together) a ``mask_strokes`` JSON may hold."""
STROKES_FORMAT = ('{"width": W, "height": H, "strokes": [{"mode": "paint" or "erase", "radius": r, "points": '
                  '[[x, y], ...]}, ...], "polygons": [[[x, y], ...], ...]} in the pixels of the W x H image they '
                  'were drawn on')


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


def batch_size(**counts: int) -> int:
    """The common batch size B of several inputs; inputs with 1 item are used for every image."""
    sizes = {n: int(c) for n, c in counts.items() if c is not None}
    big = {c for c in sizes.values() if c != 1}
    if len(big) > 1:
        listing = ", ".join(f"{n}: {c}" for n, c in sizes.items())
        raise CinemagraphError(
            f"batch sizes differ ({listing}); every input must hold the same number of items, or 1 (used for all)")
    return big.pop() if big else 1


def pick(items: Sequence[T], b: int) -> T:
    """Item b of a batch, or the single item of a batch of one."""
    return items[0] if len(items) == 1 else items[b]


def items_of(value, cls: type, what: str) -> tuple:
    """A custom-type input (tuple of core objects, one per image) checked for its element type."""
    if isinstance(value, cls):
        return (value,)
    if not isinstance(value, (tuple, list)) or not value or not all(isinstance(v, cls) for v in value):
        got = type(value).__name__ if not isinstance(value, (tuple, list)) else \
            f"{type(value).__name__} of {', '.join(sorted({type(v).__name__ for v in value})) or 'nothing'}"
        raise CinemagraphError(f"{what}: expected the output of a 3D Cinemagraph node ({cls.__name__} per image), "
                               f"got {got}; connect the matching output")
    return tuple(value)


def check_size(expected: tuple[int, int], got: tuple[int, int], what: str, fix: str) -> None:
    """Raise unless two working sizes (h, w) agree."""
    if tuple(expected) != tuple(got):
        raise CinemagraphError(f"{what} is {got[1]}x{got[0]} but the image is {expected[1]}x{expected[0]}: {fix}")


class FrameBatch:
    """The output IMAGE ``(B*N,H,W,3)`` float32 of B cinemagraphs of N frames, filled one frame at a time
    (image b's frame t goes to row ``b*N + t``), so nothing but the output itself is held."""

    def __init__(self, items: int, frames: int):
        self.items, self.frames = int(items), int(frames)
        self.image = None

    def put(self, b: int, t: int, rgb: torch.Tensor) -> None:
        """Store frame t ``(3,H,W)`` float 0..1 of image b."""
        if self.image is None:
            self.image = torch.empty((self.items * self.frames, int(rgb.shape[1]), int(rgb.shape[2]), 3))
        self.image[b * self.frames + t] = rgb.permute(1, 2, 0)


def _number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _points(value, what: str, least: int) -> np.ndarray:
    """A list of [x, y] finite numbers (at least ``least``) -> ``(N,2)`` float64."""
    if not isinstance(value, list) or len(value) < least:
        raise CinemagraphError(f"mask_strokes: {what} needs a list of at least {least} [x, y] points, got "
                               f"{json.dumps(value)[:60]}; expected {STROKES_FORMAT}")
    for p in value:
        if not (isinstance(p, list) and len(p) == 2 and all(_number(c) for c in p)):
            raise CinemagraphError(f"mask_strokes: {what} has the point {json.dumps(p)[:40]}; every point must be "
                                   "[x, y] with finite numbers (image px)")
    return np.asarray(value, dtype=np.float64)


def parse_strokes(text: str) -> Optional[dict]:
    """MaskHints' ``mask_strokes`` JSON -> ``{"width", "height", "strokes": [(mode, radius, (N,2) px)],
    "polygons": [(N,2) px]}``, validated; None for empty text (no painted mask).

    Format: ``STROKES_FORMAT``. Errors (CinemagraphError): invalid JSON, a missing or non-positive size,
    an unknown mode, a radius that is not a positive number, NaN/infinite or malformed points, a
    stroke without points, a polygon with fewer than 3 points, nothing painted at all.
    """
    if not isinstance(text, str):
        raise CinemagraphError(f"mask_strokes: expected JSON text, got {type(text).__name__}")
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CinemagraphError(f"mask_strokes: invalid JSON at line {e.lineno} column {e.colno} ({e.msg}); expected "
                               f"{STROKES_FORMAT}. Clear the field to use no painted mask") from e
    if not isinstance(data, dict):
        raise CinemagraphError(f"mask_strokes: expected a JSON object {STROKES_FORMAT}, got {json.dumps(data)[:60]}")
    width, height = data.get("width"), data.get("height")
    if not (_number(width) and _number(height) and width >= 1 and height >= 1):
        raise CinemagraphError(f"mask_strokes: 'width' and 'height' must be the size (px, >= 1) of the image the "
                               f"strokes were drawn on, got {width!r} x {height!r}")
    raw_strokes, raw_polygons = data.get("strokes", []), data.get("polygons", [])
    if not isinstance(raw_strokes, list) or not isinstance(raw_polygons, list):
        raise CinemagraphError(f"mask_strokes: 'strokes' and 'polygons' must be lists; expected {STROKES_FORMAT}")
    if not raw_strokes and not raw_polygons:
        raise CinemagraphError("mask_strokes has no strokes and no polygons: paint the fluid with the brush in the "
                               "node's editor, or clear the field to use no painted mask")
    strokes = []
    for i, stroke in enumerate(raw_strokes):
        if not isinstance(stroke, dict):
            raise CinemagraphError(f"mask_strokes: stroke {i} must be an object with mode, radius and points")
        mode, radius = stroke.get("mode"), stroke.get("radius")
        if mode not in STROKE_MODES:
            raise CinemagraphError(f"mask_strokes: stroke {i} has mode {mode!r}; use 'paint' or 'erase'")
        if not (_number(radius) and radius > 0):
            raise CinemagraphError(f"mask_strokes: stroke {i} has radius {radius!r}; it must be a positive number "
                                   "(brush radius in image px)")
        strokes.append((mode, float(radius), _points(stroke.get("points"), f"stroke {i}", 1)))
    polygons = [_points(p, f"polygon {i}", 3) for i, p in enumerate(raw_polygons)]
    total = sum(len(p) for _m, _r, p in strokes) + sum(len(p) for p in polygons)
    if total > MAX_STROKE_POINTS:
        raise CinemagraphError(f"mask_strokes holds {total} points, more than {MAX_STROKE_POINTS}: clear the mask and "
                               "paint it with fewer, longer strokes (or connect a MASK instead)")
    return {"width": float(width), "height": float(height), "strokes": strokes, "polygons": polygons}


def strokes_mask(text: str, size: tuple[int, int]) -> Optional[torch.Tensor]:
    """Rasterise MaskHints' ``mask_strokes`` JSON at ``size`` = (h, w): ``(h,w)`` float32 0/1, or None.

    Coordinates are scaled from the JSON's width x height to w x h (as labelme JSONs are; the radius
    by the mean of the two factors). Polygons are filled first (``cv2.fillPoly`` at truncated
    coordinates, like labelme polygons), then the strokes in order: a round brush along the polyline
    (round caps and joins) at whole pixels (points and radius rounded, radius >= 1 px: about the pixels
    whose centre is within the radius), 1 for 'paint', 0 for 'erase'.
    """
    doc = parse_strokes(text)
    if doc is None:
        return None
    h, w = int(size[0]), int(size[1])
    scale = np.array([w / doc["width"], h / doc["height"]])
    if not np.allclose(scale, 1.0):
        log.info("mask_strokes were drawn on a %gx%g image, the image is %dx%d: scaling them",
                 doc["width"], doc["height"], w, h)
    canvas = np.zeros((h, w), np.uint8)
    for poly in doc["polygons"]:
        cv2.fillPoly(canvas, [np.trunc(poly * scale).astype(np.int32)], 1)
    for mode, radius, pts in doc["strokes"]:
        value = 1 if mode == "paint" else 0
        r = max(1, int(round(radius * float(scale.mean()))))
        p = np.round(pts * scale).astype(np.int32)
        if len(p) > 1:
            cv2.polylines(canvas, [p], False, value, thickness=2 * r, lineType=cv2.LINE_8)
        for end in (p[0], p[-1]):
            cv2.circle(canvas, (int(end[0]), int(end[1])), r, value, thickness=-1, lineType=cv2.LINE_8)
    return torch.from_numpy(canvas.astype(np.float32))
