"""Render settings by name, as the command line and batch manifests give them, and the PipelineConfig they make.

One place for the names, defaults and types: ``render``/``demo`` build their options from ``SETTINGS``,
a batch merges a manifest line's settings over the command line's and digests them for resuming.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from .errors import CinemagraphError

SETTINGS: dict[str, Any] = {
    "frames": 60, "fps": 25.0, "size": None, "camera": "circle", "amplitude": 1.0, "speed": 1.0, "crop": 0,
    "sigma": None, "depth_kind": "disparity", "inpaint": "auto", "forward_only": False, "renderer": "auto",
    "border": "zoom", "compositing": "auto", "backend": "auto",
}
"""Every per-video setting and its default (``size`` None = the pipeline's MAX_SIDE, ``sigma`` None = the
documented hint width)."""

_TYPES: dict[str, type] = {"frames": int, "fps": float, "size": int, "camera": str, "amplitude": float,
                           "speed": float, "crop": int, "sigma": float, "depth_kind": str, "inpaint": str,
                           "forward_only": bool, "renderer": str, "border": str, "compositing": str,
                           "backend": str}


def check_settings(values: Mapping[str, Any], what: str = "settings") -> dict[str, Any]:
    """``values`` with every name known (a dash reads as an underscore) and every value of its type.

    Integers are accepted where a float is expected; None leaves ``size`` and ``sigma`` at their default.
    Raises CinemagraphError naming the bad entry and what it accepts.
    """
    out = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in SETTINGS:
            raise CinemagraphError(f"{what}: unknown setting '{key}'; known: {', '.join(SETTINGS)}")
        kind = _TYPES[name]
        if not _of_type(value, name):
            raise CinemagraphError(f"{what}: '{key}' must be {'a number' if kind is float else kind.__name__}, "
                                   f"got {value!r}")
        out[name] = float(value) if kind is float and value is not None else value
    return out


def _of_type(value: Any, name: str) -> bool:
    kind = _TYPES[name]
    if value is None:
        return SETTINGS[name] is None
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)


def camera_text(camera: str, base: Path = Path(".")) -> str:
    """A camera preset name as it is; a keyframe ``.json`` file (relative to ``base``) -> its JSON text."""
    if not camera.lower().endswith(".json"):
        return camera
    path = Path(camera) if Path(camera).is_absolute() else Path(base) / camera
    if not path.is_file():
        raise CinemagraphError(f"camera keyframe file not found: {path}")
    return path.read_text()


def config_from_settings(settings: Mapping[str, Any]):
    """A validated PipelineConfig from settings by name (missing ones at their ``SETTINGS`` default).

    ``camera`` is a preset name or keyframe JSON text (see ``camera_text``).
    """
    from .pipeline import MAX_SIDE, PipelineConfig
    from .types import RenderSettings

    s = {**SETTINGS, **check_settings(settings)}
    return PipelineConfig(num_frames=s["frames"], fps=s["fps"], speed=s["speed"], camera=s["camera"],
                          amplitude=s["amplitude"], sigma=s["sigma"], depth_kind=s["depth_kind"],
                          max_side=s["size"] or MAX_SIDE, inpaint=s["inpaint"],
                          render=replace(RenderSettings(), crop=s["crop"], symmetric=not s["forward_only"],
                                         compositing=s["compositing"], renderer=s["renderer"],
                                         border=s["border"], backend=s["backend"])).validate()
