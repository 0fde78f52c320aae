"""LDIBuild (layered depth image with inpainted occlusions) and FeaturePointCloud (the 3D points)."""
from __future__ import annotations

import torch

from cinemagraph_core.choices import INPAINTS
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers.ldi import build_ldi, single_layer_ldi
from cinemagraph_core.pipeline import resolve_features
from cinemagraph_core.points import build_point_cloud
from cinemagraph_core.types import LDI, Depth

from . import batching, common, models, previews, tensors
from .comfy import NodeProgress


VISIBLE_PIXELS = {models.AUTO: None, "keep": True, "official": False}
"""LDIBuild's visible_pixels choices -> build_ldi's keep_visible."""


class LDIBuild:
    """Split the image into depth layers and inpaint what each layer hides behind the nearer ones."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": common.widget("IMAGE", "The source image (the same one DepthDPT got)."),
                "depth": common.widget(common.DEPTH, "Depth from DepthDPT."),
                "inpainter": common.widget(list(INPAINTS),
                                           "auto: the 3D-Photo nets (depth-model.pth + color-model.pth in "
                                           "models/cinemagraph) when present, else classical. classical: weight-free "
                                           "OpenCV inpainting. none: leave the hidden parts empty (ablation).",
                                           default=models.AUTO),
                "layered": common.widget("BOOLEAN", "On: layers at depth discontinuities (the paper). Off: one layer, "
                                                    "no inpainting (the naive point cloud; holes appear).",
                                         default=True),
            },
            "optional": {
                "visible_pixels": common.widget(list(VISIBLE_PIXELS),
                                                "What happens to the visible pixels within ~5 px of a nearer layer. "
                                                "keep: they keep their colour, depth and motion (no repainted band "
                                                "along layer boundaries). official: the inpainter repaints them, as "
                                                "the paper's code does. auto: keep with the classical or no "
                                                "inpainter, official with the 3D-Photo nets.",
                                                default=models.AUTO),
            },
        }

    RETURN_TYPES = (common.LDI, "IMAGE", "MASK")
    RETURN_NAMES = ("ldi", "layers_preview", "hole_mask")
    OUTPUT_TOOLTIPS = ("Layered depth image per image (for FeaturePointCloud).",
                       "Every layer over a checkerboard, near to far (all images' layers in one batch).",
                       "Where hidden content was inpainted, per image.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Layered depth image: depth layers with the occluded parts inpainted."

    @classmethod
    def IS_CHANGED(cls, inpainter: str = models.AUTO, **_):
        return models.fingerprint(models.INPAINT_STAGE, inpainter)

    def run(self, image, depth, inpainter: str = models.AUTO, layered: bool = True,
            visible_pixels: str = models.AUTO):
        if visible_pixels not in VISIBLE_PIXELS:
            raise CinemagraphError(f"visible_pixels must be one of {', '.join(VISIBLE_PIXELS)}, got {visible_pixels!r}")
        images = tensors.image_batch(image)
        depths = batching.items_of(depth, Depth, "depth")
        b = batching.batch_size(image=len(images), depth=len(depths))
        backend = models.inpainter(inpainter) if layered else None
        progress = NodeProgress(b)
        ldis = []
        for i in range(b):
            img, dep = batching.pick(images, i), batching.pick(depths, i)
            tensors.check_size(tuple(img.shape[1:]), dep.size, "the depth",
                               "connect the same image to DepthDPT and LDIBuild")
            if layered:
                ldis.append(build_ldi(img, dep.depth, backend, progress=progress.item(i),
                                      keep_visible=VISIBLE_PIXELS[visible_pixels]))
            else:
                ldis.append(single_layer_ldi(img, dep.depth))
                progress.item(i)(1, 1)
        layers = torch.cat([previews.layers_preview(ldi) for ldi in ldis])
        holes = torch.stack([previews.hole_mask(ldi) for ldi in ldis])
        return tuple(ldis), layers, holes


class FeaturePointCloud:
    """Lift every LDI layer to 3D points carrying colour (and learned features when available)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "ldi": common.widget(common.LDI, "Layered depth image from LDIBuild."),
                "depth": common.widget(common.DEPTH, "Depth from DepthDPT (gives the camera intrinsics)."),
                "features": common.widget(models.choices("feature_net"),
                                          "auto: the ResUNet feature net (model_150000.pth in models/cinemagraph) "
                                          "when present, else rgba. rgba: weight-free, points carry their colour."),
            },
        }

    RETURN_TYPES = (common.POINTS,)
    RETURN_NAMES = ("points",)
    OUTPUT_TOOLTIPS = ("Point cloud per image (for SymmetricAnimate).",)
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "3D point cloud of the LDI with per-point colour (and learned features)."

    @classmethod
    def IS_CHANGED(cls, features: str = models.AUTO, **_):
        return models.fingerprint("feature_net", features)

    def run(self, ldi, depth, features: str = models.AUTO):
        ldis = batching.items_of(ldi, LDI, "ldi")
        depths = batching.items_of(depth, Depth, "depth")
        b = batching.batch_size(ldi=len(ldis), depth=len(depths))
        net = models.network("feature_net", features)
        progress = NodeProgress(b)
        clouds = []
        for i in range(b):
            layers, dep = batching.pick(ldis, i), batching.pick(depths, i)
            tensors.check_size(layers.size, dep.size, "the depth", "connect the DepthDPT that fed LDIBuild")
            feats = resolve_features(layers, "learned" if net is not None else "rgba", net)
            clouds.append(build_point_cloud(layers, feats, dep.K))
            progress.item(i)(1, 1)
        return (tuple(clouds),)
