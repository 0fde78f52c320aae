"""ComfyUI nodes for 3D cinemagraphs: thin adapters over ``cinemagraph_core`` (classic node API).

Stage nodes in pipeline order: depth -> mask + hints -> Eulerian motion -> LDI -> feature point cloud
-> symmetric animation -> (camera path) -> render -> decode; plus the one-node shortcut. Every ID
carries the pack's ``Cinemagraph`` prefix so it cannot clash with another pack's; the IDs of the
first releases stay registered as deprecated aliases (hidden from the node search, same behaviour),
so workflows saved with them keep loading and running.
"""
from .depth_nodes import DepthDPT
from .motion_nodes import EulerianMotion, MaskHints
from .render_nodes import CameraPath, Decode, SplatRender, SymmetricAnimate
from .scene_nodes import FeaturePointCloud, LDIBuild
from .shortcut import Cinemagraph3D

SUFFIX = " - 3D Cinemagraph"
NODES = {
    "CinemagraphDepthDPT": (DepthDPT, "Depth (DPT / depth map)"),
    "CinemagraphMaskHints": (MaskHints, "Mask + Flow Hints"),
    "CinemagraphEulerianMotion": (EulerianMotion, "Eulerian Motion"),
    "CinemagraphLDIBuild": (LDIBuild, "Layered Depth Image"),
    "CinemagraphFeaturePointCloud": (FeaturePointCloud, "Feature Point Cloud"),
    "CinemagraphSymmetricAnimate": (SymmetricAnimate, "Symmetric Animate"),
    "CinemagraphCameraPath": (CameraPath, "Camera Path"),
    "CinemagraphSplatRender": (SplatRender, "Splat Render"),
    "CinemagraphDecode": (Decode, "Decode Frames"),
}
"""Stage node ID -> (class, display name without the pack suffix)."""
LEGACY_IDS = {old: f"Cinemagraph{old}" for old in (
    "DepthDPT", "MaskHints", "EulerianMotion", "LDIBuild", "FeaturePointCloud", "SymmetricAnimate", "CameraPath",
    "SplatRender", "Decode")}
"""Deprecated ID (before the prefix) -> current ID."""


def _deprecated(cls: type) -> type:
    """``cls`` flagged deprecated for ComfyUI (hidden from the search; saved workflows still run)."""
    return type(f"{cls.__name__}Deprecated", (cls,), {"DEPRECATED": True, "__doc__": cls.__doc__})


NODE_CLASS_MAPPINGS = {
    **{node_id: cls for node_id, (cls, _) in NODES.items()},
    "Cinemagraph3D": Cinemagraph3D,
    **{old: _deprecated(NODES[new][0]) for old, new in LEGACY_IDS.items()},
}

NODE_DISPLAY_NAME_MAPPINGS = {
    **{node_id: name + SUFFIX for node_id, (_, name) in NODES.items()},
    "Cinemagraph3D": "3D Cinemagraph (one node)",
    **{old: f"{NODES[new][1]} (old ID){SUFFIX}" for old, new in LEGACY_IDS.items()},
}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "LEGACY_IDS"]
