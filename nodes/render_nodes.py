"""SymmetricAnimate, CameraPath, SplatRender and Decode: from the animated cloud to video frames.

The frame count lives in SymmetricAnimate and the camera is resolved in SplatRender, so changing
only the camera, the frame count or the render settings re-runs only these nodes (ComfyUI keeps
the cached depth, motion, LDI and point cloud).
"""
from __future__ import annotations

import logging
from dataclasses import replace

from cinemagraph_core.choices import BACKENDS, BORDERS, COMPOSITINGS, RENDERERS
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.pipeline import PipelineConfig, decoder_for, iter_rgb, make_camera
from cinemagraph_core.types import Animation, MotionField, PointCloud, RenderedFrames, RenderSettings

from . import batching, common, models, tensors
from .comfy import NodeProgress, torch_device

log = logging.getLogger("cinemagraph")

MAX_FRAMES = 1000
RENDERER_HELP = ("auto: warp for the blend decoder, splat for the learned one. warp: every depth layer warped as a "
                 "textured surface (clean moving water and object edges; runs on ComfyUI's GPU). splat: point "
                 "splatting (what the learned decoder needs).")
BACKEND_HELP = ("Splat renderer's splatter (all give the same frames). auto: torch ops on ComfyUI's GPU, NumPy on the "
                "CPU (the faster there). numpy: CPU. torch: torch ops on ComfyUI's device. pytorch3d: its "
                "rasteriser when installed (else auto).")
BORDER_HELP = ("What the moving camera uncovers at the frame border. zoom: zoom in just enough to keep it out of view "
               "(the factor is logged). crop: cut `crop` px from every side (32 when crop is 0, as the official "
               "demo). fill: fill it in from the neighbouring pixels.")


def camera_presets() -> list[str]:
    from cinemagraph_core.camera import PRESETS

    return list(PRESETS)


def check_camera(spec: common.CameraSpec) -> common.CameraSpec:
    """Resolve the spec once so a bad preset or keyframe JSON fails in the CameraPath node itself."""
    make_camera(spec.spec, 2, spec.amplitude)
    return spec


def check_crop(crop: int, size: tuple[int, int]) -> None:
    """Raise unless ``crop`` px per side leaves some of an image of ``size`` (h, w)."""
    h, w = size
    if not isinstance(crop, int) or crop < 0 or 2 * crop >= min(h, w):
        raise CinemagraphError(f"crop must be a whole number of px per side in 0..{(min(h, w) - 1) // 2} for the "
                               f"{w}x{h} image, got {crop!r}")


def pytorch3d_available() -> bool:
    try:
        import pytorch3d.renderer  # noqa: F401
    except ImportError:
        return False
    return True


