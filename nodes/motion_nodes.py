"""MaskHints (where things move and which way) and EulerianMotion (the motion field)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.hints import make_hints, parse_arrows, parse_labelme, scale_arrows
from cinemagraph_core.motion.propose import proposal_hints, propose_motion
from cinemagraph_core.motion.strokes import STROKES_FORMAT, strokes_mask
from cinemagraph_core.pipeline import MAX_SIDE, resolve_motion
from cinemagraph_core.types import MotionHints

from . import batching, comfy, common, models, previews, tensors
from .comfy import NodeProgress

log = logging.getLogger("cinemagraph")

HINTS_HELP = ('Arrows in image pixels as JSON, e.g. [[120, 300, 160, 310], [400, 320, 430, 340]] '
              '(x0, y0 -> x1, y1; motion = length / 50 px per frame), or a labelme JSON (the official demo\'s '
              'image.json: "hint" lines are arrows, polygons add to the mask). Drawn with the editor below the '
              'node: drag on the picture.')
STROKES_HELP = ("The fluid mask painted with the editor's brush/eraser, as JSON in source-image pixels ("
                f"{STROKES_FORMAT}). A connected MASK input wins over it; it wins over labelme polygons; "
                "with none of them the whole image may move (or, with auto on and no arrows either, the mask is "
                "proposed). Empty = no painted mask.")
EMPTY_MASK = ("the MASK is empty (nothing painted). Load Image gives an empty mask when the picture has no painted "
              "area: right-click Load Image -> Open in MaskEditor and paint what should move, paint it with the "
              "brush in this node's editor, give polygons in a labelme JSON, or disconnect the mask to let the whole "
              "image move")
EMPTY_STROKES = ("the painted mask (mask_strokes) is empty: everything painted was erased. Paint the fluid again with "
                 "the brush, or press 'Clear mask' to let the whole image move")
AUTO_HELP = ("On: with no MASK connected (or an empty one), nothing painted and no arrows, the fluid mask and the "
             "arrows are proposed from the image (sky with clouds or haze, water, waterfalls, smoke). A connected "
             "MASK wins over the painting, which wins over the proposal. The editor's Auto button puts the proposal "
             "into the painting and the arrows, to correct it. Off: draw the motion yourself.")
NOTHING_PROPOSED = ("draw the motion yourself: arrows in the editor (or the hints box) and the fluid painted with the "
                    "brush or a connected MASK")
PREVIEW_SIDE = 1024
"""Longest side (px) of the picture the node's editor shows after a run."""
EDITOR_OUTPUT = "cinemagraph_editor"
"""Key of the node's ui output read by the editor (web/cinemagraph_editor.js)."""


