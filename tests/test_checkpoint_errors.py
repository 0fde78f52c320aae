"""Loader errors shared by the motion net, the feature net and the image decoder: a file of another
network is named, a truncated file is refused, missing/extra/wrong-shape keys are listed."""
import pytest
import torch

import golden
from cinemagraph_core.errors import CheckpointError
from cinemagraph_core.nets.img_decoder import ImgDecoder, load_img_decoder
from cinemagraph_core.nets.resunet import ResUNet, load_feature_net
from cinemagraph_core.nets.spade_unet import SPADEUnetMaskMotion, load_motion_net

# (loader, network, official file, entry, another official file, what that file is, a key to drop, a key to add)
CASES = {
    "motion": (load_motion_net, SPADEUnetMaskMotion, "sceneflow_model.pth", "netG", "depth-model.pth",
               "3D-Photo depth inpainting network", "motion_predictor.spade_layer8_2.mlp_beta.bias",
               "motion_predictor.conv9.weight_orig"),
    "feature_net": (load_feature_net, ResUNet, "model_150000.pth", "feature_net", "sceneflow_model.pth",
                    "SPADE U-Net motion network", "layer3.5.bn2.bias", "layer3.6.conv1.weight"),
    "img_decoder": (load_img_decoder, ImgDecoder, "model_150000.pth", "img_decoder", "color-model.pth",
                    "3D-Photo colour inpainting network", "down2.maxpool_conv.1.double_conv2.2.weight",
                    "up5.conv.double_conv1.0.weight"),
}


@pytest.fixture(scope="module")
def weights():
    return golden.recipe_weights(golden.weights_seed("netG_forward"))


@pytest.mark.parametrize("kind", CASES)
def test_a_file_of_another_network_is_named(weights, kind):
    load, _, _, _, other, what, _, _ = CASES[kind]
    with pytest.raises(CheckpointError, match=what):
        load(weights / other)


@pytest.mark.parametrize("kind", CASES)
def test_a_truncated_file_is_refused(weights, tmp_path, kind):
    load, _, name, _, _, _, _, _ = CASES[kind]
    bad = tmp_path / name
    with open(weights / name, "rb") as f:
        bad.write_bytes(f.read(1 << 20))
    with pytest.raises(CheckpointError, match="truncated"):
        load(bad)


@pytest.mark.parametrize("kind", CASES)
def test_missing_extra_and_wrong_shape_keys_are_listed(tmp_path, kind):
    load, network, name, entry, _, _, drop, add = CASES[kind]
    sd = network().state_dict()
    sd.pop(drop)
    sd[add] = torch.zeros(1)
    reshaped = next(k for k, v in sd.items() if v.dim() >= 2)
    expected = tuple(sd[reshaped].shape)
    sd[reshaped] = torch.zeros(expected[0] + 1, *expected[1:])
    path = tmp_path / name
    torch.save({entry: sd, "epoch": torch.tensor(3)}, path)
    with pytest.raises(CheckpointError) as err:
        load(path)
    msg = str(err.value)
    assert f"1 missing: {drop}" in msg and f"1 unexpected: {add}" in msg
    assert f"{reshaped}: file {(expected[0] + 1, *expected[1:])} vs network {expected}" in msg