class SymmetricAnimate:
    """Animate the point cloud with the motion field: N frames of a seamless loop."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "points": common.widget(common.POINTS, "Point cloud from FeaturePointCloud."),
                "motion": common.widget(common.FLOW, "Motion field from EulerianMotion."),
                "frames": common.widget("INT", "Frames in the loop (the video repeats seamlessly after them).",
                                        default=60, min=1, max=MAX_FRAMES),
                "symmetric": common.widget("BOOLEAN", "On: the paper's symmetric animation (a forward and a "
                                                      "backward copy blended over time, no holes opening). Off: "
                                                      "forward only (naive; holes grow).", default=True),
            },
        }

    RETURN_TYPES = (common.ANIMATION,)
    RETURN_NAMES = ("animation",)
    OUTPUT_TOOLTIPS = ("Animation per image (for SplatRender); frames are made on demand.",)
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Symmetric animation of the 3D points (frames computed lazily when rendering)."

    def run(self, points, motion, frames: int = 60, symmetric: bool = True):
        clouds = batching.items_of(points, PointCloud, "points")
        fields = batching.items_of(motion, MotionField, "motion")
        b = batching.batch_size(points=len(clouds), motion=len(fields))
        if not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
            raise CinemagraphError(f"frames must be a whole number in 1..{MAX_FRAMES}, got {frames!r}")
        anims = []
        for i in range(b):
            cloud, field = batching.pick(clouds, i), batching.pick(fields, i)
            tensors.check_size(cloud.size, field.size, "the motion field",
                               "connect the same image to MaskHints/EulerianMotion and DepthDPT/LDIBuild")
            anims.append(Animation(cloud=cloud, motion=field, num_frames=frames, symmetric=bool(symmetric)))
        return (tuple(anims),)


class CameraPath:
    """How the camera moves during the loop: a preset or keyframes, scaled by the amplitude."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "preset": common.widget(camera_presets() + [common.KEYFRAMES],
                                        "Camera path; keyframes = use the keyframe JSON below. The official "
                                        "paths are up-down, zoom-in, side, circle (one-way except circle).",
                                        default="circle"),
                "amplitude": common.widget("FLOAT", "Scales the camera move (1 = official magnitude, 0 = still).",
                                           default=1.0, min=0.0, max=10.0, step=0.05),
            },
            "optional": {
                "keyframes": common.widget("STRING", 'Used when preset = keyframes: {"keyframes": [{"t": 0.0, '
                                                     '"xyz": [0, 0, 0]}, {"t": 0.5, "xyz": [0.05, 0, -0.1]}]}, '
                                                     "t in [0, 1) of the loop, xyz in scene units (nearest depth "
                                                     "= 1); the path loops smoothly.",
                                           multiline=True, default=""),
            },
        }

    RETURN_TYPES = (common.CAMERA,)
    RETURN_NAMES = ("camera",)
    OUTPUT_TOOLTIPS = ("Camera path for SplatRender (the frame count comes from SymmetricAnimate).",)
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Camera path: preset or keyframed JSON, resolved with the animation's frame count."

    def run(self, preset: str = "circle", amplitude: float = 1.0, keyframes: str = ""):
        if not isinstance(amplitude, (int, float)) or not amplitude >= 0:
            raise CinemagraphError(f"amplitude must be >= 0, got {amplitude!r}")
        if preset == common.KEYFRAMES:
            if not isinstance(keyframes, str) or not keyframes.strip():
                raise CinemagraphError('preset is "keyframes" but the keyframes text is empty: write JSON like '
                                       '{"keyframes": [{"t": 0.0, "xyz": [0, 0, 0]}, {"t": 0.5, "xyz": [0.05, 0, 0]}]}'
                                       " or pick a preset")
            return (check_camera(common.CameraSpec(keyframes.strip(), float(amplitude))),)
        if preset not in camera_presets():
            raise CinemagraphError(f"unknown camera preset {preset!r}; choose one of "
                                   f"{', '.join(camera_presets())} or {common.KEYFRAMES}")
        return (check_camera(common.CameraSpec(preset, float(amplitude))),)


