"""The objects that travel between pipeline stages (and between ComfyUI nodes).

Conventions used everywhere in the package:

* Image space: x = column, y = row, pixel (x, y) has integer coordinates (OpenCV grid).
* Tensors are ``torch.float32`` on the CPU unless a field says otherwise.
* Depth is in depth-map units: for relative maps the nearest pixel has depth 1 (as the official
  code's ``1 / normalised disparity``); metric maps keep their own unit.
* Camera frame: OpenCV axes (x right, y down, z forward). A pose moves *points*:
  ``p' = R p + t`` (the camera itself moves by ``-t``), as in the official renderer.
* Motion is an Eulerian flow field in px/frame at image resolution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .choices import BACKENDS, BORDERS, COMPOSITINGS, RENDERERS, Backend, Border, Compositing, Renderer, check
from .errors import CinemagraphError

Arrow = tuple[float, float, float, float]
"""A flow hint ``(x0, y0, x1, y1)`` in source-image pixels: start -> end."""


@dataclass(frozen=True)
class Depth:
    """Depth of the source view.

    depth: ``(H,W)`` float32, depth units, finite and > 0.
    K: ``(3,3)`` float32 intrinsics in px.
    disparity: ``(H,W)`` float32 min-max normalised disparity 0..1 the depth came from, or None
        (metric input).
    source: how it was made, e.g. ``'external-disparity'``, ``'external-depth'``,
        ``'external-metric'``, ``'dpt'``, ``'prior'``.
    """

    depth: torch.Tensor
    K: torch.Tensor
    disparity: Optional[torch.Tensor] = None
    source: str = "external-disparity"

    @property
    def size(self) -> tuple[int, int]:
        return int(self.depth.shape[0]), int(self.depth.shape[1])


@dataclass(frozen=True)
class MotionHints:
    """User guidance for the motion: where things move and which way.

    mask: ``(H,W)`` float32 0..1, 1 = fluid that may move.
    arrows: flow hints in source-image pixels (start -> end); the official motion per arrow is
        ``(end - start) / 50`` px/frame.
    sigma: Gaussian width (px) of the dense hint map, or None for the documented default.
    dense: ``(2,H,W)`` float32 px/frame (x, y) hint map used instead of the one spread from the arrows
        (a motion proposal's, which slows water with depth), or None.
    """

    mask: torch.Tensor
    arrows: tuple[Arrow, ...] = ()
    sigma: Optional[float] = None
    dense: Optional[torch.Tensor] = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.mask.shape[0]), int(self.mask.shape[1])


FLUID_KINDS = ("clouds", "river", "lake", "waterfall", "smoke")
"""What a proposed fluid region is: sky with clouds or haze, flowing water, open water (lake, sea),
falling water, rising smoke or steam."""


@dataclass(frozen=True)
class FluidRegion:
    """One region of a motion proposal (``motion.propose``).

    kind: one of ``FLUID_KINDS``.  mask: ``(H,W)`` float32 0/1, 1 = this region.
    confidence: 0..1, how clearly the image shows it.  arrows: its flow hints in image px
    (start -> end, motion = (end - start) / 50 px/frame, as drawn arrows).  speed: ``(H,W)`` float32
    px/frame for water coming towards the viewer (slower with depth, see ``fluid_arrows``), whose
    arrows then give only the direction; None: the arrows give the speed too.
    """

    kind: str
    mask: torch.Tensor
    confidence: float
    arrows: tuple[Arrow, ...]
    speed: Optional[torch.Tensor] = None

    @property
    def area(self) -> float:
        """Fraction of the image the region covers."""
        return float(self.mask.mean())


@dataclass(frozen=True)
class MotionProposal:
    """What would move in an image, proposed from the image alone (``motion.propose``).

    regions: the fluid regions found, most confident first (empty when there is nothing to animate).
    size: ``(H,W)`` of the image.  note: a sentence saying what was found, or why nothing was.
    """

    regions: tuple[FluidRegion, ...]
    size: tuple[int, int]
    note: str = ""

    @property
    def mask(self) -> torch.Tensor:
        """``(H,W)`` float32 0/1 union of the regions' masks."""
        out = torch.zeros(self.size)
        for r in self.regions:
            out = torch.maximum(out, r.mask)
        return out

    @property
    def arrows(self) -> tuple[Arrow, ...]:
        """Every region's arrows, region by region."""
        return tuple(a for r in self.regions for a in r.arrows)


@dataclass(frozen=True)
class MotionField:
    """Eulerian motion M, constant in time.

    flow: ``(2,H,W)`` float32, (x, y) in px/frame at image resolution.
    source: ``'hints'``, ``'explicit'``, ``'learned'``, ...
    """

    flow: torch.Tensor
    source: str = "hints"

    @property
    def size(self) -> tuple[int, int]:
        return int(self.flow.shape[1]), int(self.flow.shape[2])


@dataclass(frozen=True)
class LDI:
    """Layered depth image, near to far.

    rgba: ``(L,4,H,W)`` float32 0..1; RGB premultiplied by alpha for layer 0, inpainted colour
        elsewhere (SPEC f).
    depth: ``(L,1,H,W)`` float32 depth units (not yet clamped to [1e-3, 1000]).
    mask: ``(L,1,H,W)`` float32 0/1 pre-inpainting visibility (not a partition of the image).
    bins: ``(L_bins+1,)`` float64 depth-bin edges (thin layers may have been skipped, so
        ``L <= L_bins``).
    inpainter: name of the inpainting backend that filled the occluded parts.
    """

    rgba: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    bins: np.ndarray
    inpainter: str = "classical"

    @property
    def num_layers(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgba.shape[2]), int(self.rgba.shape[3])


@dataclass(frozen=True)
class LayerFeatures:
    """Per-layer 2D features for the point cloud.

    maps: ``(L,C,h,w)`` float32 feature maps (the official ResUNet: C = 32 at quarter resolution),
        or None for the weight-free "w/o features" variant (RGBA only).
    source: ``'rgba'`` or ``'learned'``.
    """

    maps: Optional[torch.Tensor] = None
    source: str = "rgba"

    @property
    def channels(self) -> int:
        return 0 if self.maps is None else int(self.maps.shape[1])


@dataclass(frozen=True)
class PointCloud:
    """The LDI lifted to 3D, everything that does not change from frame to frame.

    pixels: per layer, ``(P_i,)`` int64 row-major pixel indices ``y*W + x`` of the layer's points
        (alpha > 0.5), ascending.
    attrs: per layer, ``(P_i,C)`` float32 point attributes ``[r, g, b, a, feat...]``.
    depth: ``(L,H,W)`` float32 per-layer source depth after the clamp and the masked diffusion
        (SPEC i.3).
    keep: ``(L,H,W)`` float32 0/1 5x5-eroded visibility mask; motion is diffused from it (SPEC i.1).
    solid: ``(L,H,W)`` bool alpha > 0.5 (the layer-ordering buffer, SPEC i.6).
    K: ``(3,3)`` float32 intrinsics in px.
    spread: ``(L,7,H,W)`` float32 ``keep`` after 1..7 rounds of the 15x15 box blur of the masked
        diffusion (SPEC i.2): frame-independent, cached so that every frame only diffuses the motion;
        None = recomputed when needed.
    layer_depth: ``(L,H,W)`` float32 the LDI's own depth of every layer after the clamp, before the
        diffusion (the warp renderer's geometry: the diffusion replaces the depth of the visible pixels
        along every layer edge); None = use ``depth``.
    """

    pixels: list[torch.Tensor]
    attrs: list[torch.Tensor]
    depth: torch.Tensor
    keep: torch.Tensor
    solid: torch.Tensor
    K: torch.Tensor
    spread: Optional[torch.Tensor] = None
    layer_depth: Optional[torch.Tensor] = None

    @property
    def num_layers(self) -> int:
        return len(self.pixels)

    @property
    def channels(self) -> int:
        return int(self.attrs[0].shape[1])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.depth.shape[1]), int(self.depth.shape[2])


