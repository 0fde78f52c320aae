"""The mask painted in MaskHints' editor (``web/``): its ``mask_strokes`` JSON, read and rasterised.

The format lives here, beside the labelme parser (``hints.py``), so the CLI and batch read it too
(``--mask strokes.json``). Coordinates are px of the image the strokes were drawn on.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
from typing import Optional

import cv2
import numpy as np
import torch

from ..errors import CinemagraphError

log = logging.getLogger("cinemagraph")

STROKE_MODES = ("paint", "erase")
MAX_STROKE_POINTS = 200_000
"""Most points (strokes and polygons together) a ``mask_strokes`` JSON may hold."""
STROKES_FORMAT = ('{"width": W, "height": H, "strokes": [{"mode": "paint" or "erase", "radius": r, "points": '
                  '[[x, y], ...]}, ...], "polygons": [[[x, y], ...], ...]} in the pixels of the W x H image they '
                  'were drawn on')


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
