"""DepthDPT: depth of the source image (DPT, a depth map from another node, or the weight-free prior)."""
from __future__ import annotations

import logging

import torch

from cinemagraph_core.choices import IMAGE_DEPTH_KINDS, DepthKind, check
from cinemagraph_core.pipeline import resolve_depth

from . import batching, common, models, previews, tensors
from .comfy import NodeProgress

log = logging.getLogger("cinemagraph")

def depth_maps(images: list[torch.Tensor], depth_image, kind: DepthKind) -> list:
    """Per image, the external ``(H,W)`` map from ``depth_image`` (or None when it is not connected)."""
    if depth_image is None:
        return [None] * len(images)
    check("depth_kind", kind, IMAGE_DEPTH_KINDS)
    size = tuple(images[0].shape[1:])
    maps = tensors.depth_batch(depth_image, size)
    b = batching.batch_size(image=len(images), depth_image=len(maps))
    return [batching.pick(maps, i) for i in range(b)]


class DepthDPT:
    """Depth of each image: a connected depth map wins, else the DPT model, else a layout prior."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": common.widget("IMAGE", "The source image (Load Image, VAE Decode, ...). A batch gives one "
                                                "depth per image. Images over 2048 px are downscaled."),
                "model": common.widget(models.choices("dpt"),
                                       "auto: DPT-Hybrid (dpt_hybrid-midas-501f0c75.pt in models/cinemagraph or "
                                       "controlnet_aux) when present, else the prior. prior: weight-free layout "
                                       "guess (ground plane below a horizon). Ignored when depth_image is connected."),
            },
            "optional": {
                "depth_image": common.widget("IMAGE", "A depth map from any depth node (MiDaS, Depth Anything, "
                                                      "Zoe...), grey in RGB. Resized to the image if needed."),
                "depth_kind": common.widget(list(IMAGE_DEPTH_KINDS), "How to read depth_image: disparity = near "
                                                                     "is bright (most depth nodes); depth = far is "
                                                                     "bright.", default="disparity"),
            },
        }

    RETURN_TYPES = (common.DEPTH, "IMAGE")
    RETURN_NAMES = ("depth", "depth_preview")
    OUTPUT_TOOLTIPS = ("Depth per image (for LDIBuild and FeaturePointCloud).",
                       "Grey disparity (near = bright) to look at or reuse.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Depth of the source image: a connected depth map, DPT-Hybrid, or a weight-free prior."

    @classmethod
    def IS_CHANGED(cls, model: str = models.AUTO, **_):
        return models.fingerprint("dpt", model)

    def run(self, image, model: str = models.AUTO, depth_image=None, depth_kind: str = "disparity"):
        images = tensors.image_batch(image)
        maps = depth_maps(images, depth_image, depth_kind)
        net = None
        if depth_image is None:
            net = models.network("dpt", model)
        elif model not in (models.AUTO, models.weight_free("dpt")):
            log.info("depth_image is connected: the DPT model '%s' is not used", model)
        b = len(maps)
        progress = NodeProgress(b)
        depths = []
        for i in range(b):
            depths.append(resolve_depth(batching.pick(images, i), maps[i], depth_kind, net))
            progress.item(i)(1, 1)
        preview = torch.stack([previews.depth_preview(d) for d in depths])
        return tuple(depths), preview