def _arrows_and_polygons(text: str, size: tuple[int, int], source: tuple[int, int]):
    """Arrows (working px, ``size``) and the labelme polygon mask (or None) from the hint text (arrows in px of
    the ``source`` image)."""
    if not isinstance(text, str):
        raise CinemagraphError(f"hints: expected JSON text, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise CinemagraphError(f"hints are empty: nothing tells the fluid which way to move. {HINTS_HELP}")
    if text.startswith("{"):
        arrows, polygons = parse_labelme(text, size=size)
        if not arrows:
            raise CinemagraphError("the labelme JSON has no hint line: add line shapes labelled 'hint...' "
                                   "(start -> end) for the motion")
        return arrows, polygons if bool(polygons.any()) else None
    return scale_arrows(parse_arrows(text, allow_empty=False), source, size), None


def _fallback_mask(strokes: str, polygons: Optional[torch.Tensor], size: tuple[int, int]):
    """The mask used when no MASK is connected (or it is empty), and its source name."""
    painted = strokes_mask(strokes, size)
    if painted is not None:
        if not bool(painted.any()):
            raise CinemagraphError(EMPTY_STROKES)
        return painted, "strokes"
    if polygons is not None:
        return polygons, "polygons"
    return None, "whole image"


def _masks(mask, fallback: Optional[torch.Tensor], source: str, size: tuple[int, int]):
    """Masks per image (None = whole image) and where each came from: 'input', 'strokes', 'polygons', 'whole image'."""
    if mask is None or tensors.is_blank(mask):
        if mask is not None and fallback is None:
            raise CinemagraphError(EMPTY_MASK)
        return [fallback], [source]
    masks, sources = [], []
    for m in tensors.mask_batch(mask, size):
        if float(m.max()) < 0.5:
            if fallback is None:
                raise CinemagraphError(EMPTY_MASK)
            masks.append(fallback)
            sources.append(source)
        else:
            masks.append((m >= 0.5).float())
            sources.append("input")
    return masks, sources


def nothing_drawn(hints: str, mask=None, strokes: str = "") -> bool:
    """True when there are no arrows, no (non-empty) MASK and no painted strokes."""
    drawn = [t for t in (hints, strokes) if isinstance(t, str) and t.strip()]
    return not drawn and (mask is None or tensors.is_blank(mask))


def hints_and_sources(image, hints: str, mask=None, sigma: float = 0.0, max_side: int = MAX_SIDE,
                      strokes: str = "", auto: bool = True) -> tuple[list[MotionHints], list[str]]:
    """``hints_for`` plus, per image, where its mask came from ('input', 'strokes', 'polygons', 'whole image',
    'proposal')."""
    images = tensors.image_batch(image, max_side=max_side)
    size = (int(images[0].shape[1]), int(images[0].shape[2]))
    if not isinstance(sigma, (int, float)) or not sigma >= 0:
        raise CinemagraphError(f"sigma must be >= 0 px (0 = default width), got {sigma}")
    width = float(sigma) * size[0] / int(image.shape[1]) if sigma > 0 else None
    if auto and nothing_drawn(hints, mask, strokes):
        return [_proposed(img, width, i, len(images)) for i, img in enumerate(images)], ["proposal"] * len(images)
    arrows, polygons = _arrows_and_polygons(hints, size, (int(image.shape[1]), int(image.shape[2])))
    fallback, source = _fallback_mask(strokes, polygons, size)
    masks, sources = _masks(mask, fallback, source, size)
    b = batching.batch_size(image=len(images), mask=len(masks))
    items = [make_hints(batching.pick(masks, i), arrows, sigma=width, size=size) for i in range(b)]
    return items, [batching.pick(sources, i) for i in range(b)]


def _proposed(img: torch.Tensor, sigma: Optional[float], i: int, count: int) -> MotionHints:
    proposal = propose_motion(img)
    which = f"image {i}: " if count > 1 else ""
    if not proposal.regions:
        raise CinemagraphError(f"auto: {which}{proposal.note}; {NOTHING_PROPOSED}")
    log.info("auto: %s%s", which, proposal.note)
    return proposal_hints(proposal, sigma)


def hints_for(image, hints: str, mask=None, sigma: float = 0.0, max_side: int = MAX_SIDE,
              strokes: str = "", auto: bool = True) -> list[MotionHints]:
    """MotionHints per image of a ComfyUI IMAGE batch, at the working resolution (``max_side``).

    Arrows are in the IMAGE's pixels (scaled when the image is downscaled). The mask: a connected
    MASK (>= 0.5 = moves) wins over the painted ``strokes`` (``strokes_mask`` JSON), which
    win over labelme polygons; with none of them the whole image may move. With ``auto`` and nothing
    drawn at all (``nothing_drawn``) the mask and the arrows are proposed from each image
    (``motion.propose``).
    """
    return hints_and_sources(image, hints, mask, sigma, max_side, strokes, auto)[0]


def _save_temp_png(folder: Path, pixels: np.ndarray) -> str:
    """Write an ``(H,W,C)`` uint8 BGR(A) PNG named by its content into ``folder``; returns the file name."""
    ok, data = cv2.imencode(".png", pixels)
    if not ok:
        raise CinemagraphError("could not encode the editor preview as PNG")
    name = f"cinemagraph_editor_{hashlib.sha1(data.tobytes()).hexdigest()[:20]}.png"
    path = folder / name
    if not path.exists():
        path.write_bytes(data.tobytes())
    return name


def editor_preview(image, mask: torch.Tensor, source: str) -> Optional[dict]:
    """The ComfyUI ``ui`` output for the node's editor, or None where ComfyUI's temp folder is unknown.

    Saves the first image (longest side <= ``PREVIEW_SIDE``, RGB) and the mask used (white with
    alpha = mask, same size) as PNGs in ComfyUI's temp folder, and reports the IMAGE's size in px,
    which is the frame the editor's coordinates refer to.
    """
    temp_directory = getattr(comfy.folder_paths(), "get_temp_directory", None)
    if temp_directory is None:
        return None
    folder = Path(temp_directory())
    folder.mkdir(parents=True, exist_ok=True)
    small = tensors.image_batch(image[:1], max_side=PREVIEW_SIDE)[0]
    ph, pw = int(small.shape[1]), int(small.shape[2])
    rgb = (small.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    alpha = cv2.resize((mask.numpy() >= 0.5).astype(np.uint8) * 255, (pw, ph), interpolation=cv2.INTER_NEAREST)
    rgba = np.dstack([np.full((ph, pw, 3), 255, np.uint8), alpha])
    entry = {"filename": _save_temp_png(folder, np.ascontiguousarray(rgb[..., ::-1])), "subfolder": "", "type": "temp",
             "width": int(image.shape[2]), "height": int(image.shape[1]),
             "mask_filename": _save_temp_png(folder, rgba), "mask_source": source}
    return {EDITOR_OUTPUT: [entry]}


class MaskHints:
    """The fluid mask and the flow hints (arrows) that drive the motion."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": common.widget("IMAGE", "The source image: gives the size the arrows and mask refer to."),
                "hints": common.widget("STRING", HINTS_HELP, multiline=True, default=""),
                "sigma": common.widget("FLOAT", "Width (px) over which each arrow spreads its motion; 0 = the "
                                                "documented default (middle of the official range).",
                                       default=0.0, min=0.0, max=4096.0, step=1.0),
            },
            "optional": {
                "mask": common.widget("MASK", "Where the fluid is (painted = moves), e.g. Load Image's MASK after "
                                              "the mask editor. Other sizes with the same aspect are resized. Wins "
                                              "over the mask painted in the node's editor."),
                "mask_strokes": common.widget("STRING", STROKES_HELP, multiline=False, default=""),
                "auto": common.widget("BOOLEAN", AUTO_HELP, default=True),
            },
        }

    RETURN_TYPES = (common.HINTS, "MASK")
    RETURN_NAMES = ("hints", "mask")
    OUTPUT_TOOLTIPS = ("Mask and arrows per image (for EulerianMotion).", "The fluid mask used, per image.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Fluid mask + flow arrows (drawn in the node's editor, JSON or labelme) for the motion field."

    def run(self, image, hints: str, sigma: float = 0.0, mask=None, mask_strokes: str = "", auto: bool = True):
        """(hints, mask) outside ComfyUI; inside, ``{"ui": editor_preview(...), "result": (hints, mask)}``."""
        items, sources = hints_and_sources(image, hints, mask, sigma, strokes=mask_strokes, auto=auto)
        result = (tuple(items), torch.stack([h.mask for h in items]))
        ui = editor_preview(image, items[0].mask, sources[0])
        return result if ui is None else {"ui": ui, "result": result}


class EulerianMotion:
    """The constant (Eulerian) motion field of the fluid, in px per frame."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": common.widget("IMAGE", "The source image (the learned motion net looks at it)."),
                "hints": common.widget(common.HINTS, "Mask and arrows from MaskHints."),
                "model": common.widget(models.choices("motion"),
                                       "auto: the SPADE U-Net motion net (sceneflow_model.pth in models/cinemagraph) "
                                       "when present, else hints. hints: weight-free field spread from the arrows."),
                "speed": common.widget("FLOAT", "Divides the motion (the official flow_scale): 2 = half as fast.",
                                       default=1.0, min=0.05, max=20.0, step=0.05),
            },
        }

    RETURN_TYPES = (common.FLOW, "IMAGE")
    RETURN_NAMES = ("motion", "motion_preview")
    OUTPUT_TOOLTIPS = ("Motion field per image (for SymmetricAnimate).",
                       "Colour-coded motion (hue = direction, saturation = speed) with arrows.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Eulerian motion field from the hints (weight-free) or the learned motion net."

    @classmethod
    def IS_CHANGED(cls, model: str = models.AUTO, **_):
        return models.fingerprint("motion", model)

    def run(self, image, hints, model: str = models.AUTO, speed: float = 1.0):
        images = tensors.image_batch(image)
        items = batching.items_of(hints, MotionHints, "hints")
        b = batching.batch_size(image=len(images), hints=len(items))
        net = models.network("motion", model)
        progress = NodeProgress(b)
        fields = []
        for i in range(b):
            img, hint = batching.pick(images, i), batching.pick(items, i)
            tensors.check_size(tuple(img.shape[1:]), hint.size, "the hints' mask",
                               "connect the same image to MaskHints and EulerianMotion")
            fields.append(resolve_motion(img, hint, None, "learned" if net is not None else "hints", net, speed))
            progress.item(i)(1, 1)
        return tuple(fields), torch.stack([previews.motion_preview(f.flow) for f in fields])
