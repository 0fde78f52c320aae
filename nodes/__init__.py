"""ComfyUI nodes for 3D cinemagraphs: thin adapters over ``cinemagraph_core`` (classic node API).

Stage nodes in pipeline order: DepthDPT -> MaskHints -> EulerianMotion -> LDIBuild ->
FeaturePointCloud -> SymmetricAnimate -> (CameraPath) -> SplatRender -> Decode; plus the
one-node shortcut Cinemagraph3D.
"""
from .depth_nodes import DepthDPT
from .motion_nodes import EulerianMotion, MaskHints
from .render_nodes import CameraPath, Decode, SplatRender, SymmetricAnimate
from .scene_nodes import FeaturePointCloud, LDIBuild
from .shortcut import Cinemagraph3D

NODE_CLASS_MAPPINGS = {
    "DepthDPT": DepthDPT,
    "MaskHints": MaskHints,
    "EulerianMotion": EulerianMotion,
    "LDIBuild": LDIBuild,
    "FeaturePointCloud": FeaturePointCloud,
    "SymmetricAnimate": SymmetricAnimate,
    "CameraPath": CameraPath,
    "SplatRender": SplatRender,
    "Decode": Decode,
    "Cinemagraph3D": Cinemagraph3D,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "DepthDPT": "Depth (DPT / depth map) - 3D Cinemagraph",
    "MaskHints": "Mask + Flow Hints - 3D Cinemagraph",
    "EulerianMotion": "Eulerian Motion - 3D Cinemagraph",
    "LDIBuild": "Layered Depth Image - 3D Cinemagraph",
    "FeaturePointCloud": "Feature Point Cloud - 3D Cinemagraph",
    "SymmetricAnimate": "Symmetric Animate - 3D Cinemagraph",
    "CameraPath": "Camera Path - 3D Cinemagraph",
    "SplatRender": "Splat Render - 3D Cinemagraph",
    "Decode": "Decode Frames - 3D Cinemagraph",
    "Cinemagraph3D": "3D Cinemagraph (one node)",
}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
