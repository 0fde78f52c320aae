
import pytest
import torch

import golden
from cinemagraph_core.errors import CheckpointError
from cinemagraph_core.layers.inpaint import LearnedInpainter, zero_mean_log_depth
from cinemagraph_core.nets.inpaint_nets import (InpaintColorNet, InpaintDepthNet, PartialConv,
                                                load_color_net, load_depth_net)

STEM = "inpaint_nets_forward"


@pytest.fixture(scope="module")
def weights():
    return golden.recipe_weights(golden.weights_seed(STEM))


@pytest.fixture(scope="module")
def inpainter(weights):
    return LearnedInpainter.from_files(weights / "depth-model.pth", weights / "color-model.pth")


def _inputs():
    return {k: torch.from_numpy(v) for k, v in golden.load(STEM).items() if v.ndim == 4}


@pytest.mark.parametrize("net_class, manifest", [(InpaintDepthNet, "Inpaint_Depth_Net"),
                                                 (InpaintColorNet, "Inpaint_Color_Net")])
def test_state_dict_matches_manifest(net_class, manifest):
    with torch.device("meta"):
        net = net_class()
    entries = golden.manifest_entries(manifest)
    sd = net.state_dict()
    assert list(sd) == [k for k, _, _ in entries]
    for key, shape, dtype in entries:
        assert list(sd[key].shape) == shape, key
        assert str(sd[key].dtype) == f"torch.{dtype}", key


def test_mean_log_depth():
    x = _inputs()
    zm, mu = zero_mean_log_depth(x["depth"], x["context"])
    golden.assert_matches(STEM, "zero_mean_log_depth", zm)
    golden.assert_matches(STEM, "mean_log_depth", mu)


def test_depth_net_forward(inpainter):
    x = _inputs()
    zm = torch.from_numpy(golden.load(STEM)["zero_mean_log_depth"])
    out = inpainter.depth_net.forward_padded(zm, x["edge"], x["context"], x["holes"])
    golden.assert_matches(STEM, "depth_net_forward_3P", out)


def test_color_net_forward(inpainter):
    x = _inputs()
    out = inpainter.color_net.forward_padded(x["context_rgb"], x["edge"], x["context"], x["holes"])
    golden.assert_matches(STEM, "color_net_forward_3P", out)
    assert float(out.min()) > 0 and float(out.max()) < 1
    assert not inpainter.depth_net.training and not inpainter.color_net.training


def test_inpaint_depth_and_rgb(inpainter):
    x = _inputs()
    rng = tuple(float(v) for v in golden.load(STEM)["inpaint_depth_range"])
    depth = inpainter.inpaint_depth(x["depth"], x["holes"], x["context"], rng)
    golden.assert_matches(STEM, "inpaint_depth_result", depth)
    golden.assert_matches(STEM, "inpaint_rgb_result", inpainter.inpaint_rgb(x["holes"], x["context"], x["context_rgb"]))


def test_wrong_file_is_named(weights):
    with pytest.raises(CheckpointError, match="colour inpainting"):
        load_depth_net(weights / "color-model.pth")
    with pytest.raises(CheckpointError, match="depth inpainting"):
        load_color_net(weights / "depth-model.pth")


def test_partial_conv_fast_mask_count_equals_mask_conv():
    torch.manual_seed(0)
    conv = PartialConv(5, 7, 3, 2, bias=True)
    x = torch.randn(1, 5, 16, 12)
    mask = (torch.rand(1, 5, 16, 12) > 0.6).float()
    y, m = conv(x, mask)
    with torch.no_grad():
        valid = conv.mask_conv(mask)
        conv.mask_conv.weight[0, 0, 0, 0] = 2.0  # not all ones any more: the generic path
        y2, m2 = conv(x, mask)
    assert torch.equal(m.expand_as(valid), (valid > 0).float())
    assert torch.all(y.expand_as(valid)[valid == 0] == 0)
    assert m2.shape == valid.shape and not torch.equal(y2, y)


def test_partial_conv_renormalisation():
    """Constant kernel and input: every window with a valid entry gives the full-window response."""
    conv = PartialConv(3, 4, 3, 1, bias=False)
    with torch.no_grad():
        conv.input_conv.weight.fill_(0.5)
    mask = torch.ones(1, 3, 8, 8)
    mask[..., 2:6, 2:6] = 0
    y, new_mask = conv(torch.ones(1, 3, 8, 8), mask)
    empty = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    empty[..., 3:5, 3:5] = True
    assert torch.equal(new_mask == 0, empty)
    assert torch.all(y[empty.expand_as(y)] == 0)
    assert torch.allclose(y[~empty.expand_as(y)], torch.tensor(0.5 * 27))
