"""The whole chain as functions: used by the command line, the ComfyUI nodes and the benchmarks.

``prepare_scene`` runs everything that does not depend on the camera or the frame count (depth,
motion, LDI, features, point cloud); ``render_video`` streams the frames of one camera path.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Iterator, Optional, Sequence

import torch
import torch.nn.functional as F

from . import animate
from .camera import keyframed_path, preset_path
from .choices import (DECODERS, DEPTH_KINDS, FEATURES, INPAINTS, MOTIONS, Decoder, DepthKind, Features, Inpaint, Motion,
                      Precision, check)
from .depth.convert import depth_from_map
from .depth.prior import prior_depth
from .errors import CinemagraphError
from .layers.features import extract_features
from .layers.inpaint import ClassicalInpainter, Inpainter, NoInpainter
from .layers.ldi import build_ldi, single_layer_ldi
from .models import Models
from .motion.field import explicit_motion, motion_from_hints, scale_speed
from .motion.hints import MOTION_SIZE
from .motion.learned import learned_motion
from .motion.propose import describe, proposal_hints, propose_motion
from .networks import stage_files
from .points import build_point_cloud, cloud_on, has_learned_features
from .progress import ProgressFn, scaled
from .render.blend import blend_sides, check_crop, crop_border, finish_rgb
from .render.border import apply_zoom, effective_crop, zoom_for
from .render.decode import decode_learned
from .render.view import compositing_of, render_sides
from .render.warp import iter_warp
from .types import (LDI, Animation, CameraPath, Depth, LayerFeatures, MotionField, MotionHints, MotionProposal,
                    PointCloud, RenderedFrames, RenderSettings)

log = logging.getLogger("cinemagraph")

MAX_SIDE = 2048
"""Default working resolution limit (longer side, px): larger inputs are downscaled with a note."""


@dataclass(frozen=True)
class PipelineConfig:
    """Everything a run can choose. Defaults give the weight-free 3D cinemagraph.

    num_frames: N, frames 0..N-1 of a seamless loop.  fps: playback rate.
    speed: divides the motion (the official flow_scale; 2 = half as fast).
    camera: preset name (``camera.PRESETS``) or keyframe JSON text.  amplitude: camera-move scale.
    sigma: width (px) of the hint map (None = documented default).
    motion_size: side (px) of the square the hints and the motion net work at (official 768).
    depth_kind: how to read a given depth map (``choices.DepthKind``).
    max_side: longer side (px) of the working resolution; larger inputs are downscaled.
    layered: build a multi-layer LDI (False = one layer, the naive point cloud).
    inpaint, features, motion, decoder: each stage's path (``choices``): 'auto' = learned when its
        network is loaded, else weight-free.
    render: splatting, blending and crop settings.
    faithful: reproduce the official demo's numbers, quirks included; False (default) fixes the
        far-layer cut that leaves the farthest pixels (a sky) without motion (``build_ldi``).
    keep_visible: keep the visible pixels that the official layering repaints along every layer
        boundary (``build_ldi``). None (default): on with the weight-free inpainters, off with the
        learned one and with ``faithful``; True/False: as given.
    """

    num_frames: int = 60
    fps: float = 25.0
    speed: float = 1.0
    camera: str = "circle"
    amplitude: float = 1.0
    sigma: Optional[float] = None
    motion_size: int = MOTION_SIZE
    depth_kind: DepthKind = "disparity"
    max_side: int = MAX_SIDE
    layered: bool = True
    inpaint: Inpaint = "auto"
    features: Features = "auto"
    motion: Motion = "auto"
    decoder: Decoder = "auto"
    render: RenderSettings = field(default_factory=RenderSettings)
    faithful: bool = False
    keep_visible: Optional[bool] = None

    def validate(self) -> "PipelineConfig":
        if int(self.num_frames) < 1:
            raise CinemagraphError(f"num_frames must be at least 1, got {self.num_frames}")
        if not (self.fps > 0):
            raise CinemagraphError(f"fps must be > 0, got {self.fps}")
        if not (self.speed > 0):
            raise CinemagraphError(f"speed must be > 0 (1 = official speed, 2 = half as fast), got {self.speed}")
        for name, value, allowed in (("inpaint", self.inpaint, INPAINTS), ("features", self.features, FEATURES),
                                     ("motion", self.motion, MOTIONS), ("decoder", self.decoder, DECODERS),
                                     ("depth_kind", self.depth_kind, DEPTH_KINDS)):
            check(name, value, allowed)
        if not (self.keep_visible is None or isinstance(self.keep_visible, bool)):
            raise CinemagraphError(f"keep_visible must be None (auto), True or False, got {self.keep_visible!r}")
        if int(self.max_side) < 32:
            raise CinemagraphError(f"max_side must be at least 32 px, got {self.max_side}")
        if int(self.motion_size) < 1:
            raise CinemagraphError(f"motion_size must be a positive number of px (official {MOTION_SIZE}), "
                                   f"got {self.motion_size}")
        make_camera(self.camera, int(self.num_frames), self.amplitude)
        return self


@dataclass(frozen=True)
class Scene:
    """Everything camera-independent: the source view lifted to an animatable point cloud.

    stages: which path each stage took, e.g. {'depth': 'dpt', 'motion': 'hints', 'inpaint': 'classical',
    'features': 'rgba'}; motion 'proposed' (or 'learned+proposed') when neither hints nor a flow
    were given and the motion was proposed from the image (``proposal``).
    """

    image: torch.Tensor
    depth: Depth
    motion: MotionField
    ldi: LDI
    features: LayerFeatures
    cloud: PointCloud
    stages: dict
    proposal: Optional[MotionProposal] = None


def fit_image(image: torch.Tensor, max_side: int, multiple: int = 1) -> torch.Tensor:
    """Downscale ``(3,H,W)`` so the longer side is <= max_side (area filter); sizes rounded down to ``multiple``."""
    h, w = int(image.shape[1]), int(image.shape[2])
    s = min(1.0, max_side / max(h, w))
    nh, nw = max(multiple, int(h * s) // multiple * multiple), max(multiple, int(w * s) // multiple * multiple)
    if (nh, nw) == (h, w):
        return image
    log.info("working resolution %dx%d (input %dx%d)", nw, nh, w, h)
    return F.interpolate(image[None], size=(nh, nw), mode="area")[0]


def resolve_depth(image: torch.Tensor, depth_map: Optional[torch.Tensor], kind: DepthKind, dpt=None,
                  precision: Precision = "fp32") -> Depth:
    """Depth for ``image`` (3,H,W): a given map (read as ``kind``), else the DPT net ``dpt`` (at
    ``precision``) when given, else the weight-free prior."""
    h, w = int(image.shape[1]), int(image.shape[2])
    if depth_map is not None:
        return depth_from_map(depth_map, kind=kind, size=(h, w))
    if dpt is not None:
        from .depth.dpt import estimate_depth

        return estimate_depth(image, dpt, precision=precision)
    return prior_depth(image)


def resolve_motion(image: torch.Tensor, hints: Optional[MotionHints], flow: Optional[torch.Tensor],
                   choice: Motion = "auto", net=None, speed: float = 1.0, motion_size: int = MOTION_SIZE,
                   precision: Precision = "fp32") -> MotionField:
    """Motion field ``(2,H,W)`` px/frame: an explicit ``flow``, else the motion net ``net`` when ``choice``
    asks for it, else the hints. speed divides the motion (official flow_scale); motion_size: the
    motion net's square working size."""
    check("motion", choice, MOTIONS)
    h, w = int(image.shape[1]), int(image.shape[2])
    if flow is not None:
        return scale_speed(explicit_motion(flow, (h, w)), speed)
    if hints is None:
        raise CinemagraphError("no motion given: pass flow hints (arrows or labelme JSON) and a mask, or a flow field")
    if _learned("motion", choice, net):
        return learned_motion(image, hints, net, (h, w), speed=speed, motion_size=motion_size, precision=precision)
    return motion_from_hints(hints, (h, w), speed=speed, motion_size=motion_size)


