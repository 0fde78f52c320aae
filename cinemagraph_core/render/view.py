"""One frame seen through the camera: move both sides' points, size them, splat each side (SPEC j).

Two compositings (``RenderSettings.compositing``): ``'official'`` (pytorch3d's, SPEC j; what the
learned decoder was trained on and what the goldens hold) and ``'surface'`` (``splat.splat_surface``:
integer pixel centres, bilinear footprints, whole surfaces composited; the splat renderer's weight-free
default, chosen by ``pipeline.render_settings_for``). ``'auto'`` renders ``'official'`` here. Each side
is splatted where its points are (``resolve_backend``).
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np
import torch

from ..choices import BACKENDS, Backend, check
from ..errors import CinemagraphError
from ..types import FramePoints, RenderSettings, SideMaps
from . import splat as numpy_splat
from . import splat_torch

MIN_DEPTH = 1e-6
"""Depth floor (depth units) of the official disparity 1/max(z', 1e-6) and adaptive radius."""

OFFICIAL_RADIUS_PX = 1.5
"""The official point radius (px at the source view). Its disc reaches past the neighbouring points;
the surface footprint is ``radius / OFFICIAL_RADIUS_PX`` times the point spacing, so the default
radius gives bilinear footprints that end exactly on the neighbouring points."""


def move_points(xyz: torch.Tensor, pose: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
    """``(P,3)`` float32 points after the camera move ``p' = R p + t`` (pose ``(4,4)``, depth units).

    An identity rotation is applied as a plain translation, exactly as the official renderer adds t.
    """
    pose = torch.as_tensor(pose, dtype=torch.float32)
    if tuple(pose.shape) != (4, 4) or not bool(torch.isfinite(pose).all()):
        raise CinemagraphError(f"render: pose must be a finite (4,4) point transform, got shape {tuple(pose.shape)}.")
    xyz = xyz.to(torch.float32)
    rot, t = pose[:3, :3].to(xyz.device), pose[:3, 3].to(xyz.device)
    if torch.equal(pose[:3, :3].cpu(), torch.eye(3)):
        return xyz + t
    return xyz @ rot.t() + t


def point_radii(z_src: torch.Tensor, z_dst: torch.Tensor, radius_px: float, adaptive: bool = True) -> torch.Tensor:
    """``(P,)`` float32 point radii in px: ``radius_px * z / max(z', 1e-6)`` when adaptive (SPEC h).

    ``z_src``: depth before the camera move, ``z_dst``: after it (both ``(P,)`` depth units). The
    official NDC radius is this times ``2 / min(H, W)`` (see ``ndc_radius``). Points that are never
    rendered (``z' <= 0``, non-finite, or behind the source camera) get ``radius_px``.
    """
    if not radius_px > 0:
        raise CinemagraphError(f"render: radius_px must be > 0 px, got {radius_px}.")
    flat = torch.full_like(z_src, float(radius_px), dtype=torch.float32)
    if not adaptive:
        return flat
    r = float(radius_px) * z_src.to(torch.float32) / z_dst.to(torch.float32).clamp(min=MIN_DEPTH)
    return torch.where(torch.isfinite(r) & (r > 0) & (z_dst > 0), r, flat)


def ndc_radius(radius_px: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """pytorch3d NDC radius of px radii: one pixel spans ``2 / min(H, W)`` NDC units."""
    return radius_px * (2.0 / min(int(size[0]), int(size[1])))


def normalised_disparity(z_dst: torch.Tensor) -> torch.Tensor:
    """``(P,)`` float32 ``1 / max(z', 1e-6)`` min-max normalised to 0..1 over the points in front.

    The official code normalises over every point; points with ``z' <= 0`` or non-finite (never
    rendered) are left out of the min / max here so that one point behind the camera cannot flatten
    the disparity of the whole frame. A constant disparity gives zeros.
    """
    disp = 1.0 / z_dst.to(torch.float32).clamp(min=MIN_DEPTH)
    front = (z_dst > 0) & torch.isfinite(z_dst)
    if not bool(front.any()):
        return torch.zeros_like(disp)
    lo, hi = disp[front].min(), disp[front].max()
    if not bool(hi > lo):
        return torch.zeros_like(disp)
    return (disp - lo) / (hi - lo)


def resolve_backend(name: Backend, device: torch.device | str = "cpu") -> Backend:
    """The splatter ``name`` stands for on ``device``.

    Splatters: ``'numpy'`` (``render.splat``, CPU), ``'torch'`` (``render.splat_torch``, torch ops on the
    points' device), ``'pytorch3d'`` (optional package); ``'auto'`` = ``'torch'`` off the CPU, ``'numpy'``
    on the CPU, where it is the faster (``benchmarks/bench_splat.py``). All give the same maps within 1e-5.
    """
    check("backend", name, BACKENDS)
    if name == "auto":
        return "numpy" if torch.device(device).type == "cpu" else "torch"
    return name


def splat_backend(name: Backend, device: torch.device | str = "cpu") -> Callable[..., torch.Tensor]:
    """The ``splat`` function of backend ``name`` for points on ``device``."""
    name = resolve_backend(name, device)
    if name == "numpy":
        return numpy_splat.splat
    if name == "torch":
        return splat_torch.splat
    from . import pytorch3d_backend

    return pytorch3d_backend.splat


def surface_splatter(name: Backend, device: torch.device | str = "cpu") -> Callable[..., torch.Tensor]:
    """The ``splat_surface`` function of backend ``name`` (``'numpy'``, ``'torch'`` or ``'auto'``)."""
    name = resolve_backend(name, device)
    if name == "pytorch3d":
        raise CinemagraphError("render: compositing 'surface' is implemented by the built-in splatters (backend "
                               "'auto', 'numpy' or 'torch'), not by pytorch3d; use one of those or compositing "
                               "'official'.")
    return numpy_splat.splat_surface if name == "numpy" else splat_torch.splat_surface


def compositing_of(settings: RenderSettings) -> str:
    """``'official'`` or ``'surface'``: the compositing ``render_sides`` uses (``'auto'`` = official).

    Raises for ``'surface'`` with the pytorch3d backend, which only has the official compositing.
    """
    mode = settings.compositing
    if mode == "surface":
        surface_splatter(settings.backend)
    return "official" if mode == "auto" else mode


def layer_ids(side: FramePoints) -> torch.Tensor:
    """``(P,)`` int64 LDI layer of every point of ``side`` (from ``per_layer``)."""
    counts = torch.as_tensor([int(n) for n in side.per_layer], dtype=torch.int64)
    if bool((counts < 0).any()) or int(counts.sum()) != int(side.xyz.shape[0]):
        raise CinemagraphError(f"render: per_layer counts {tuple(side.per_layer)} must be >= 0 and sum to the "
                               f"{int(side.xyz.shape[0])} points of the side.")
    return torch.repeat_interleave(torch.arange(counts.numel()), counts)


def size_from_intrinsics(K: torch.Tensor) -> tuple[int, int]:
    """``(H, W)`` implied by official intrinsics: principal point ``(W//2, H//2)``, even H and W."""
    cx, cy = float(K[0, 2]), float(K[1, 2])
    if cx != int(cx) or cy != int(cy) or cx < 1 or cy < 1:
        raise CinemagraphError(f"render: cannot infer the image size from K (principal point {(cx, cy)}); "
                               f"pass size=(H, W).")
    return 2 * int(cy), 2 * int(cx)


def render_sides(
    fwd: FramePoints,
    bwd: Optional[FramePoints],
    K: torch.Tensor,
    pose: Union[torch.Tensor, np.ndarray],
    time: float,
    settings: RenderSettings = RenderSettings(),
    K_scale: float = 1.0,
    size: Optional[tuple[int, int]] = None,
) -> SideMaps:
    """Splat the forward and backward copies of one frame into the camera of this frame.

    Args:
        fwd, bwd: the two sides (``xyz (P,3)`` camera-frame points of the source view, ``attrs (P,C)``);
            ``bwd`` None (forward-only animation) gives an all-zero backward map.
        K: ``(3,3)`` source intrinsics in px; focal lengths are multiplied by ``K_scale``
            (dolly-zoom, border zoom), the principal point is kept, and so are the radii (a point
            keeps its angular size).
        pose: ``(4,4)`` point transform of this frame (``p' = R p + t``, depth units).
        time: t / N in [0, 1), stored in the result for the blend.
        settings: radius (px at the source view), adaptive radius, points per pixel, backend,
            compositing (``'auto'`` = ``'official'``; ``'surface'`` keeps each LDI layer a separate
            surface and uses footprints of ``radius / OFFICIAL_RADIUS_PX`` times the adaptive scale).
        size: output ``(H, W)``; default: inferred from K's principal point (official intrinsics
            ``(W//2, H//2)``, so exact for even sizes; pass it for odd sizes).

    Returns:
        ``SideMaps`` with ``(C+1,H,W)`` float32 maps ``[attrs..., disparity]`` per side; the
        disparity ``1/max(z', 1e-6)`` is min-max normalised over both sides' points together.
    """
    sides = [fwd] if bwd is None else [fwd, bwd]
    n_ch = int(fwd.attrs.shape[1])
    for name, side in zip(("fwd", "bwd"), sides):
        if side.xyz.dim() != 2 or side.xyz.shape[1] != 3 or side.attrs.shape[0] != side.xyz.shape[0]:
            raise CinemagraphError(f"render: {name} points must be xyz (P,3) with attrs (P,C), got "
                                   f"{tuple(side.xyz.shape)} and {tuple(side.attrs.shape)}.")
        if int(side.attrs.shape[1]) != n_ch:
            raise CinemagraphError(f"render: both sides need the same attribute channels, got "
                                   f"{n_ch} and {int(side.attrs.shape[1])}.")
    if not 0.0 <= float(time) <= 1.0:
        raise CinemagraphError(f"render: time must be t/N in [0, 1], got {time}.")
    if not K_scale > 0:
        raise CinemagraphError(f"render: K_scale must be > 0 (a focal-length multiplier), got {K_scale}.")
    K = torch.as_tensor(K, dtype=torch.float32)
    h, w = size_from_intrinsics(K) if size is None else (int(size[0]), int(size[1]))
    K_frame = K.clone()
    K_frame[0, 0] *= float(K_scale)
    K_frame[1, 1] *= float(K_scale)
    surface = compositing_of(settings) == "surface"
    device = fwd.xyz.device
    splat = surface_splatter(settings.backend, device) if surface else splat_backend(settings.backend, device)

    moved = [move_points(s.xyz, pose) for s in sides]
    disp = normalised_disparity(torch.cat([m[:, 2] for m in moved]))
    maps, start = [], 0
    for side, pts in zip(sides, moved):
        n = int(pts.shape[0])
        radius = point_radii(side.xyz[:, 2], pts[:, 2], settings.radius_px, settings.adaptive_radius) * float(K_scale)
        feats = torch.cat([side.attrs.to(torch.float32), disp[start:start + n, None]], dim=1)
        if surface:
            maps.append(splat(pts, feats, K_frame, (h, w), radius / OFFICIAL_RADIUS_PX, surface_ids=layer_ids(side),
                              points_per_pixel=settings.points_per_pixel, depth_tolerance=settings.surface_tolerance))
        else:
            maps.append(splat(pts, feats, K_frame, (h, w), radius, points_per_pixel=settings.points_per_pixel))
        start += n
    backward = maps[1] if bwd is not None else torch.zeros_like(maps[0])
    return SideMaps(forward=maps[0], backward=backward, time=float(time))
