"""SplatRender's compositing widget: appended as the last (optional) input, passed to the frames, checked."""
import pytest
import torch

from cinemagraph_core import pipeline
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.hints import make_hints
from cinemagraph_core.types import Animation
from nodes import common, render_nodes
from nodes.render_nodes import Decode, SplatRender

from nodes_fixtures import ARROWS, H, W, image, mask

FRAMES = 2


@pytest.fixture(scope="module")
def animation():
    img = image()[0].permute(2, 0, 1).contiguous()
    ys = torch.linspace(1.0, 3.0, H)[:, None].expand(H, W).contiguous()  # a slanted ground plane
    hints = make_hints(mask()[0], [tuple(a) for a in ARROWS], size=(H, W))
    scene = pipeline.prepare_scene(img, depth=1.0 / ys, hints=hints, config=pipeline.PipelineConfig(num_frames=FRAMES))
    return (Animation(cloud=scene.cloud, motion=scene.motion, num_frames=FRAMES),), img


def test_compositing_is_the_last_optional_widget_and_defaults_to_auto():
    spec = SplatRender.INPUT_TYPES()
    assert list(spec["required"])[-1] == "backend" and list(spec["optional"]) == ["compositing"]
    choices, opts = spec["optional"]["compositing"]
    assert choices == ["auto", "official", "surface"] and opts["default"] == "auto"


def test_compositing_reaches_the_rendered_frames(animation):
    anims, img = animation
    camera = common.CameraSpec("static")
    (auto,) = SplatRender().run(anims, camera)
    (official,) = SplatRender().run(anims, camera, 25.0, 1.5, 8, 0, True, "torch", "official")
    assert auto[0].settings.compositing == "auto" and official[0].settings.compositing == "official"
    first_auto = Decode().run(auto, "blend")[0][0].permute(2, 0, 1)
    first_official = Decode().run(official, "blend")[0][0].permute(2, 0, 1)
    assert (first_auto - img).abs().mean() < 0.5 * (first_official - img).abs().mean()


@pytest.mark.parametrize("compositing,backend,message", [("magic", "torch", "compositing must be one of"),
                                                         ("surface", "pytorch3d", "needs backend torch")])
def test_bad_compositing_is_refused(animation, compositing, backend, message, monkeypatch):
    monkeypatch.setattr(render_nodes, "pytorch3d_available", lambda: True)  # no fallback to torch
    with pytest.raises(CinemagraphError, match=message):
        SplatRender().run(animation[0], common.CameraSpec("static"), 25.0, 1.5, 8, 0, True, backend, compositing)
