"""The ResUNet feature net: checkpoint layout, batch-statistics BatchNorm, golden outputs, loader errors."""

import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.nets.resunet import ResUNet, load_feature_net

STEM = "feature_net_forward"


@pytest.fixture(scope="module")
def weights():
    return golden.recipe_weights(golden.weights_seed(STEM)) / "model_150000.pth"


@pytest.fixture(scope="module")
def net(weights):
    return load_feature_net(weights)


def test_golden_batched_and_one_at_a_time(net):
    x = torch.from_numpy(golden.load(STEM)["input_rgba_layers"])
    with torch.no_grad():
        golden.assert_matches(STEM, "output_batched", net(x))
        golden.assert_matches(STEM, "output_one_layer_at_a_time", torch.cat([net(layer[None]) for layer in x]))


def test_batch_statistics_even_in_eval(net):
    x = torch.from_numpy(golden.load(STEM)["input_rgba_layers"])
    assert not net.training
    with torch.no_grad():
        alone, together = net(x[:1]), net(x)[:1]
    assert (alone - together).abs().max() > 1e-2


def test_state_dict_matches_official_layout():
    sd = ResUNet().state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == golden.manifest_shapes("feature_net_ResUNet")
    assert list(sd) == list(golden.manifest_shapes("feature_net_ResUNet"))


@pytest.mark.parametrize("h, w", [(64, 96), (40, 56), (50, 34)])
def test_output_size(h, w):
    with torch.no_grad():
        y = ResUNet()(torch.rand(2, 4, h, w))
    assert y.shape == (2, 32, 4 * -(-h // 16), 4 * -(-w // 16)) and torch.isfinite(y).all()


def test_bad_input():
    with pytest.raises(CinemagraphError, match=r"\(N,4,H,W\)"):
        ResUNet()(torch.rand(2, 3, 64, 64))
    with pytest.raises(CinemagraphError, match="too small"):
        ResUNet()(torch.rand(2, 4, 16, 64))