def _learned(stage: str, choice: str, net) -> bool:
    """Whether ``stage`` runs its network for ``choice`` ('learned', or 'auto' with ``net`` loaded)."""
    if choice == "learned" and net is None:
        raise CinemagraphError(f"{stage}='learned' needs {stage_files(stage)} in the models folder")
    return choice == "learned" or (choice == "auto" and net is not None)


def resolve_inpainter(choice: Inpaint, learned: Optional[Inpainter] = None) -> Inpainter:
    """The inpainter ``choice`` names; ``learned``: the loaded 3D-Photo inpainter, if any."""
    check("inpaint", choice, INPAINTS)
    if choice == "none":
        return NoInpainter()
    return learned if _learned("inpaint", choice, learned) else ClassicalInpainter()


def resolve_features(ldi: LDI, choice: Features, net=None, precision: Precision = "fp32") -> LayerFeatures:
    """Per-layer features of ``ldi``: the feature net ``net`` when ``choice`` asks for it, else RGBA only."""
    check("features", choice, FEATURES)
    return extract_features(ldi, net if _learned("features", choice, net) else None, precision=precision)


def prepare_scene(image: torch.Tensor, *, depth: Optional[torch.Tensor | Depth] = None,
                  hints: Optional[MotionHints] = None, flow: Optional[torch.Tensor] = None,
                  config: PipelineConfig = PipelineConfig(), models: Optional[Models] = None,
                  progress: Optional[ProgressFn] = None) -> Scene:
    """Image ``(3,H,W)`` float 0..1 (+ optional depth map/Depth, hints, flow ``(2,H,W)`` px/frame) -> Scene.

    The image is used at its own resolution (call ``fit_image`` first to bound it). With neither
    hints nor a flow the motion is proposed from the image (``motion.propose``; CinemagraphError
    when it finds nothing to animate). Reports progress over 5 stages.
    """
    config.validate()
    models = models or Models()
    h, w = int(image.shape[1]), int(image.shape[2])
    total = 5
    report = (lambda i: progress(i, total)) if progress is not None else (lambda i: None)
    report(0)
    dep = depth if isinstance(depth, Depth) else resolve_depth(image, depth, config.depth_kind, models.dpt,
                                                               models.precision)
    if dep.size != (h, w):
        raise CinemagraphError(f"depth is {dep.size[1]}x{dep.size[0]} but the image is {w}x{h}")
    report(1)
    proposal = None
    if hints is None and flow is None:
        proposal = propose_motion(image, dep)
        log.info("no mask and no arrows: motion proposed from the image:\n%s", describe(proposal))
        hints = proposal_hints(proposal, config.sigma)
    motion = resolve_motion(image, hints, flow, config.motion, models.motion, config.speed, config.motion_size,
                            models.precision)
    report(2)
    if config.layered:
        keep = False if config.faithful and config.keep_visible is None else config.keep_visible
        ldi = build_ldi(image, dep.depth, resolve_inpainter(config.inpaint, models.inpainter),
                        progress=scaled(progress, 2, 1, total), official_far_cut=config.faithful, keep_visible=keep)
    else:
        ldi = single_layer_ldi(image, dep.depth)
    report(3)
    features = resolve_features(ldi, config.features, models.feature_net, models.precision)
    report(4)
    cloud = build_point_cloud(ldi, features, dep.K)
    report(5)
    stages = {"depth": dep.source, "motion": _motion_stage(motion, proposal),
              "inpaint": ldi.inpainter if config.layered else "single-layer", "features": features.source}
    log.info("stages: %s", ", ".join(f"{k}={v}" for k, v in stages.items()))
    return Scene(image=image, depth=dep, motion=motion, ldi=ldi, features=features, cloud=cloud, stages=stages,
                 proposal=proposal)


