"""LDIBuild's visible_pixels option: keep (weight-free default) or the official repainted band."""
import pytest
import torch

from cinemagraph_core.errors import CinemagraphError
from nodes.depth_nodes import DepthDPT
from nodes.scene_nodes import VISIBLE_PIXELS, LDIBuild

from nodes_fixtures import depth_image, image


@pytest.fixture(scope="module")
def depth():
    return DepthDPT().run(image(), "auto", depth_image=depth_image())[0]


def test_visible_pixels_is_the_last_optional_input():
    spec = LDIBuild.INPUT_TYPES()
    assert list(spec["required"]) == ["image", "depth", "inpainter", "layered"]
    assert list(spec["optional"]) == ["visible_pixels"]
    choices, opts = spec["optional"]["visible_pixels"]
    assert choices == list(VISIBLE_PIXELS) and opts["default"] == "auto" and "3D-Photo" in opts["tooltip"]


def test_visible_pixels_keep_marks_the_band_visible(depth):
    runs = {choice: LDIBuild().run(image(), depth, "classical", True, choice) for choice in VISIBLE_PIXELS}
    (auto,), (keep,), (official,) = (runs[c][0] for c in ("auto", "keep", "official"))
    assert auto.num_layers == keep.num_layers == official.num_layers == 2
    assert torch.equal(auto.rgba, keep.rgba) and torch.equal(auto.mask, keep.mask)
    band = (keep.mask[1, 0] > 0) & (official.mask[1, 0] == 0)
    assert band.sum() > 100 and not (official.mask[1, 0] > keep.mask[1, 0]).any()
    holes = {c: runs[c][2] for c in ("keep", "official")}
    assert holes["keep"].sum() < holes["official"].sum()
    # the default of run() is the same as 'auto'
    default = LDIBuild().run(image(), depth, "classical", True)[0][0]
    assert torch.equal(default.mask, keep.mask)


def test_visible_pixels_refuses_unknown_values(depth):
    with pytest.raises(CinemagraphError, match="visible_pixels must be one of auto, keep, official"):
        LDIBuild().run(image(), depth, "classical", True, "sometimes")