class SplatRender:
    """Set up the rendering of the animation through the camera (frames are splatted lazily in Decode)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "animation": common.widget(common.ANIMATION, "Animation from SymmetricAnimate."),
                "camera": common.widget(common.CAMERA, "Camera path from CameraPath."),
                "fps": common.widget("FLOAT", "Playback rate of the video (the official demo: 25).",
                                     default=25.0, min=1.0, max=120.0, step=1.0),
                "radius": common.widget("FLOAT", "Point radius in px at the source view (official 1.5); larger "
                                                 "fills gaps, smaller is sharper.",
                                        default=1.5, min=0.5, max=8.0, step=0.1),
                "points_per_pixel": common.widget("INT", "Nearest points blended per pixel (official 8).",
                                                  default=8, min=1, max=32),
                "crop": common.widget("INT", "Pixels cut from every side (official 32: hides the border the "
                                             "camera move uncovers).", default=0, min=0, max=512),
                "fill_holes": common.widget("BOOLEAN", "Fill pixels no point covers from their neighbours.",
                                            default=True),
                "backend": common.widget(list(BACKENDS), BACKEND_HELP, default="auto"),
            },
            "optional": {
                "compositing": common.widget(list(COMPOSITINGS),
                                             "Splat renderer only. auto: surface for the blend decoder, official for "
                                             "the learned one. surface: sharp weight-free splats (an unmoved view "
                                             "reproduces the image; not with pytorch3d). official: the paper's "
                                             "splats (slightly blurred and shifted; what the learned decoder "
                                             "expects).", default="auto"),
                "renderer": common.widget(list(RENDERERS), RENDERER_HELP, default="auto"),
                "border": common.widget(list(BORDERS), BORDER_HELP, default="zoom"),
            },
        }

    RETURN_TYPES = (common.FRAMES,)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("Rendered frames (lazy) for Decode.",)
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Point splatting settings + camera; the frames are rendered (in a stream) by Decode."

    def run(self, animation, camera, fps: float = 25.0, radius: float = 1.5, points_per_pixel: int = 8,
            crop: int = 0, fill_holes: bool = True, backend: str = "auto", compositing: str = "auto",
            renderer: str = "auto", border: str = "zoom"):
        anims = batching.items_of(animation, Animation, "animation")
        if not isinstance(camera, common.CameraSpec):
            raise CinemagraphError(f"camera: expected the output of a CameraPath node, got {type(camera).__name__}")
        if backend == "pytorch3d" and not pytorch3d_available():
            log.warning("pytorch3d is not installed: rendering with the built-in splatters (backend auto)")
            backend = "auto"
        settings = RenderSettings(radius_px=float(radius), points_per_pixel=int(points_per_pixel), backend=backend,
                                  crop=crop, fill_holes=bool(fill_holes), compositing=compositing,
                                  renderer=renderer, border=border)
        if compositing == "surface" and backend == "pytorch3d":
            raise CinemagraphError("compositing 'surface' needs a built-in splatter (pytorch3d only has the official "
                                   "compositing): set backend to auto, numpy or torch, or compositing to auto/official")
        config = PipelineConfig(fps=fps).validate()
        out = []
        for anim in anims:
            check_crop(crop, anim.cloud.size)
            path = make_camera(camera.spec, anim.num_frames, camera.amplitude)
            out.append(RenderedFrames(animation=anim, camera=path, settings=replace(settings, symmetric=anim.symmetric),
                                      fps=config.fps))
        return (tuple(out),)


class Decode:
    """Render and decode every frame to RGB: IMAGE frames + fps for SaveAnimatedWEBP or CreateVideo."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "frames": common.widget(common.FRAMES, "Rendered frames from SplatRender."),
                "decoder": common.widget(models.choices("img_decoder"),
                                         "auto: the learned image decoder (model_150000.pth) when present and the "
                                         "points carry learned features, else blend. blend: weight-free two-side "
                                         "blend of the splatted colours."),
            },
        }

    RETURN_TYPES = ("IMAGE", "FLOAT", "INT")
    RETURN_NAMES = ("images", "fps", "frames_per_image")
    OUTPUT_TOOLTIPS = ("All frames (N,H,W,3): image 0's N frames first, then image 1's, ...",
                       "Frames per second, for Create Video / Save Animated WEBP.",
                       "Frames of each cinemagraph (N), to split a batch of several.")
    FUNCTION = "run"
    CATEGORY = common.CATEGORY
    DESCRIPTION = "Splat and decode every frame to RGB (streamed: one frame in memory at a time)."

    @classmethod
    def IS_CHANGED(cls, decoder: str = models.AUTO, **_):
        return models.fingerprint("img_decoder", decoder)

    def run(self, frames, decoder: str = models.AUTO):
        videos = batching.items_of(frames, RenderedFrames, "frames")
        sizes = {v.size for v in videos}
        if len(sizes) > 1 or len({v.num_frames for v in videos}) > 1:
            raise CinemagraphError("the cinemagraphs of one batch must have the same size and frame count")
        net = models.network("img_decoder", decoder)
        progress = NodeProgress(len(videos))
        n = videos[0].num_frames
        out = batching.FrameBatch(len(videos), n)
        device = torch_device()
        for i, video in enumerate(videos):
            for t, rgb in iter_rgb(video, self._decoder(video, net, decoder), progress=progress.item(i),
                                   device=device):
                out.put(i, t, rgb)
        return out.image, float(videos[0].fps), n

    @staticmethod
    def _decoder(video: RenderedFrames, net, choice: str):
        """The decoder a dropdown choice runs: 'auto' as the pipeline's, a file as 'learned'."""
        return decoder_for(video, "auto" if choice == models.AUTO else "learned" if net is not None else "blend", net)
