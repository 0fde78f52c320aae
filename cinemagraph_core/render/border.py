"""What happens at the frame border a moving camera uncovers: zoom in just enough, crop, or fill.

* ``'zoom'`` (default): one focal-length multiplier for the whole video, the smallest that keeps
  every output pixel inside the source view along the whole camera path, for the depths the scene
  has near each border (``border_zoom``).
* ``'crop'``: cut ``crop`` px from every side (``OFFICIAL_CROP`` = 32 when ``crop`` is 0, as the
  official demo).
* ``'fill'``: keep the frame as it is; what the camera uncovers is filled (push-pull).
"""
from __future__ import annotations

import logging
import math

import numpy as np

from ..types import CameraPath, PointCloud, RenderSettings

log = logging.getLogger("cinemagraph")

OFFICIAL_CROP = 32
"""px cut from every side by the official demo."""

MAX_ZOOM = 2.0
"""Largest automatic zoom; a camera path that needs more is clipped to it (with a warning)."""

TOLERANCE_PX = 0.0
"""How far outside the image a source position may lie (0: every output pixel samples inside the
image, so its coverage is whole)."""

BAND_MARGIN_PX = 4
"""Extra width of the border bands whose depths decide the zoom."""


def effective_crop(settings: RenderSettings) -> int:
    """px cut from every side: ``settings.crop``, or ``OFFICIAL_CROP`` for border 'crop' when crop is 0."""
    if settings.border == "crop" and settings.crop == 0:
        return OFFICIAL_CROP
    return settings.crop


def border_zoom(cloud: PointCloud, camera: CameraPath) -> float:
    """The smallest focal multiplier >= 1 that keeps every output pixel inside the source view.

    For every frame of ``camera`` and every pixel on the output's edges, the source pixels it can
    show (the epipolar segment over the disparities of the scene's content near that edge, every
    layer, hidden parts included) must lie in the image (``TOLERANCE_PX``). Found by bisection, at
    most ``MAX_ZOOM``. 1 for a static camera.
    """
    h, w = cloud.size
    K = cloud.K.detach().double().cpu().numpy()
    poses = np.asarray(camera.poses, dtype=np.float64)
    scales = np.asarray(camera.K_scale, dtype=np.float64)
    if np.allclose(poses, np.eye(4)) and np.allclose(scales, 1.0):
        return 1.0
    disp, solid = _content_disparity(cloud)
    if disp.size == 0:
        return 1.0
    edges = _edge_pixels(h, w)
    reach = _max_shift(K, poses, scales, edges, (float(disp[solid].min()), float(disp[solid].max())))
    band = int(min(math.ceil(reach) + BAND_MARGIN_PX, max(h, w)))
    ranges = _band_ranges(disp, solid, band)

    def fits(zoom: float) -> bool:
        for side, pix in edges.items():
            lo, hi = ranges[side]
            for pose, scale in zip(poses, scales):
                A, B = _lines(K, pose, scale * zoom, pix)
                for d in (lo, hi):
                    u = A + B * d
                    if (u[0].min() < -TOLERANCE_PX or u[0].max() > w - 1 + TOLERANCE_PX
                            or u[1].min() < -TOLERANCE_PX or u[1].max() > h - 1 + TOLERANCE_PX):
                        return False
        return True

    if fits(1.0):
        return 1.0
    if not fits(MAX_ZOOM):
        log.warning("border zoom: the camera path uncovers more than a %.1fx zoom can hide; using %.1fx (lower "
                    "the amplitude, or use border crop or fill)", MAX_ZOOM, MAX_ZOOM)
        return MAX_ZOOM
    lo, hi = 1.0, MAX_ZOOM
    while hi - lo > 1e-4:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def _content_disparity(cloud: PointCloud) -> tuple[np.ndarray, np.ndarray]:
    """``(L,H,W)`` disparity and content mask of every layer (CPU numpy)."""
    depth = cloud.depth.detach().float().cpu().clamp(min=1e-3)
    return (1.0 / depth).numpy(), cloud.solid.detach().cpu().numpy().astype(bool)


def _edge_pixels(h: int, w: int) -> dict[str, np.ndarray]:
    """``(2,n)`` float64 pixel coordinates (x, y) of each edge of the frame."""
    xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    return {"left": np.stack([np.zeros(h), ys]), "right": np.stack([np.full(h, w - 1.0), ys]),
            "top": np.stack([xs, np.zeros(w)]), "bottom": np.stack([xs, np.full(w, h - 1.0)])}


def _band_ranges(disp: np.ndarray, solid: np.ndarray, band: int) -> dict[str, tuple[float, float]]:
    """(min, max) disparity of the content within ``band`` px of each edge (all layers)."""
    h, w = disp.shape[1:]
    band = max(1, min(band, h, w))
    views = {"left": (slice(None), slice(None), slice(0, band)), "right": (slice(None), slice(None), slice(w - band, w)),
             "top": (slice(None), slice(0, band), slice(None)), "bottom": (slice(None), slice(h - band, h), slice(None))}
    out = {}
    for side, view in views.items():
        d, s = disp[view], solid[view]
        out[side] = (float(d[s].min()), float(d[s].max())) if s.any() else (float(disp[solid].min()),
                                                                              float(disp[solid].max()))
    return out


def _lines(K: np.ndarray, pose: np.ndarray, scale: float, pix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epipolar lines ``u(d) = A + B d`` ``(2,n)`` of target pixels ``pix (2,n)`` (see ``render.parallax``)."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    rot_t = pose[:3, :3].T
    b = rot_t @ pose[:3, 3]
    ray = np.stack([(pix[0] - cx) / (scale * fx), (pix[1] - cy) / (scale * fy), np.ones(pix.shape[1])])
    a = rot_t @ ray
    f, c = np.array([[fx], [fy]]), np.array([[cx], [cy]])
    return c + f * a[:2] / a[2], f * (b[2] * a[:2] / a[2] - b[:2, None])


def _max_shift(K: np.ndarray, poses: np.ndarray, scales: np.ndarray, edges: dict[str, np.ndarray],
               disparity_range: tuple[float, float]) -> float:
    """Largest distance (px) between an edge pixel and a source position it can show, over the path."""
    pix = np.concatenate(list(edges.values()), axis=1)
    worst = 0.0
    for pose, scale in zip(poses, scales):
        A, B = _lines(K, pose, scale, pix)
        for d in disparity_range:
            worst = max(worst, float(np.abs(A + B * d - pix).max()))
    return worst


def apply_zoom(camera: CameraPath, zoom: float) -> CameraPath:
    """``camera`` with every focal multiplier times ``zoom``."""
    if zoom == 1.0:
        return camera
    return CameraPath(poses=camera.poses, K_scale=np.asarray(camera.K_scale, dtype=np.float64) * zoom,
                      looping=camera.looping, name=camera.name)


def zoom_for(settings: RenderSettings, cloud: PointCloud, camera: CameraPath) -> float:
    """The focal multiplier the border mode asks for (1 unless border is 'zoom'), logged when > 1."""
    if settings.border != "zoom":
        return 1.0
    zoom = border_zoom(cloud, camera)
    if zoom > 1.0:
        log.info("border zoom %.3f: the smallest zoom that keeps what the camera uncovers out of view", zoom)
    return zoom

