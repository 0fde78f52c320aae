"""Names shared by every node: the category, the custom types and the camera spec they pass on.

Each custom type carries a tuple with one core object per input image (B images -> B objects),
except CINE_CAMERA, which is one unresolved camera spec for all of them.
"""
from __future__ import annotations

from dataclasses import dataclass

CATEGORY = "3D Cinemagraph"

DEPTH = "CINE_DEPTH"
HINTS = "CINE_HINTS"
FLOW = "CINE_FLOW"
LDI = "CINE_LDI"
POINTS = "CINE_POINTS"
ANIMATION = "CINE_ANIMATION"
CAMERA = "CINE_CAMERA"
FRAMES = "CINE_FRAMES"

KEYFRAMES = "keyframes"
"""CameraPath preset entry that uses the keyframe JSON instead of a named path."""


@dataclass(frozen=True)
class CameraSpec:
    """A camera path not yet resolved to a frame count: a preset name or keyframe JSON text, and the
    amplitude (1 = official magnitudes). SplatRender resolves it with the animation's frame count."""

    spec: str
    amplitude: float = 1.0


def widget(kind: str, tooltip: str, **options) -> tuple:
    """An INPUT_TYPES entry ``(kind, {"tooltip": ..., **options})``; kind may be a list of choices."""
    return kind, {"tooltip": tooltip, **options}
