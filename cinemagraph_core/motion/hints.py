"""User motion guidance: arrows (JSON or labelme), the fluid mask and the dense hint map (SPEC c).

Dense hint map (official ``generate_mask_hints_from_user``): for every integer pixel p and arrow i
with start s_i (truncated to integer px) and motion m_i = (end - start) / 50 px/frame (start not
truncated here),

    w_i(p) = exp(-(|p - s_i| / sigma)^2),   hint(p) = sum_i w_i m_i / sum_i w_i   (denominator 1 where it is 0)

times the binary mask (mask != 0). The official sigma is an unseeded random integer in
[floor(H/(2n)), floor(2H/n) - 1]; here it is a parameter whose default is the middle of that range.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
from typing import Mapping, Optional, Sequence, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..image_io import resize_map
from ..types import Arrow, MotionHints

log = logging.getLogger("cinemagraph")

HINT_DIVISOR = 50.0
"""Official arrow length -> motion scale: motion = (end - start) / 50 px/frame."""
MOTION_SIZE = 768
ARROW_FORMATS = '[[x0, y0, x1, y1], ...] or [{"start": [x, y], "end": [x, y]}, ...] (image px)'


def parse_arrows(arrows: Union[str, Sequence, None], allow_empty: bool = True) -> tuple[Arrow, ...]:
    """Arrows from JSON text or a list.

    Accepted entries: ``[x0, y0, x1, y1]``, ``[[x0, y0], [x1, y1]]`` or
    ``{"start": [x, y], "end": [x, y]}``; a single flat ``[x0, y0, x1, y1]`` is one arrow.
    None, "" or [] mean no arrows (an error when ``allow_empty`` is False). Coordinates are source
    image px (x = column, y = row).
    """
    data = arrows
    if isinstance(arrows, str):
        text = arrows.strip()
        data = _loads(text, "arrows") if text else []
    elif hasattr(arrows, "tolist"):
        data = arrows.tolist()
    if data is None:
        data = []
    if not isinstance(data, (list, tuple)):
        raise CinemagraphError(f"arrows: expected a list {ARROW_FORMATS}, got {_short(data)}")
    if len(data) == 4 and all(_is_number(v) for v in data):
        data = [data]
    out = tuple(_arrow(entry, i) for i, entry in enumerate(data))
    if not out and not allow_empty:
        raise CinemagraphError(f"no arrows given: draw at least one, as {ARROW_FORMATS}")
    return out


def parse_labelme(labelme: Union[str, Mapping], size: Optional[tuple[int, int]] = None
                  ) -> tuple[tuple[Arrow, ...], torch.Tensor]:
    """Arrows and fluid mask from a labelme JSON (the official demo's ``image.json``).

    Shapes whose label starts with 'hint' are 2-point lines -> arrows (start -> end). Every other
    'polygon', 'rectangle' or 'circle' shape is filled into the mask with ``cv2.fillPoly`` /
    rectangle / circle at truncated integer coordinates (other shape types are ignored with a note).
    The official ``mask.png`` is made from the same JSON by labelme's own json-to-dataset tool and
    the official 'any label -> 255' script; at fractional coordinates the two fills may differ by
    one pixel along the region's edge.
    The JSON's ``imageHeight``/``imageWidth`` give the size; with ``size`` = (h, w) given and
    different, all coordinates are scaled to it (logged).
    Returns (arrows, mask ``(h,w)`` float32 0/1); an empty mask when there is no region shape.
    """
    data = _loads(labelme, "labelme JSON") if isinstance(labelme, str) else labelme
    if not isinstance(data, Mapping) or not isinstance(data.get("shapes"), list):
        raise CinemagraphError("labelme JSON: expected an object with a 'shapes' list (labelme's image.json)")
    h, w, sx, sy = _labelme_size(data, size)
    mask = np.zeros((h, w), np.uint8)
    arrows = []
    for i, shape in enumerate(data["shapes"]):
        label = str(shape.get("label", "")) if isinstance(shape, Mapping) else ""
        pts = _shape_points(shape, i, label) * np.array([sx, sy])
        kind = shape.get("shape_type") or "polygon"
        if label.startswith("hint"):
            if len(pts) != 2:
                raise CinemagraphError(
                    f"labelme shape {i} ('{label}'): a hint must be a line of 2 points (start, end), got {len(pts)}")
            arrows.append((float(pts[0, 0]), float(pts[0, 1]), float(pts[1, 0]), float(pts[1, 1])))
        elif kind == "polygon" and len(pts) >= 3:
            cv2.fillPoly(mask, [np.trunc(pts).astype(np.int32)], 1)
        elif kind == "rectangle" and len(pts) == 2:
            (x0, y0), (x1, y1) = np.trunc(pts).astype(int)
            cv2.rectangle(mask, (int(x0), int(y0)), (int(x1), int(y1)), 1, thickness=-1)
        elif kind == "circle" and len(pts) == 2:
            radius = int(round(float(np.hypot(*(pts[1] - pts[0])))))
            cv2.circle(mask, tuple(int(v) for v in np.trunc(pts[0])), radius, 1, thickness=-1)
        else:
            log.info("labelme shape %d ('%s', %s with %d points) is neither a hint nor a region: ignored",
                     i, label, kind, len(pts))
    if not mask.any():
        log.info("labelme JSON has no region shape: its mask is empty (give a mask image instead)")
    return tuple(arrows), torch.from_numpy(mask.astype(np.float32))


def scale_arrows(arrows: Sequence[Arrow], source: tuple[int, int], target: tuple[int, int]) -> tuple[Arrow, ...]:
    """Arrows drawn in px of a ``source`` (h, w) image, in px of the same image resized to ``target`` (h, w)."""
    sy, sx = target[0] / source[0], target[1] / source[1]
    return tuple((x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in arrows)


def default_sigma(h: int, n: int) -> float:
    """Deterministic hint width (px): the middle of the official range [floor(h/2n), floor(2h/n) - 1].

    Rounded half up, at least 1. h: image height (px), n >= 1 arrows. E.g. h = 96, n = 3 -> 40.
    """
    if n < 1:
        raise CinemagraphError(f"default_sigma needs at least one arrow, got n = {n}")
    lo, hi = h // (2 * n), (2 * h) // n - 1
    return float(max(1, (lo + hi + 1) // 2))


def make_hints(mask, arrows, sigma: Optional[float] = None, size: Optional[tuple[int, int]] = None
               ) -> MotionHints:
    """Validated MotionHints.

    mask: ``(H,W)`` 0..1 (numpy/torch; != 0 = fluid), or None = the whole image may move.
    arrows: a sequence of ``(x0, y0, x1, y1)`` px or anything ``parse_arrows`` accepts.
    sigma: hint width in px (> 0) or None for ``default_sigma``.
    size: (h, w) of the image; a mask of another size is resized (nearest, logged). Needed when
        mask is None.
    Errors: an empty mask, an arrow starting outside the image [0, w] x [0, h], a zero-length arrow.
    """
    if size is None and mask is None:
        raise CinemagraphError("make_hints: give the image size when there is no mask")
    if mask is None:
        h, w = int(size[0]), int(size[1])
        log.info("no motion mask: the whole %dx%d image may move", w, h)
        m = torch.ones(h, w)
    else:
        m = _mask_tensor(mask)
        if size is not None:
            m = resize_map(m, (int(size[0]), int(size[1])), "motion mask", "nearest")
        if not bool((m != 0).any()):
            raise CinemagraphError("the motion mask is empty, so nothing would move: paint the fluid region "
                                   "white (non-zero) in the mask, or give no mask to let everything move")
    h, w = int(m.shape[0]), int(m.shape[1])
    parsed = parse_arrows(arrows)
    for i, (x0, y0, x1, y1) in enumerate(parsed):
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise CinemagraphError(f"arrow {i} ({x0}, {y0}) -> ({x1}, {y1}) has a non-finite coordinate")
        if not (0.0 <= x0 <= w and 0.0 <= y0 <= h):
            raise CinemagraphError(
                f"arrow {i} starts at ({x0:g}, {y0:g}), outside the {w}x{h} image (x in 0..{w}, y in 0..{h}): "
                "arrow coordinates are image pixels (x = column, y = row)")
        if x0 == x1 and y0 == y1:
            raise CinemagraphError(f"arrow {i} at ({x0:g}, {y0:g}) has zero length: drag from start to end")
    if sigma is not None and not (math.isfinite(sigma) and sigma > 0):
        raise CinemagraphError(f"hint sigma must be a positive width in px, got {sigma}")
    return MotionHints(mask=m, arrows=parsed, sigma=None if sigma is None else float(sigma))


def dense_hint_map(hints: MotionHints) -> torch.Tensor:
    """The official dense hint map ``(2,H,W)`` float32 px/frame (x, y); zeros when there are no arrows;
    ``hints.dense`` (masked) when it is set."""
    h, w = hints.size
    if hints.dense is not None:
        return hints.dense.float() * (hints.mask != 0)
    if not hints.arrows:
        return torch.zeros(2, h, w)
    sigma = hints.sigma if hints.sigma is not None else default_sigma(h, len(hints.arrows))
    ys = torch.arange(h, dtype=torch.float64)[:, None]
    xs = torch.arange(w, dtype=torch.float64)[None, :]
    num = torch.zeros(2, h, w, dtype=torch.float64)
    den = torch.zeros(h, w, dtype=torch.float64)
    for x0, y0, x1, y1 in hints.arrows:
        dist = torch.sqrt((xs - int(x0)) ** 2 + (ys - int(y0)) ** 2)
        wgt = torch.exp(-((dist / sigma) ** 2))
        motion = torch.tensor([(x1 - x0) / HINT_DIVISOR, (y1 - y0) / HINT_DIVISOR], dtype=torch.float64)
        num += wgt * motion[:, None, None]
        den += wgt
    den = torch.where(den == 0, torch.ones_like(den), den)
    return (num / den * (hints.mask != 0)).float()


def hints_to_motion_space(hints: MotionHints, motion_size: int = MOTION_SIZE
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask ``(1,1,S,S)`` and hint ``(1,2,S,S)`` float32 in the S x S motion-net space (S = motion_size).

    Hint: x * S/W, y * S/H (px of the S-space), bilinear resize (align_corners False). Mask: binary
    (mask != 0) then area interpolation (soft edges when shrinking).
    """
    h, w = hints.size
    s = int(motion_size)
    hint = dense_hint_map(hints)
    hint = torch.stack([hint[0] * (s / w), hint[1] * (s / h)])
    hint = F.interpolate(hint[None], size=(s, s), mode="bilinear", align_corners=False)
    mask = F.interpolate((hints.mask != 0).float()[None, None], size=(s, s), mode="area")
    return mask, hint


def _loads(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        lo, hi = max(0, e.pos - 20), e.pos + 20
        raise CinemagraphError(
            f"{what}: invalid JSON at line {e.lineno} column {e.colno} ({e.msg}) near "
            f"'{text[lo:e.pos]}>>>{text[e.pos:hi]}'; expected {ARROW_FORMATS if what == 'arrows' else 'labelme JSON'}"
        ) from e


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _point(v) -> Optional[tuple[float, float]]:
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_number(c) for c in v):
        return float(v[0]), float(v[1])
    return None


def _arrow(entry, i: int) -> Arrow:
    if hasattr(entry, "tolist"):
        entry = entry.tolist()
    if isinstance(entry, Mapping):
        start, end = _point(entry.get("start")), _point(entry.get("end"))
    elif isinstance(entry, (list, tuple)) and len(entry) == 4 and all(_is_number(v) for v in entry):
        start, end = (float(entry[0]), float(entry[1])), (float(entry[2]), float(entry[3]))
    elif isinstance(entry, (list, tuple)) and len(entry) == 2:
        start, end = _point(entry[0]), _point(entry[1])
    else:
        start = end = None
    if start is None or end is None:
        raise CinemagraphError(f"arrow {i}: cannot read {_short(entry)}; expected {ARROW_FORMATS}")
    return start[0], start[1], end[0], end[1]


def _labelme_size(data: Mapping, size) -> tuple[int, int, float, float]:
    """(h, w) of the mask and the x, y scale from JSON coordinates to it."""
    jh, jw = data.get("imageHeight"), data.get("imageWidth")
    has = _is_number(jh) and _is_number(jw) and jh > 0 and jw > 0
    if size is None:
        if not has:
            raise CinemagraphError("labelme JSON has no imageHeight/imageWidth: pass the image size")
        return int(jh), int(jw), 1.0, 1.0
    h, w = int(size[0]), int(size[1])
    if not has or (int(jh), int(jw)) == (h, w):
        return h, w, 1.0, 1.0
    log.info("labelme JSON was drawn on a %dx%d image, the image is %dx%d: scaling its coordinates",
             int(jw), int(jh), w, h)
    return h, w, w / float(jw), h / float(jh)


def _shape_points(shape, i: int, label: str) -> np.ndarray:
    pts = shape.get("points") if isinstance(shape, Mapping) else None
    parsed = [_point(p) for p in pts] if isinstance(pts, list) else [None]
    if not parsed or any(p is None for p in parsed):
        raise CinemagraphError(f"labelme shape {i} ('{label}'): 'points' must be a list of [x, y] numbers")
    return np.array(parsed, dtype=np.float64)


def _mask_tensor(mask) -> torch.Tensor:
    t = mask.detach().cpu() if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask))
    if t.ndim == 3 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 2:
        raise CinemagraphError(f"motion mask: expected an (H,W) map, got shape {tuple(t.shape)}")
    t = t.float()
    if not bool(torch.isfinite(t).all()):
        raise CinemagraphError("motion mask has NaN/infinite values")
    if float(t.min()) < 0 or float(t.max()) > 1:
        raise CinemagraphError(
            f"motion mask values span {float(t.min()):.4g}..{float(t.max()):.4g}, expected 0..1 "
            "(divide an 8-bit mask by 255)")
    return t


def _short(v, n: int = 60) -> str:
    try:
        s = json.dumps(v)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= n else s[:n] + "..."
