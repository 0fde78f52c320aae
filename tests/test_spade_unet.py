"""The SPADE U-Net motion net: checkpoint layout, spectral norm, golden outputs, loader errors."""

import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.nets.precision import autocast
from cinemagraph_core.nets.spade_unet import SPADEUnetMaskMotion, load_motion_net, mixed_resize

STEM = "netG_forward"


@pytest.fixture(scope="module")
def weights():
    return golden.recipe_weights(golden.weights_seed(STEM)) / "sceneflow_model.pth"


@pytest.fixture(scope="module")
def nets(weights):
    return {mode: load_motion_net(weights, spectral_norm=mode) for mode in ("train", "eval")}


@pytest.fixture(scope="module")
def inputs():
    g = golden.load(STEM)
    return tuple(torch.from_numpy(g[k]) for k in ("image", "mask", "hint"))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_golden_forward_and_sigmas(nets, inputs, mode):
    g = golden.load(STEM)
    net = nets[mode]
    sigmas = net.spectral_sigmas()
    golden.assert_matches(STEM, f"sn_sigma_{mode}mode", [sigmas[str(n)] for n in g["sn_layer_names"]])
    with torch.no_grad():
        pred = net(*inputs)
    assert pred.shape == (1, 2, int(g["H"]), int(g["W"]))
    golden.assert_matches(STEM, f"pred_motion_{mode}mode", pred)


def test_state_dict_matches_official_layout():
    sd = SPADEUnetMaskMotion().state_dict()
    assert list(sd) == list(golden.manifest_shapes("netG_SPADEUnetMaskMotion"))
    assert {k: tuple(v.shape) for k, v in sd.items()} == golden.manifest_shapes("netG_SPADEUnetMaskMotion")


def test_frozen_sigma_is_deterministic(nets, inputs):
    net = nets["train"]
    with torch.no_grad():
        a, b = net(*inputs), net(*inputs)
    assert torch.equal(a, b)
    stored = net.state_dict()
    after = {k: v for k, v in stored.items() if k.endswith(("weight_u", "weight_v"))}
    assert len(after) == 32 and all(abs(float(v.norm()) - 1) < 1e-5 for v in after.values())


def test_power_iteration_updates_u_v_once(weights):
    net = load_motion_net(weights, spectral_norm="eval")
    conv = net.motion_predictor.conv3
    w = conv.weight_orig.reshape(conv.weight_orig.shape[0], -1).double()
    u0 = conv.weight_u.double().clone()
    v = torch.nn.functional.normalize(w.t() @ u0, dim=0)
    u = torch.nn.functional.normalize(w @ v, dim=0)
    sigma = float(conv.freeze("train"))
    assert sigma == pytest.approx(float(u @ w @ v), rel=1e-5)
    assert torch.allclose(conv.weight_u.double(), u, atol=1e-6)
    assert torch.allclose(conv.weight, conv.weight_orig / sigma)


def test_mixed_resize_keeps_mask_channel_nearest():
    x = torch.zeros(1, 6, 4, 4)
    x[:, :, :, 2:] = 1.0
    y = mixed_resize(x, (2, 2))
    assert torch.equal(y[0, 3], torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.allclose(y[0, 0], torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    up = mixed_resize(x, (8, 8))
    assert set(up[0, 3].unique().tolist()) == {0.0, 1.0}
    assert len(up[0, 4].unique()) > 2


def test_bad_sizes_are_refused():
    net = SPADEUnetMaskMotion()
    with pytest.raises(CinemagraphError, match="multiples of 256"):
        net(torch.zeros(1, 3, 200, 256), torch.zeros(1, 1, 200, 256), torch.zeros(1, 2, 200, 256))
    with pytest.raises(CinemagraphError, match="disagree"):
        net(torch.zeros(1, 3, 256, 256), torch.zeros(1, 1, 256, 256), torch.zeros(1, 3, 256, 256))
    with pytest.raises(CinemagraphError, match="disagree"):
        net(torch.zeros(3, 256, 256), torch.zeros(1, 256, 256), torch.zeros(2, 256, 256))


def test_autocast_choices():
    with autocast("cpu", "fp32"):
        pass
    with pytest.raises(CinemagraphError, match="CUDA"):
        autocast("cpu", "fp16")
    with pytest.raises(CinemagraphError, match="precision must be one of fp32, fp16, bf16"):
        autocast("cpu", "fp8")


def test_extra_top_level_entries_ignored_and_device(tmp_path):
    net = SPADEUnetMaskMotion()
    path = tmp_path / "sceneflow_model.pth"
    torch.save({"netG": net.state_dict(), "optimizer": {"lr": torch.tensor(1.0)}}, path)
    loaded = load_motion_net(path, device="cpu", spectral_norm="eval")
    assert not loaded.training and next(loaded.parameters()).device.type == "cpu"
    assert np.allclose(list(loaded.spectral_sigmas().values()), list(net.spectral_sigmas().values()))
