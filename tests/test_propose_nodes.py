"""Zero-click motion in the nodes: MaskHints' auto toggle and its precedence, the one-node shortcut with
nothing drawn, and the route behind the editor's Auto button (nodes/editor_route.py)."""
from __future__ import annotations

import asyncio
import json
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cinemagraph_core.demo_scene import demo_photo
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.propose import NOTHING, propose_motion
from cinemagraph_core.motion.strokes import strokes_mask
from nodes import editor_route
from nodes.motion_nodes import MaskHints, hints_and_sources
from nodes.shortcut import Cinemagraph3D

H, W = 171, 256


@pytest.fixture(scope="module")
def photo():
    """china.jpg as a ComfyUI IMAGE (1,H,W,3) and its proposal."""
    small = F.interpolate(demo_photo()[None], size=(H, W), mode="area")[0]
    return small.permute(1, 2, 0)[None].contiguous(), propose_motion(small)


def stroke() -> str:
    return json.dumps({"width": W, "height": H, "strokes": [{"mode": "paint", "radius": 8, "points": [[30, 150],
                                                                                                   [90, 150]]}]})


def test_nothing_drawn_uses_the_proposal(photo):
    image, proposal = photo
    (hint,), used = MaskHints().run(image, "", 0.0)
    assert torch.equal(hint.mask, proposal.mask) and hint.arrows == proposal.arrows
    assert torch.equal(used[0], proposal.mask)
    _, sources = hints_and_sources(image, "  ", torch.zeros(1, 64, 64), strokes="")
    assert sources == ["proposal"], "an empty MASK (Load Image's placeholder) counts as none"


def test_precedence_connected_mask_then_painting_then_proposal(photo):
    image, proposal = photo
    arrows = "[[60, 150, 80, 150]]"
    given = torch.zeros(1, H, W)
    given[:, 100:150, 150:250] = 1.0
    (hint,), used = MaskHints().run(image, arrows, 0.0, mask=given, mask_strokes=stroke())
    assert torch.equal(used, given) and hint.arrows == ((60.0, 150.0, 80.0, 150.0),)
    (_,), painted = MaskHints().run(image, arrows, 0.0, mask_strokes=stroke())
    assert bool(painted[0, 150, 60]) and not bool(painted[0, 20, 200])
    assert not torch.equal(painted[0], proposal.mask)
    with pytest.raises(CinemagraphError, match="hints are empty"):
        MaskHints().run(image, "", 0.0, mask_strokes=stroke())
    with pytest.raises(CinemagraphError, match="hints are empty"):
        MaskHints().run(image, "", 0.0, mask=given)
    (_,), whole = MaskHints().run(image, arrows, 0.0)
    assert float(whole.min()) == 1.0, "arrows without a mask: the whole image may move, as before"


def test_auto_off_or_nothing_found_says_what_to_do(photo):
    image, _ = photo
    with pytest.raises(CinemagraphError, match="hints are empty"):
        MaskHints().run(image, "", 0.0, auto=False)
    flat = torch.linspace(0, 1, 96)[None, :, None, None].expand(1, 96, 128, 3).contiguous()
    with pytest.raises(CinemagraphError, match=f"auto: {NOTHING}.*draw the motion yourself"):
        MaskHints().run(flat, "", 0.0)


def test_editor_preview_reports_the_proposal(photo, monkeypatch, tmp_path):
    fake = type(sys)("folder_paths")
    fake.get_temp_directory = lambda: str(tmp_path)
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    image, proposal = photo
    out = MaskHints().run(image, "", 0.0)
    (entry,) = out["ui"]["cinemagraph_editor"]
    assert entry["mask_source"] == "proposal"
    overlay = cv2.imread(str(tmp_path / entry["mask_filename"]), cv2.IMREAD_UNCHANGED)
    assert torch.equal(torch.from_numpy(overlay[..., 3] > 127), proposal.mask > 0.5)


def test_one_node_cinemagraph_with_nothing_drawn(photo):
    image, _ = photo
    frames, fps, n = Cinemagraph3D().run(image, "", frames=2, max_side=128, models="weight-free")
    assert n == 2 and frames.shape == (2, 85, 128, 3) and bool(torch.isfinite(frames).all())
    assert float((frames[0] - frames[1]).abs().max()) > 0.01, "something moves"
    with pytest.raises(CinemagraphError, match="hints are empty"):
        Cinemagraph3D().run(image, "", frames=2, max_side=128, models="weight-free", auto=False)


def png(image: torch.Tensor) -> bytes:
    rgb = (image[0].numpy() * 255 + 0.5).astype(np.uint8)
    return cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))[1].tobytes()


def test_auto_button_route_answers_what_the_node_reads_back(photo):
    """The route's polygons and arrows, put into the widgets as the editor does, give back the proposal."""
    image, _ = photo
    eight_bit = (image * 255 + 0.5).floor() / 255
    proposal = propose_motion(eight_bit[0].permute(2, 0, 1))
    answer = editor_route.propose_for_editor(png(image))
    assert (answer["width"], answer["height"]) == (W, H) and answer["note"] == proposal.note
    assert [r["kind"] for r in answer["regions"]] == [r.kind for r in proposal.regions]
    assert [tuple(a) for a in answer["arrows"]] == list(proposal.arrows)
    doc = json.dumps({"width": W, "height": H, "strokes": [], "polygons": answer["polygons"]})
    filled = strokes_mask(doc, (H, W)) > 0.5
    want = proposal.mask > 0.5
    assert float((filled & want).sum() / (filled | want).sum()) > 0.95
    (hint,), used = MaskHints().run(eight_bit, json.dumps(answer["arrows"]), 0.0, mask_strokes=doc)
    assert torch.equal(used[0] > 0.5, filled) and [list(a) for a in hint.arrows] == answer["arrows"]


@pytest.mark.parametrize("data, message", [
    (b"", "no picture"), (b"not a picture", "not a PNG"),
    (cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), "at least"),
])
def test_auto_button_route_refuses_bad_pictures(data, message):
    with pytest.raises(CinemagraphError, match=message):
        editor_route.propose_for_editor(data)


def test_auto_button_route_with_nothing_to_animate():
    flat = np.tile(np.linspace(0, 255, 96, dtype=np.uint8)[None, :, None], (64, 1, 3))
    answer = editor_route.propose_for_editor(cv2.imencode(".png", flat)[1].tobytes())
    assert answer["arrows"] == [] and answer["polygons"] == [] and answer["note"].startswith(NOTHING)


def test_route_is_registered_inside_comfyui_only(monkeypatch, photo):
    assert editor_route.register_route() is False
    added = {}

    class Routes:
        def post(self, path):
            return lambda handler: added.setdefault(path, handler)

    server = type(sys)("server")
    server.PromptServer = type("PromptServer", (), {"instance": type("Instance", (), {"routes": Routes()})()})
    monkeypatch.setitem(sys.modules, "server", server)
    assert editor_route.register_route() is True and set(added) == {editor_route.ROUTE}
    web = pytest.importorskip("aiohttp.web")

    class Request:
        def __init__(self, body):
            self.body = body

        async def read(self):
            return self.body

    ok = asyncio.run(added[editor_route.ROUTE](Request(png(photo[0]))))
    assert isinstance(ok, web.Response) and ok.status == 200 and json.loads(ok.text)["width"] == W
    bad = asyncio.run(added[editor_route.ROUTE](Request(b"x")))
    assert bad.status == 400 and "not a PNG" in json.loads(bad.text)["error"]