def _motion_stage(motion: MotionField, proposal: Optional[MotionProposal]) -> str:
    if proposal is None:
        return motion.source
    return "proposed" if motion.source == "hints" else f"{motion.source}+proposed"


def make_camera(spec: str, num_frames: int, amplitude: float = 1.0) -> CameraPath:
    """A preset name or keyframe JSON text -> CameraPath of ``num_frames`` frames."""
    text = spec.strip()
    if text.startswith("{"):
        return keyframed_path(text, num_frames)
    return preset_path(text, num_frames, amplitude=amplitude)


def make_frames(scene: Scene, config: PipelineConfig = PipelineConfig(),
                camera: Optional[CameraPath] = None) -> RenderedFrames:
    """The lazily rendered video of ``scene`` along ``camera`` (default: ``config.camera``)."""
    config.validate()
    cam = camera or make_camera(config.camera, config.num_frames, config.amplitude)
    if cam.num_frames != config.num_frames:
        raise CinemagraphError(f"the camera path has {cam.num_frames} frames but {config.num_frames} were asked for")
    anim = Animation(cloud=scene.cloud, motion=scene.motion, num_frames=config.num_frames,
                     symmetric=config.render.symmetric)
    return RenderedFrames(animation=anim, camera=cam, settings=config.render, fps=config.fps)


def decoder_for(frames: RenderedFrames, choice: Decoder, net=None):
    """The image decoder ``net`` when ``choice`` asks for it ('learned', or 'auto' with ``net`` loaded and
    the points carrying learned features), else None (the weight-free blend)."""
    check("decoder", choice, DECODERS)
    learned_points = has_learned_features(frames.animation.cloud)
    if choice == "auto" and not learned_points:
        return None
    if not _learned("decoder", choice, net):
        return None
    if not learned_points:
        raise CinemagraphError("the learned decoder needs points with learned features (features 'learned', or "
                               "'auto' with the feature net); or use the weight-free blend")
    return net


