"""ComfyUI entry point: clone this repository into ``ComfyUI/custom_nodes/`` and install requirements.txt.

Registers the 3D Cinemagraph nodes, the ``models/cinemagraph`` folder for the optional official
network files and the route of the editor's Auto button (``nodes/editor_route.py``), and serves
``web/`` (the MaskHints arrow-and-mask editor). ``cinemagraph_core`` (beside
this file) is made importable first.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.append(_here)

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402
from .nodes.comfy import register_models_folder  # noqa: E402
from .nodes.editor_route import register_route  # noqa: E402

register_models_folder()
register_route()

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
