"""DPT-Hybrid: official layout, golden forward, the official pre/post-processing chain, loader errors."""
import os
import shutil
import socket

import numpy as np
import pytest
import torch
from torch import nn

import golden
from cinemagraph_core import weights
from cinemagraph_core.camera import default_intrinsics
from cinemagraph_core.depth.dpt import (dpt_input, dpt_input_size, estimate_depth, predict_disparity,
                                        upsample_prediction)
from cinemagraph_core.errors import CheckpointError, CinemagraphError
from cinemagraph_core.networks import NETWORKS
from cinemagraph_core.nets.dpt import DPTDepthModel, load_dpt, resize_pos_embed

FORWARD = "dpt_forward"
CHAIN = "input_data"
DPT_FILE = NETWORKS["dpt"].filename


def recipe_file(stem: str, name: str = DPT_FILE):
    return golden.recipe_weights(golden.weights_seed(stem)) / name


@pytest.fixture(scope="module")
def model():
    return load_dpt(recipe_file(FORWARD))


@pytest.fixture(scope="module")
def meta_model():
    with torch.device("meta"):
        return DPTDepthModel()


def tiny_state_dict(net: nn.Module) -> dict:
    """Every entry of ``net`` with the right shape, stored as one zero (stride-0 views): files of a few kB."""
    return {k: torch.zeros(()).expand(v.shape) for k, v in net.state_dict().items()}


def image_from(stem: str) -> torch.Tensor:
    return torch.from_numpy(golden.load(stem)["image_uint8"]).permute(2, 0, 1).float() / 255.0