def render_settings_for(settings: RenderSettings, decoder=None) -> RenderSettings:
    """The settings frames are rendered with, given the decoder (None = the weight-free blend).

    Renderer ``'auto'`` becomes ``'warp'`` for the weight-free blend (``'splat'`` with the pytorch3d
    backend, which only splats); the learned decoder always gets ``'splat'`` with ``'official'``
    compositing, the maps it was trained on (an explicit ``'warp'`` or ``'surface'`` is overridden
    with a warning). For splats, compositing ``'auto'`` becomes ``'surface'`` for the weight-free
    blend (``'official'`` with the pytorch3d backend).
    """
    renderer, mode = settings.renderer, settings.compositing
    if decoder is not None:
        if renderer == "warp":
            log.warning("renderer 'warp' is for the weight-free blend; the learned image decoder was trained on the "
                        "official splats, so they are used")
        if mode == "surface":
            log.warning("compositing 'surface' is for the weight-free blend; the learned image decoder was trained "
                        "on the official splats, so they are used")
        settings = replace(settings, renderer="splat", compositing="official" if mode in ("auto", "surface") else mode)
    else:
        if renderer == "auto":
            settings = replace(settings, renderer="splat" if settings.backend == "pytorch3d" else "warp")
        if mode == "auto":
            settings = replace(settings, compositing="official" if settings.backend == "pytorch3d" else "surface")
    compositing_of(settings)
    return settings


def iter_rgb(frames: RenderedFrames, decoder=None, indices: Optional[Sequence[int]] = None,
             progress: Optional[ProgressFn] = None, precision: Precision = "fp32",
             device: Optional[torch.device | str] = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(t, rgb (3,h,w) float 0..1 on the CPU)`` for frames ``indices`` (default all) in increasing order.

    decoder: the learned image decoder (None = the weight-free blend), run at ``precision``.
    Rendering follows ``render_settings_for(frames.settings, decoder)``; the border mode may zoom the
    camera (``render.border``). device: where the frames are made (default: the decoder's device, else
    the point cloud's): the scene is moved there once, and every frame's points, splats (backend
    ``'auto'``: torch ops off the CPU) or warps and the decoder stay there; only the RGB comes back.
    """
    anim = frames.animation
    animate.check_animation(anim)
    settings = render_settings_for(frames.settings, decoder)
    wanted = sorted(set(range(frames.num_frames) if indices is None else (int(i) for i in indices)))
    if wanted and not (0 <= wanted[0] and wanted[-1] < frames.num_frames):
        raise CinemagraphError(f"frame indices must be in 0..{frames.num_frames - 1}")
    cam = apply_zoom(frames.camera, zoom_for(settings, anim.cloud, frames.camera))
    crop = effective_crop(settings)
    check_crop(crop, anim.cloud.size)
    if device is None and decoder is not None:
        device = next(decoder.parameters()).device
    if settings.renderer == "warp":
        rendered = iter_warp(replace(frames, settings=settings), cam, wanted, crop, device)
    else:
        if device is not None:
            anim = replace(anim, cloud=cloud_on(anim.cloud, device),
                           motion=replace(anim.motion, flow=anim.motion.flow.to(device)))
        rendered = _iter_splat(anim, cam, settings, wanted, crop, decoder, precision)
    if progress is not None:
        progress(0, len(wanted))
    for done, (t, rgb) in enumerate(rendered, start=1):
        yield t, rgb
        if progress is not None:
            progress(done, len(wanted))


def _iter_splat(anim: Animation, cam: CameraPath, settings: RenderSettings, wanted: list[int], crop: int,
                decoder, precision: Precision) -> Iterator[tuple[int, torch.Tensor]]:
    """The splat renderer's frames: both sides splatted (``render.view``), then the blend or the decoder."""
    K = anim.cloud.K
    for t, fwd, bwd, time in animate.iter_frames(anim, wanted):
        maps = render_sides(fwd, bwd, K, torch.as_tensor(cam.poses[t]), time, settings, K_scale=float(cam.K_scale[t]),
                            size=anim.cloud.size)
        if decoder is not None:
            yield t, crop_border(decode_learned(maps, decoder, precision), crop)
        else:
            yield t, finish_rgb(blend_sides(maps, settings.depth_sharpness), fill_holes=settings.fill_holes,
                                crop=crop).cpu()


def render_video(image: torch.Tensor, *, depth=None, hints: Optional[MotionHints] = None,
                 flow: Optional[torch.Tensor] = None, config: PipelineConfig = PipelineConfig(),
                 models: Optional[Models] = None, camera: Optional[CameraPath] = None,
                 progress: Optional[ProgressFn] = None) -> Iterator[tuple[int, torch.Tensor]]:
    """The whole chain: image (+ depth, hints or flow) -> frames ``(t, rgb (3,h,w))`` of a seamless loop."""
    models = models or Models()
    scene = prepare_scene(image, depth=depth, hints=hints, flow=flow, config=config, models=models)
    frames = make_frames(scene, config, camera)
    return iter_rgb(frames, decoder_for(frames, config.decoder, models.img_decoder), progress=progress,
                    precision=models.precision)

