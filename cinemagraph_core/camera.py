"""Intrinsics and camera paths: the official demo paths (SPEC k), looping presets, keyframes.

A path is a translation per frame (rotation is always the identity): points move by
``p' = p + t``, so the camera moves by ``-t`` (a negative t_z moves it forward). Units are depth
units (the nearest pixel of a relative depth map is at depth 1).
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping, Union

import numpy as np
import torch

from .errors import CinemagraphError
from .types import CameraPath

OFFICIAL: dict[str, tuple[int, tuple[float, float, float], str]] = {
    "up_down": (60, (0.0, -0.08, 0.0), "double-straight-line"),
    "zoom_in": (60, (0.0, 0.0, -0.24), "straight-line"),
    "side": (60, (-0.09, 0.0, 0.0), "double-straight-line"),
    "circle": (90, (-0.04, -0.04, -0.09), "circle"),
}
"""The demo's paths: key -> (frames, (x, y, z), official path type)."""

PRESETS: dict[str, str] = {
    "up-down": "official: camera moves from 0.08 above to 0.08 below, one way (does not loop)",
    "zoom-in": "official: camera moves 0.24 forward, one way (does not loop)",
    "side": "official: camera moves from 0.09 left to 0.09 right, one way (does not loop)",
    "circle": "official: camera circles (0.04 x 0.04) while moving 0.09 back and forth; loops",
    "up-down-loop": "camera glides from 0.08 above to 0.08 below and back (cosine); loops",
    "zoom-in-loop": "camera glides 0.24 forward and back (raised cosine); loops",
    "side-loop": "camera glides from 0.09 left to 0.09 right and back (cosine); loops",
    "swing": "camera sways 0.09 left and right, drifting 0.03 forward at the ends of the swing; loops",
    "dolly-zoom": "camera moves 0.24 forward and back while the focal length keeps the plane at "
                  "ref_depth the same size (vertigo effect); loops",
    "static": "camera does not move; loops",
}
"""Names accepted by ``preset_path`` with a one-line description (amplitude 1)."""

_ONE_WAY = {"up-down": "up_down", "zoom-in": "zoom_in", "side": "side"}
_SWING_SIDE, _SWING_FORWARD = 0.09, 0.03

PathSpec = Union[str, bytes, Mapping[str, Any]]


