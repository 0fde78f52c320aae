"""Cinemagraph3D: the whole chain in one node with sensible defaults."""
from __future__ import annotations

from cinemagraph_core.choices import BACKENDS, BORDERS, IMAGE_DEPTH_KINDS, RENDERERS
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.models import Models
from cinemagraph_core.pipeline import (PipelineConfig, decoder_for, iter_rgb, make_frames, prepare_scene,
                                       render_settings_for)
from cinemagraph_core.progress import scaled
from cinemagraph_core.types import RenderSettings

from . import batching, common, tensors
from .comfy import NodeProgress, torch_device
from .common import CameraSpec
from .depth_nodes import depth_maps
from .models import found_fingerprint, found_networks
from .motion_nodes import AUTO_HELP, HINTS_HELP, hints_for, nothing_drawn
from .render_nodes import (BACKEND_HELP, BORDER_HELP, MAX_FRAMES, RENDERER_HELP, camera_presets, check_camera,
                           check_crop)

MODEL_CHOICES = ("auto", "weight-free")
PREPARE_STEPS = 5
"""Progress units of ``prepare_scene`` (depth, motion, LDI, features, points)."""


class Cinemagraph3D:
    """Image + mask + arrows (or, with nothing drawn, the proposed motion) -> a looping 3D cinemagraph (IMAGE
    frames + fps)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": common.widget("IMAGE", "The source image (Load Image, VAE Decode, ...). A batch of B "
                                                "images gives B cinemagraphs, one after another."),
                "hints": common.widget("STRING", HINTS_HELP, multiline=True, default=""),
                "frames": common.widget("INT", "Frames in the loop.", default=60, min=1, max=MAX_FRAMES),
                "fps": common.widget("FLOAT", "Playback rate (the official demo: 25).",
                                     default=25.0, min=1.0, max=120.0, step=1.0),
                "camera": common.widget(camera_presets(), "Camera path (see the CameraPath node for keyframes).",
                                        default="circle"),
                "amplitude": common.widget("FLOAT", "Scales the camera move (1 = official magnitude).",
                                           default=1.0, min=0.0, max=10.0, step=0.05),
                "speed": common.widget("FLOAT", "Divides the fluid motion: 2 = half as fast.",
                                       default=1.0, min=0.05, max=20.0, step=0.05),
                "max_side": common.widget("INT", "Working resolution: the longer side in px (larger images are "
                                                 "downscaled). Time grows with the pixel count.",
                                          default=768, min=64, max=2048, step=16),
                "crop": common.widget("INT", "Pixels cut from every side of the video (official 32).",
                                      default=0, min=0, max=512),
                "models": common.widget(list(MODEL_CHOICES), "auto: use every official model file found in "
                                                             "models/cinemagraph (each missing one runs "
                                                             "weight-free). weight-free: use none.",
                                        default="auto"),
            },
            "optional": {
                "mask": common.widget("MASK", "Where the fluid is (painted = moves), e.g. Load Image's MASK."),
                "depth_image": common.widget("IMAGE", "A depth map from any depth node (grey, near = bright by "
                                                      "default); else DPT or the prior."),
                "depth_kind": common.widget(list(IMAGE_DEPTH_KINDS), "disparity: near is bright; depth: far is bright.",
                                            default="disparity"),
                "renderer": common.widget(list(RENDERERS), RENDERER_HELP, default="auto"),
                "border": common.widget(list(BORDERS), BORDER_HELP, default="zoom"),
                "backend": common.widget(list(BACKENDS), BACKEND_HELP, default="auto"),
                "auto": common.widget("BOOLEAN", AUTO_HELP, default=True),
            },
        }

    RETURN_TYPES = ("IMAGE", "FLOAT", "INT")
    RETURN_NAMES = ("images", "fps", "frames_per_image")
    OUTPUT_TOOLTIPS = ("All frames (N,H,W,3): image 0's N frames first, then image 1's, ...",
                       "Frames per second, for Create Video / Save Animated WEBP.",
                       "Frames of each cinemagraph (N).")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "The whole 3D cinemagraph chain in one node (depth, motion, LDI, points, animation, render)."

    @classmethod
    def IS_CHANGED(cls, models: str = "auto", **_):
        if models != "auto":
            return models
        return found_fingerprint()

    def run(self, image, hints: str, frames: int = 60, fps: float = 25.0, camera: str = "circle",
            amplitude: float = 1.0, speed: float = 1.0, max_side: int = 768, crop: int = 0, models: str = "auto",
            renderer: str = "auto", border: str = "zoom", mask=None, depth_image=None, depth_kind: str = "disparity",
            backend: str = "auto", auto: bool = True):
        images = tensors.image_batch(image, max_side=max_side)
        if auto and nothing_drawn(hints, mask):
            hint_items = [None] * len(images)  # prepare_scene proposes the motion, with the scene's depth
        else:
            hint_items = hints_for(image, hints, mask, max_side=max_side, auto=False)
        maps = depth_maps(images, depth_image, depth_kind)
        b = batching.batch_size(image=len(images), mask=len(hint_items), depth_image=len(maps))
        config = PipelineConfig(num_frames=frames, fps=fps, speed=speed, camera=camera, amplitude=amplitude,
                                depth_kind=depth_kind, max_side=max_side,
                                render=RenderSettings(crop=crop, renderer=renderer, border=border, backend=backend)
                                ).validate()
        render_settings_for(config.render)
        check_crop(crop, tuple(images[0].shape[1:]))
        check_camera(CameraSpec(camera, amplitude))
        nets = self._networks(models)
        progress = NodeProgress(b)
        out = batching.FrameBatch(b, frames)
        for i in range(b):
            report = progress.item(i)
            total = PREPARE_STEPS + frames
            scene = prepare_scene(batching.pick(images, i), depth=batching.pick(maps, i),
                                  hints=batching.pick(hint_items, i), config=config, models=nets,
                                  progress=scaled(report, 0, PREPARE_STEPS, total))
            video = make_frames(scene, config)
            for t, rgb in iter_rgb(video, decoder_for(video, config.decoder, nets.img_decoder),
                                   progress=scaled(report, PREPARE_STEPS, frames, total), device=torch_device()):
                out.put(i, t, rgb)
        return out.image, float(config.fps), frames

    @staticmethod
    def _networks(choice: str) -> Models:
        if choice not in MODEL_CHOICES:
            raise CinemagraphError(f"models must be one of {', '.join(MODEL_CHOICES)}, got {choice!r}")
        return found_networks() if choice == "auto" else Models()
