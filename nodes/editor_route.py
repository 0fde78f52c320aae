"""The HTTP route behind the MaskHints editor's Auto button: the motion proposed for a picture.

``POST /cinemagraph/propose`` with the picture the editor shows as the request body (PNG or JPEG
bytes) answers JSON ``{"width", "height", "arrows": [[x0, y0, x1, y1], ...], "polygons": [[[x, y], ...],
...], "regions": [{"kind", "confidence", "area"}, ...], "note"}`` in px of that picture (the editor
scales them to the source image), or ``{"error": message}`` with status 400. The picture is the
one the user sees, so the route reads no file and needs no path from the browser.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.image_io import check_image_size
from cinemagraph_core.motion.propose import propose_motion

from . import comfy

log = logging.getLogger("cinemagraph")

ROUTE = "/cinemagraph/propose"
MAX_BYTES = 64 * 1024 * 1024
"""Largest picture accepted (bytes)."""
POLYGON_TOLERANCE = 1.0
"""Largest distance (px) between a region's outline and its polygon."""


def propose_for_editor(data: bytes) -> dict:
    """The proposal for an encoded picture ``data`` as the route's JSON object (see the module doc).

    Raises CinemagraphError for an empty, oversized or undecodable body. A picture with nothing to
    animate gives no arrows and no polygons, and the note says why.
    """
    if not data:
        raise CinemagraphError("the request has no picture: send the PNG or JPEG bytes as its body")
    if len(data) > MAX_BYTES:
        raise CinemagraphError(f"the picture is {len(data) / 2**20:.0f} MB, more than {MAX_BYTES // 2**20} MB")
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise CinemagraphError("the request body is not a PNG or JPEG picture")
    h, w = pixels.shape[:2]
    check_image_size(h, w)
    image = torch.from_numpy(np.ascontiguousarray(pixels[..., ::-1])).permute(2, 0, 1).float() / 255.0
    proposal = propose_motion(image)
    polygons = []
    for region in proposal.regions:
        polygons += mask_polygons(region.mask.numpy() > 0.5)
    return {"width": w, "height": h, "arrows": [list(a) for a in proposal.arrows], "polygons": polygons,
            "regions": [{"kind": r.kind, "confidence": r.confidence, "area": round(r.area, 4)} for r in proposal.regions],
            "note": proposal.note}


def mask_polygons(mask: np.ndarray) -> list[list[list[float]]]:
    """Outer outlines of the parts of an ``(h,w)`` bool mask as polygons ``[[x, y], ...]`` (px, at least 3
    points each) that ``motion.strokes.strokes_mask`` fills back into about the same mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = []
    for c in contours:
        poly = cv2.approxPolyDP(c, POLYGON_TOLERANCE, True)[:, 0, :]
        if len(poly) >= 3:
            out.append([[float(x), float(y)] for x, y in poly])
    return out


async def _handle(request):
    import asyncio

    from aiohttp import web

    data = await request.read()
    try:
        result = await asyncio.get_running_loop().run_in_executor(None, propose_for_editor, data)
    except CinemagraphError as e:
        return web.json_response({"error": str(e)}, status=400)
    return web.json_response(result)


def register_route() -> bool:
    """Add ``ROUTE`` to ComfyUI's server (True), or do nothing outside ComfyUI (False)."""
    server = comfy.prompt_server()
    if server is None:
        return False
    server.routes.post(ROUTE)(_handle)
    return True
