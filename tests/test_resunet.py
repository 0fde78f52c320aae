"""The ResUNet feature net: checkpoint layout, batch-statistics BatchNorm, golden outputs, loader errors."""
import json

import pytest
import torch

import golden
from cinemagraph_core.errors import CheckpointError, CinemagraphError
from cinemagraph_core.nets.resunet import ResUNet, load_feature_net
from cinemagraph_core.weights import save_safetensors

STEM = "feature_net_forward"


def manifest(name: str) -> dict:
    entries = json.loads((golden._reference_dir() / "manifests" / f"{name}.json").read_text())["state_dict"]
    return {k: tuple(shape) for k, shape, _ in entries}


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
    assert {k: tuple(v.shape) for k, v in sd.items()} == manifest("feature_net_ResUNet")
    assert list(sd) == list(manifest("feature_net_ResUNet"))


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


def test_wrong_file_names_what_it_is(weights):
    with pytest.raises(CheckpointError, match="SPADE U-Net motion network"):
        load_feature_net(weights.parent / "sceneflow_model.pth")


def test_truncated_file(weights, tmp_path):
    bad = tmp_path / "model_150000.pth"
    with open(weights, "rb") as f:
        bad.write_bytes(f.read(1 << 20))
    with pytest.raises(CheckpointError, match="truncated"):
        load_feature_net(bad)


def test_missing_and_extra_keys(tmp_path):
    sd = ResUNet().state_dict()
    sd.pop("layer3.5.bn2.bias")
    sd["layer3.6.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "model_150000.pth"
    torch.save({"feature_net": sd, "optimG": {"state": {}}}, path)
    with pytest.raises(CheckpointError,
                       match=r"1 missing: layer3\.5\.bn2\.bias.*1 unexpected: layer3\.6\.conv1\.weight"):
        load_feature_net(path)


def test_wrong_shape(tmp_path):
    sd = ResUNet().state_dict()
    sd["out_conv.weight"] = torch.zeros(16, 32, 1, 1)
    path = tmp_path / "features.safetensors"
    save_safetensors({"feature_net": sd}, path)
    with pytest.raises(CheckpointError, match=r"wrong shape: out_conv\.weight: file \(16, 32, 1, 1\)"):
        load_feature_net(path)