class FakeDPT(nn.Module):
    """Stands in for the network where only the processing around it is tested: (B,3,h,w) -> (B,h,w)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * (x[:, 0] + 1.0)


def test_state_dict_equals_official_layout(meta_model):
    sd = meta_model.state_dict()
    expected = golden.manifest_shapes("DPT_hybrid_DPTDepthModel")
    assert list(sd) == list(expected) and len(sd) == 368
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected


def test_building_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access while building DPT")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with torch.device("meta"):
        net = DPTDepthModel()
    assert net.pretrained.model.pos_embed.shape == (1, 577, 768)


def test_golden_forward(model):
    g = golden.load(FORWARD)
    with torch.inference_mode():
        out = model(torch.from_numpy(g["input"]))
    golden.assert_matches(FORWARD, "output", out)
    assert not any(p.is_meta or p.dtype != torch.float32 for p in model.parameters())
    assert not model.training


def test_official_chain_golden(model):
    """One run through the public pieces: net input, raw output, .pfm, 16-bit PNG, depth."""
    from cinemagraph_core.depth.convert import depth_from_prediction, quantise_disparity

    image = image_from(CHAIN)
    seen = {}
    handle = model.register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out.clone()))
    try:
        pfm = predict_disparity(image, model)
    finally:
        handle.remove()
    golden.assert_matches(CHAIN, "dpt_net_input", seen["x"])
    golden.assert_matches(CHAIN, "dpt_net_output", seen["out"])
    golden.assert_matches(CHAIN, "dpt_prediction_pfm", pfm)
    golden.assert_matches(CHAIN, "dpt_disparity_png_uint16", torch.round(quantise_disparity(pfm) * 65535))
    depth = depth_from_prediction(pfm, source="dpt")
    golden.assert_matches(CHAIN, "src_depth", depth.depth[None, None])
    golden.assert_matches(CHAIN, "intrinsic", depth.K[None])


def test_net_input_matches_golden_without_the_net():
    golden.assert_matches(CHAIN, "dpt_net_input", dpt_input(image_from(CHAIN)))


def test_input_size_follows_the_minimal_rule():
    g = golden.load(CHAIN)
    h, w = g["image_uint8"].shape[:2]
    assert dpt_input_size(h, w) == g["dpt_net_input"].shape[2:]
    assert dpt_input_size(720, 1280) == (384, 672)
    assert dpt_input_size(96, 128) == (288, 384)
    assert dpt_input_size(3000, 4000) == (384, 512)
    assert dpt_input_size(400, 10) == (384, 32)


def test_resize_pos_embed_keeps_cls_and_grid():
    pos = torch.randn(1, 1 + 24 * 24, 8)
    assert torch.equal(resize_pos_embed(pos, (24, 24)), pos)
    out = resize_pos_embed(pos, (12, 16))
    assert out.shape == (1, 1 + 12 * 16, 8)
    assert torch.equal(out[:, 0], pos[:, 0])
    grid = pos[0, 1:].reshape(24, 24, 8)
    assert torch.allclose(out[0, 1:].reshape(12, 16, 8).mean((0, 1)), grid.mean((0, 1)), atol=0.05)


def test_estimate_depth_contract():
    image = torch.rand(3, 50, 70)
    depth = estimate_depth(image, FakeDPT())
    assert depth.source == "dpt" and depth.size == (50, 70)
    assert depth.depth.dtype == torch.float32 and float(depth.depth.min()) >= 1.0
    assert 0.0 <= float(depth.disparity.min()) < float(depth.disparity.max()) <= 1.0
    assert torch.allclose(depth.depth, 1.0 / depth.disparity.clamp(min=1e-6))
    assert torch.equal(depth.K, default_intrinsics(50, 70))


def test_predict_disparity_is_the_upsampled_net_output():
    image = torch.rand(3, 45, 61)
    net = FakeDPT()
    expected = upsample_prediction(net(dpt_input(image)).detach(), (45, 61))
    assert torch.equal(predict_disparity(image, net), expected)


@pytest.mark.parametrize("bad, words", [
    (torch.rand(40, 50, 3), "(3,H,W)"),
    (np.zeros((3, 40, 50)), "(3,H,W)"),
    (torch.full((3, 40, 50), float("nan")), "finite"),
    (torch.zeros(3, 40, 50, dtype=torch.uint8), "floating-point"),
])
def test_bad_images_are_refused(bad, words):
    with pytest.raises(CinemagraphError, match=words.replace("(", r"\(").replace(")", r"\)")):
        estimate_depth(bad, FakeDPT())


def test_sizes_not_multiple_of_32_are_refused(meta_model):
    with pytest.raises(CinemagraphError, match="multiples of 32"):
        meta_model(torch.zeros(1, 3, 100, 96, device="meta"))


def test_half_precision_needs_cuda():
    with pytest.raises(CinemagraphError, match="CUDA"):
        predict_disparity(torch.rand(3, 40, 40), FakeDPT(), precision="fp16")


def test_wrong_network_file_is_named():
    with pytest.raises(CheckpointError, match="motion network.*sceneflow_model.pth"):
        load_dpt(recipe_file(FORWARD, NETWORKS["motion"].filename))


def test_truncated_file_is_refused(tmp_path):
    cut = tmp_path / DPT_FILE
    with open(recipe_file(FORWARD), "rb") as src:
        cut.write_bytes(src.read(1 << 20))
    with pytest.raises(CheckpointError, match="truncated"):
        load_dpt(cut)


@pytest.mark.parametrize("change, words", [
    ("extra", "1 unexpected: scratch.extra.weight"),
    ("missing", "1 missing: scratch.output_conv.4.bias"),
    ("shape", "1 of the wrong shape: scratch.output_conv.4.weight"),
])
def test_key_mismatches_are_listed(tmp_path, meta_model, change, words):
    sd = tiny_state_dict(meta_model)
    if change == "extra":
        sd["scratch.extra.weight"] = torch.zeros(3)
    elif change == "missing":
        del sd["scratch.output_conv.4.bias"]
    else:
        sd["scratch.output_conv.4.weight"] = torch.zeros(2, 32, 1, 1)
    path = tmp_path / DPT_FILE
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=words):
        load_dpt(path)


def test_training_checkpoint_uses_its_model_entry(tmp_path, meta_model):
    sd = tiny_state_dict(meta_model)
    path = tmp_path / DPT_FILE
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": []}}, path)
    net = load_dpt(path)
    assert float(net.scratch.output_conv[4].bias) == 0.0 and not net.pretrained.model.cls_token.any()
    torch.save({"model": sd}, path)
    with pytest.raises(CheckpointError, match="not the DPT-Hybrid"):
        load_dpt(path)


class RunsCode:
    """Unpickling this would create a file: a stand-in for a malicious checkpoint."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (shutil.copyfile, (os.devnull, self.marker))


def test_pickle_that_would_run_code_is_refused(tmp_path, meta_model):
    marker = tmp_path / "code_ran"
    sd = tiny_state_dict(meta_model)
    sd["payload"] = RunsCode(str(marker))
    path = tmp_path / DPT_FILE
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_dpt(path)
    assert not marker.exists()


@pytest.mark.slow
def test_safetensors_round_trip_gives_identical_output(tmp_path, model):
    converted = tmp_path / "dpt_hybrid-midas-501f0c75.safetensors"
    assert weights.save_safetensors(weights.load_file(recipe_file(FORWARD)), converted) == 368
    again = load_dpt(converted)
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(again(x), model(x))