@dataclass(frozen=True)
class FramePoints:
    """One side (forward or backward copy) of the animated cloud at one frame.

    xyz: ``(P,3)`` float32 camera-frame positions before the camera move.
    attrs: ``(P,C)`` float32 attributes, same order.
    per_layer: number of points of each layer (rows are in layer order, row-major inside a layer).
    """

    xyz: torch.Tensor
    attrs: torch.Tensor
    per_layer: tuple[int, ...]


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera for the N frames of a video.

    poses: ``(N,4,4)`` float64 point transforms ``p' = R p + t`` (identity = source view).
    K_scale: ``(N,)`` float64 focal-length multipliers (1 = source intrinsics; dolly-zoom varies it).
    looping: True when frame N would equal frame 0 (the path returns to its start with matching
        velocity).
    name: preset name or ``'custom'``.
    """

    poses: np.ndarray
    K_scale: np.ndarray
    looping: bool
    name: str = "custom"

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])


@dataclass(frozen=True)
class RenderSettings:
    """How points are splatted.

    radius_px: point radius in px at the source view (official 1.5).
    points_per_pixel: K nearest points kept per pixel (official 8).
    adaptive_radius: scale each point's radius by z / z' (official on).
    backend: splatter (``choices.BACKENDS``): ``'auto'`` (default: torch ops on a GPU, NumPy on the
        CPU), ``'numpy'``, ``'torch'`` (torch ops on the points' device) or ``'pytorch3d'`` when it imports.
    depth_sharpness: alpha of the two-side blend weight exp(alpha * disparity) for the weight-free
        path (official direct-RGB blend: 4).
    symmetric: blend the forward and backward copies (False = forward copy only, the naive variant).
    crop: px removed from every side of the output (official 32).
    fill_holes: fill pixels no point covers after blending.
    compositing: ``'official'`` (pytorch3d's: pixel centres at +0.5 px, each point alpha-composited
        near to far; what the learned decoder was trained on), ``'surface'`` (weight-free only:
        pixel centres on the points' integer grid, bilinear footprints averaged per surface, so an
        unmoved cloud reproduces its image exactly) or ``'auto'`` (``'surface'`` for the weight-free
        blend, ``'official'`` for the learned decoder and the pytorch3d backend).
    surface_tolerance: relative depth gap that splits two surfaces of one LDI layer in
        ``'surface'`` compositing (0.02 = 2 %).
    renderer: ``'warp'`` (each LDI layer a textured height field: texture-space symmetric animation,
        inverse-warped into the camera; the weight-free default, ``render.warp``), ``'splat'`` (the
        point splatting above; the learned decoder always uses it) or ``'auto'`` (warp for the
        weight-free blend, splat for the learned decoder).
    border: what the camera uncovers at the frame border: ``'zoom'`` (the smallest constant zoom that
        keeps it out of view), ``'crop'`` (``crop`` px, 32 when crop is 0, as the official demo) or
        ``'fill'`` (push-pull filled) (``render.border``).
    Every field is checked on construction (a CinemagraphError names the bad one).
    """

    radius_px: float = 1.5
    points_per_pixel: int = 8
    adaptive_radius: bool = True
    backend: Backend = "auto"
    depth_sharpness: float = 4.0
    symmetric: bool = True
    crop: int = 0
    fill_holes: bool = True
    compositing: Compositing = "auto"
    surface_tolerance: float = 0.02
    renderer: Renderer = "auto"
    border: Border = "zoom"

    def __post_init__(self) -> None:
        check("renderer", self.renderer, RENDERERS, "warp: the weight-free default; splat: point splatting, what "
                                                    "the learned decoder needs; auto: chosen per decoder")
        check("backend", self.backend, BACKENDS, "auto: torch ops on a GPU, NumPy on the CPU; pytorch3d needs that "
                                                 "package")
        check("compositing", self.compositing, COMPOSITINGS, "surface: sharp weight-free splats; official: what the "
                                                             "learned decoder expects; auto: chosen per decoder")
        check("border", self.border, BORDERS, "zoom: zoom in just enough to hide what the camera uncovers; crop: cut "
                                              "crop px, 32 when crop is 0; fill: fill it")
        self._require("radius_px", _number(self.radius_px) and self.radius_px > 0, "a radius > 0 px")
        self._require("points_per_pixel", _whole(self.points_per_pixel) and self.points_per_pixel >= 1,
                      "a whole number >= 1")
        self._require("crop", _whole(self.crop) and self.crop >= 0, "a whole number of px >= 0")
        self._require("depth_sharpness", _number(self.depth_sharpness), "a finite number")
        self._require("surface_tolerance", _number(self.surface_tolerance) and self.surface_tolerance >= 0,
                      "a relative depth gap >= 0")

    def _require(self, name: str, ok: bool, rule: str) -> None:
        if not ok:
            raise CinemagraphError(f"render: {name} must be {rule} (default {getattr(RenderSettings, name)}), "
                                   f"got {getattr(self, name)!r}")


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _whole(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class SideMaps:
    """The two sides of one frame splatted into the target camera.

    forward, backward: ``(C+1,H,W)`` float32 alpha-composited ``[attrs..., disparity]``; attribute
        channel 3 is the coverage (alpha); the last channel is the disparity normalised over both
        sides together.
    time: t / N in [0, 1).
    """

    forward: torch.Tensor
    backward: torch.Tensor
    time: float


@dataclass(frozen=True)
class Animation:
    """A looping 3D animation: the static cloud plus the motion that drives its two copies.

    cloud: the point cloud (source view).
    motion: the Eulerian flow M that moves it (px/frame, same H, W as the cloud).
    num_frames: N; the video holds frames 0..N-1 and frame N equals frame 0.
    symmetric: True for the paper's 3D symmetric animation (forward copy moved by F(0->t), backward
        copy by F(0->t-N), blended by time); False for the naive forward-only animation.
    Frames are produced on demand (``cinemagraph_core.animate``), never N copies in memory.
    """

    cloud: PointCloud
    motion: MotionField
    num_frames: int
    symmetric: bool = True


@dataclass(frozen=True)
class RenderedFrames:
    """A lazily rendered video: an animation seen through a camera path.

    Frames are splatted on demand, in chunks (``cinemagraph_core.render``), so memory does not grow
    with N. ``camera.num_frames`` equals ``animation.num_frames``.
    """

    animation: Animation
    camera: CameraPath
    settings: RenderSettings = RenderSettings()
    fps: float = 25.0

    @property
    def num_frames(self) -> int:
        return self.animation.num_frames

    @property
    def size(self) -> tuple[int, int]:
        return self.animation.cloud.size