def default_intrinsics(h: int, w: int) -> torch.Tensor:
    """Official intrinsics ``(3,3)`` float32: focal = max(h, w) px, principal point (w//2, h//2)."""
    f = float(max(h, w))
    return torch.tensor([[f, 0.0, float(w // 2)], [0.0, f, float(h // 2)], [0.0, 0.0, 1.0]])


def official_translations(num_frames: int, xyz, path_type: str) -> np.ndarray:
    """Translations ``(n,3)`` float64 of official ``define_camera_path(n, x, y, z, path_type)``.

    'straight-line': 0 -> xyz; 'double-straight-line': -xyz -> +xyz (both linear over
    ``linspace(0, 1, n)``); 'circle': ``(cos(pi s) x, sin(pi s) y, cos(pi s / 2) z)`` for s in
    ``numpy.arange(-2, 2, 4 / n)``, which has n + 1 entries for some n (49, 98, 103, ...), as the
    official code.
    """
    n = _frame_count(num_frames)
    v = np.asarray(xyz, dtype=np.float64).reshape(3)
    if path_type == "straight-line":
        return np.linspace(0.0, 1.0, n)[:, None] * v
    if path_type == "double-straight-line":
        return (2.0 * np.linspace(0.0, 1.0, n) - 1.0)[:, None] * v
    if path_type == "circle":
        return _circle(np.arange(-2.0, 2.0, 4.0 / n), v)
    raise CinemagraphError(f"unknown official path type {path_type!r}; expected 'straight-line', "
                           "'double-straight-line' or 'circle'")


def official_path(key: str, num_frames: int | None = None) -> CameraPath:
    """The demo's camera path ``key`` ('up_down', 'zoom_in', 'side', 'circle'; '-' also accepted).

    num_frames: None = the demo's (60, 60, 60, 90). The length follows the official code, so a
    circle can have num_frames + 1 poses; ``preset_path`` always gives exactly num_frames.
    """
    name = str(key).strip().lower().replace("-", "_")
    if name not in OFFICIAL:
        raise CinemagraphError(f"unknown official camera path {key!r}; valid: {', '.join(OFFICIAL)}")
    frames, xyz, path_type = OFFICIAL[name]
    return official_camera(frames if num_frames is None else num_frames, xyz, path_type, name)


def official_camera(num_frames: int, xyz, path_type: str, name: str = "custom") -> CameraPath:
    """The CameraPath of official ``define_camera_path(num_frames, x, y, z, path_type)`` (``official_translations``,
    identity rotations); a 'circle' loops."""
    t = official_translations(num_frames, xyz, path_type)
    return CameraPath(poses=poses_from_translations(t), K_scale=np.ones(len(t)), looping=path_type == "circle",
                      name=name)


def preset_at(name: str, phase, amplitude: float = 1.0, ref_depth: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Translations ``(M,3)`` and focal multipliers ``(M,)`` (float64) of preset ``name`` at ``phase``.

    phase: ``(M,)`` positions along the path: 0 = start, 1 = end for the one-way presets; looping
    presets are periodic with period 1 (phase 1 equals phase 0, with the same velocity).
    amplitude scales the translations (1 = the official magnitudes). ref_depth: depth (units of the
    depth map, default 1 = the nearest pixel of a relative map) whose image size 'dolly-zoom' keeps.
    """
    key = _preset_name(name)
    amplitude = _finite("amplitude", amplitude)
    s = np.asarray(phase, dtype=np.float64).reshape(-1)
    ones = np.ones(len(s))
    if key in _ONE_WAY:
        _, xyz, path_type = OFFICIAL[_ONE_WAY[key]]
        v = amplitude * np.asarray(xyz)
        ramp = s if path_type == "straight-line" else 2.0 * s - 1.0
        return ramp[:, None] * v, ones
    c = np.cos(2.0 * np.pi * s)
    if key == "circle":
        return _circle(4.0 * s - 2.0, amplitude * np.asarray(OFFICIAL["circle"][1])), ones
    if key in ("up-down-loop", "side-loop"):
        v = amplitude * np.asarray(OFFICIAL[_ONE_WAY[key[:-5]]][1])
        return -c[:, None] * v, ones
    if key == "zoom-in-loop":
        return (0.5 * (1.0 - c))[:, None] * (amplitude * np.asarray(OFFICIAL["zoom_in"][1])), ones
    if key == "swing":
        side = np.sin(2.0 * np.pi * s)
        t = np.stack([-_SWING_SIDE * side, np.zeros_like(s), -_SWING_FORWARD * side**2], axis=1)
        return amplitude * t, ones
    if key == "dolly-zoom":
        ref = _finite("ref_depth", ref_depth)
        tz = 0.5 * (1.0 - c) * amplitude * OFFICIAL["zoom_in"][1][2]
        if ref <= 0 or float(np.min(ref + tz, initial=ref)) <= 0:
            raise CinemagraphError(
                f"dolly-zoom needs ref_depth > 0 and in front of the camera all along the path: ref_depth "
                f"{ref} with a dolly of {abs(amplitude * OFFICIAL['zoom_in'][1][2]):.3g}; raise ref_depth or "
                "lower the amplitude")
        return np.stack([np.zeros_like(s), np.zeros_like(s), tz], axis=1), (ref + tz) / ref
    return np.zeros((len(s), 3)), ones


def preset_path(name: str, num_frames: int, amplitude: float = 1.0, ref_depth: float = 1.0) -> CameraPath:
    """Camera path ``name`` (see ``PRESETS``) with exactly ``num_frames`` frames.

    One-way presets ('up-down', 'zoom-in', 'side': the official demo paths) put frame k at phase
    k / (N - 1), so they end on their last position; looping presets put it at k / N, so frame N
    would equal frame 0. amplitude scales the translation (1 = the official magnitudes; 0 = static).
    ref_depth: the depth 'dolly-zoom' keeps at a constant image size (default 1 = the nearest
    pixel of a relative depth map); unused by the other presets.
    """
    key = _preset_name(name)
    n = _frame_count(num_frames)
    looping = key not in _ONE_WAY
    phase = np.arange(n) / n if looping else np.linspace(0.0, 1.0, n)
    t, scale = preset_at(key, phase, amplitude, ref_depth)
    return CameraPath(poses=poses_from_translations(t), K_scale=scale, looping=looping, name=key)


def keyframed_path(spec: PathSpec, num_frames: int) -> CameraPath:
    """A looping path through keyframes, e.g. ``{"keyframes": [{"t": 0.0, "xyz": [0, 0, 0]},
    {"t": 0.5, "xyz": [0.05, 0, -0.1]}]}`` (JSON text or the parsed dict).

    t in [0, 1) is the phase of the loop (frame k of N is at k / N), xyz the translation. Between
    keyframes the path is a periodic Catmull-Rom spline (cubic Hermite with tangents from the
    neighbouring keyframes), so it returns to its start with a continuous velocity. One keyframe
    gives a fixed camera.
    """
    times, points = _parse_keyframes(spec)
    n = _frame_count(num_frames)
    t = _catmull_rom(times, points, np.arange(n) / n)
    return CameraPath(poses=poses_from_translations(t), K_scale=np.ones(n), looping=True, name="custom")


def poses_from_translations(t: np.ndarray) -> np.ndarray:
    """``(N,4,4)`` float64 poses with identity rotation and the ``(N,3)`` translations."""
    t = np.asarray(t, dtype=np.float64)
    poses = np.tile(np.eye(4), (len(t), 1, 1))
    poses[:, :3, 3] = t
    return poses


def _circle(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(np.pi * s) * v[0], np.sin(np.pi * s) * v[1], np.cos(np.pi * s / 2) * v[2]], axis=1)


def _catmull_rom(times: np.ndarray, points: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Periodic non-uniform Catmull-Rom spline through ``points (n,3)`` at ``times (n,)`` in [0,1)."""
    n = len(times)
    t = np.concatenate([[times[-1] - 1.0], times, [times[0] + 1.0, times[1 % n] + 1.0]])
    p = np.concatenate([points[-1:], points, points[:1], points[1 % n:1 % n + 1]])
    tangent = (p[2:] - p[:-2]) / (t[2:] - t[:-2])[:, None]
    s = times[0] + np.mod(phase - times[0], 1.0)
    seg = np.clip(np.searchsorted(times, s, side="right") - 1, 0, n - 1)
    t0, t1 = t[seg + 1], t[seg + 2]
    h = t1 - t0
    u = ((s - t0) / h)[:, None]
    h = h[:, None]
    return ((2 * u**3 - 3 * u**2 + 1) * p[seg + 1] + (u**3 - 2 * u**2 + u) * h * tangent[seg]
            + (-2 * u**3 + 3 * u**2) * p[seg + 2] + (u**3 - u**2) * h * tangent[seg + 1])


def _parse_keyframes(spec: PathSpec) -> tuple[np.ndarray, np.ndarray]:
    example = '{"keyframes": [{"t": 0.0, "xyz": [0, 0, 0]}, {"t": 0.5, "xyz": [0.05, 0, -0.1]}]}'
    if isinstance(spec, (str, bytes)):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as e:
            raise CinemagraphError(f"camera keyframes are not valid JSON ({e}); expected e.g. {example}") from e
    frames = spec.get("keyframes") if isinstance(spec, Mapping) else None
    if not isinstance(frames, list) or not frames:
        raise CinemagraphError(f"camera keyframes need a non-empty list under 'keyframes', e.g. {example}")
    times, points = [], []
    for i, kf in enumerate(frames):
        if not isinstance(kf, Mapping) or set(kf) != {"t", "xyz"}:
            raise CinemagraphError(f"keyframe {i} must be an object with exactly 't' and 'xyz', got {kf!r}")
        t, xyz = kf["t"], kf["xyz"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t < 1.0:
            raise CinemagraphError(f"keyframe {i}: 't' must be a number in [0, 1) (phase of the loop), got {t!r}")
        if not isinstance(xyz, list) or len(xyz) != 3 or not all(
                isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in xyz):
            raise CinemagraphError(f"keyframe {i}: 'xyz' must be 3 finite numbers (a translation), got {xyz!r}")
        times.append(float(t))
        points.append([float(c) for c in xyz])
    order = np.argsort(times, kind="stable")
    times_arr, points_arr = np.asarray(times)[order], np.asarray(points)[order]
    if np.any(np.diff(times_arr) == 0):
        dup = times_arr[:-1][np.diff(times_arr) == 0][0]
        raise CinemagraphError(f"two keyframes have the same t = {dup}; give every keyframe its own time")
    return times_arr, points_arr


def _preset_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in PRESETS:
        raise CinemagraphError(f"unknown camera preset {name!r}; valid: {', '.join(PRESETS)}")
    return key


def _frame_count(num_frames: int) -> int:
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise CinemagraphError(f"the number of frames must be an integer >= 1, got {num_frames!r}")
    return int(num_frames)


def _finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as e:
        raise CinemagraphError(f"{name} must be a number, got {value!r}") from e
    if not math.isfinite(value):
        raise CinemagraphError(f"{name} must be finite, got {value}")
    return value
