"""MaskHints (where things move and which way) and EulerianMotion (the motion field)."""
from __future__ import annotations

from typing import Optional

import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.models import Models
from cinemagraph_core.motion.hints import make_hints, parse_arrows, parse_labelme
from cinemagraph_core.pipeline import MAX_SIDE, PipelineConfig, resolve_motion
from cinemagraph_core.types import MotionHints

from . import common, convert, models, previews
from .comfy import NodeProgress

HINTS_HELP = ('Arrows in image pixels as JSON, e.g. [[120, 300, 160, 310], [400, 320, 430, 340]] '
              '(x0, y0 -> x1, y1; motion = length / 50 px per frame), or a labelme JSON (the official demo\'s '
              'image.json: "hint" lines are arrows, polygons add to the mask).')
EMPTY_MASK = ("the MASK is empty (nothing painted). Load Image gives an empty mask when the picture has no painted "
              "area: right-click Load Image -> Open in MaskEditor and paint what should move, give polygons in a "
              "labelme JSON, or disconnect the mask to let the whole image move")


def _arrows_and_polygons(text: str, size: tuple[int, int], scale: tuple[float, float]):
    """Arrows (working px) and the labelme polygon mask (or None) from the hint text."""
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
    sx, sy = scale
    arrows = parse_arrows(text, allow_empty=False)
    return tuple((x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in arrows), None


def hints_for(image, hints: str, mask=None, sigma: float = 0.0, max_side: int = MAX_SIDE) -> list[MotionHints]:
    """MotionHints per image of a ComfyUI IMAGE batch, at the working resolution (``max_side``).

    Arrows are in the IMAGE's pixels (scaled when the image is downscaled); a connected MASK
    (>= 0.5 = moves) wins over labelme polygons; without either, the whole image may move.
    """
    images = convert.image_batch(image, max_side=max_side)
    size = (int(images[0].shape[1]), int(images[0].shape[2]))
    scale = (size[1] / int(image.shape[2]), size[0] / int(image.shape[1]))
    arrows, polygons = _arrows_and_polygons(hints, size, scale)
    if not isinstance(sigma, (int, float)) or not sigma >= 0:
        raise CinemagraphError(f"sigma must be >= 0 px (0 = default width), got {sigma}")
    masks: list[Optional[torch.Tensor]] = [polygons]
    if mask is not None and convert.is_blank(mask):
        if polygons is None:
            raise CinemagraphError(EMPTY_MASK)
    elif mask is not None:
        masks = []
        for m in convert.mask_batch(mask, size):
            if float(m.max()) < 0.5:
                if polygons is None:
                    raise CinemagraphError(EMPTY_MASK)
                m = polygons
            masks.append((m >= 0.5).float())
    b = convert.batch_size(image=len(images), mask=len(masks))
    width = float(sigma) * size[0] / int(image.shape[1]) if sigma > 0 else None
    return [make_hints(convert.pick(masks, i), arrows, sigma=width, size=size) for i in range(b)]


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
                                              "the mask editor. Other sizes with the same aspect are resized."),
            },
        }

    RETURN_TYPES = (common.HINTS, "MASK")
    RETURN_NAMES = ("hints", "mask")
    OUTPUT_TOOLTIPS = ("Mask and arrows per image (for EulerianMotion).", "The fluid mask used, per image.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Fluid mask + flow arrows (JSON or labelme) for the motion field."

    def run(self, image, hints: str, sigma: float = 0.0, mask=None):
        result = hints_for(image, hints, mask, sigma)
        return tuple(result), torch.stack([h.mask for h in result])


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
        images = convert.image_batch(image)
        items = convert.items_of(hints, MotionHints, "hints")
        b = convert.batch_size(image=len(images), hints=len(items))
        net = models.network("motion", model)
        config = PipelineConfig(speed=speed, motion="learned" if net is not None else "hints").validate()
        progress = NodeProgress(b)
        fields = []
        for i in range(b):
            img, hint = convert.pick(images, i), convert.pick(items, i)
            convert.check_size(tuple(img.shape[1:]), hint.size, "the hints' mask",
                               "connect the same image to MaskHints and EulerianMotion")
            fields.append(resolve_motion(img, hint, None, config, Models(motion=net)))
            progress.item(i)(1, 1)
        return tuple(fields), torch.stack([previews.motion_preview(f.flow) for f in fields])
