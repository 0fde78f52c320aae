"""SplatRender's compositing, renderer and border widgets: appended as the last (optional) inputs, passed to the
frames, checked."""
import pytest
import torch

from cinemagraph_core import pipeline
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.hints import make_hints
from cinemagraph_core.types import Animation
from nodes import common, render_nodes
from nodes.render_nodes import Decode, SplatRender
from nodes.shortcut import Cinemagraph3D

from nodes_fixtures import ARROWS, H, W, image, mask

FRAMES = 2


@pytest.fixture(scope="module")
def animation():
    img = image()[0].permute(2, 0, 1).contiguous()
    ys = torch.linspace(1.0, 3.0, H)[:, None].expand(H, W).contiguous()  # a slanted ground plane
    hints = make_hints(mask()[0], [tuple(a) for a in ARROWS], size=(H, W))
    scene = pipeline.prepare_scene(img, depth=1.0 / ys, hints=hints, config=pipeline.PipelineConfig(num_frames=FRAMES))
    return (Animation(cloud=scene.cloud, motion=scene.motion, num_frames=FRAMES),), img


def test_the_optional_widgets_come_last_in_their_saved_order():
    """Saved workflows store widget values by position: new widgets are appended after the old ones."""
    spec = SplatRender.INPUT_TYPES()
    assert list(spec["required"])[-1] == "backend"
    got, opts = spec["required"]["backend"]
    assert got == ["auto", "numpy", "torch", "pytorch3d"] and opts["default"] == "auto" and opts["tooltip"]
    assert list(spec["optional"]) == ["compositing", "renderer", "border"]
    for name, choices, default in (("compositing", ["auto", "official", "surface"], "auto"),
                                   ("renderer", ["auto", "warp", "splat"], "auto"),
                                   ("border", ["zoom", "crop", "fill"], "zoom")):
        got, opts = spec["optional"][name]
        assert got == choices and opts["default"] == default and opts["tooltip"]
    one = Cinemagraph3D.INPUT_TYPES()["optional"]
    assert list(one) == ["mask", "depth_image", "depth_kind", "renderer", "border", "backend", "auto"]


def test_compositing_reaches_the_rendered_frames(animation):
    """The splat renderer's compositing: surface splats give the source view back, official ones blur it."""
    anims, img = animation
    camera = common.CameraSpec("static")
    (auto,) = SplatRender().run(anims, camera, 25.0, 1.5, 8, 0, True, "torch", "auto", "splat")
    (official,) = SplatRender().run(anims, camera, 25.0, 1.5, 8, 0, True, "torch", "official", "splat")
    assert auto[0].settings.compositing == "auto" and official[0].settings.compositing == "official"
    first_auto = Decode().run(auto, "blend")[0][0].permute(2, 0, 1)
    first_official = Decode().run(official, "blend")[0][0].permute(2, 0, 1)
    assert (first_auto - img).abs().mean() < 0.5 * (first_official - img).abs().mean()


@pytest.mark.parametrize("compositing", ["surface", "official"])
def test_every_splatter_gives_the_same_frames(animation, compositing):
    """numpy, torch (the name saved workflows use) and auto render the same splat frames, within 1e-5."""
    anims, _ = animation
    frames = {}
    for backend in ("numpy", "torch", "auto"):
        (rendered,) = SplatRender().run(anims, common.CameraSpec("circle"), 25.0, 1.5, 8, 0, True, backend,
                                        compositing, "splat", "fill")
        frames[backend] = Decode().run(rendered, "blend")[0]
    torch.testing.assert_close(frames["torch"], frames["numpy"], atol=1e-5, rtol=0)
    assert torch.equal(frames["auto"], frames["numpy"])  # auto on the CPU = numpy


def test_renderer_and_border_reach_the_rendered_frames(animation):
    """Default: the warp renderer (the source view comes back exactly at t = 0) with the border zoom; crop cuts
    32 px per side; a bad choice is refused by name."""
    anims, img = animation
    (default,) = SplatRender().run(anims, common.CameraSpec("static"))
    assert default[0].settings.renderer == "auto" and default[0].settings.border == "zoom"
    first = Decode().run(default, "blend")[0][0].permute(2, 0, 1)
    assert (first - img).abs().max() < 1e-5
    (cropped,) = SplatRender().run(anims, common.CameraSpec("circle"), 25.0, 1.5, 8, 0, True, "torch", "auto", "warp",
                                   "crop")
    frames = Decode().run(cropped, "blend")[0]
    assert tuple(frames.shape[1:3]) == (img.shape[1] - 64, img.shape[2] - 64)
    for args, message in (((0, True, "torch", "auto", "magic"), "renderer must be one of"),
                          ((0, True, "torch", "auto", "warp", "wide"), "border must be one of")):
        with pytest.raises(CinemagraphError, match=message):
            SplatRender().run(anims, common.CameraSpec("static"), 25.0, 1.5, 8, *args)


@pytest.mark.parametrize("compositing,backend,message", [("magic", "torch", "compositing must be one of"),
                                                         ("surface", "pytorch3d", "needs a built-in splatter"),
                                                         ("auto", "cuda-magic", "backend must be one of")])
def test_bad_compositing_is_refused(animation, compositing, backend, message, monkeypatch):
    monkeypatch.setattr(render_nodes, "pytorch3d_available", lambda: True)  # no fallback to torch
    with pytest.raises(CinemagraphError, match=message):
        SplatRender().run(animation[0], common.CameraSpec("static"), 25.0, 1.5, 8, 0, True, backend, compositing,
                          "splat")
