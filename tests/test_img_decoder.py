"""The ImgDecoder: checkpoint layout, two-side blend, golden outputs, size rules, loader errors."""

import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.nets.img_decoder import ImgDecoder, load_img_decoder
from cinemagraph_core.weights import load_file, save_safetensors

STEM = "img_decoder_forward"


@pytest.fixture(scope="module")
def weights():
    return golden.recipe_weights(golden.weights_seed(STEM)) / "model_150000.pth"


@pytest.fixture(scope="module")
def net(weights):
    return load_img_decoder(weights)


@pytest.fixture(scope="module")
def sides():
    g = golden.load(STEM)
    return torch.from_numpy(g["x0"]), torch.from_numpy(g["x1"])


def test_golden_outputs(net, sides):
    g = golden.load(STEM)
    assert float(net.alpha) == pytest.approx(float(g["alpha_param"]))
    for i, time in enumerate(g["times"]):
        with torch.no_grad():
            golden.assert_matches(STEM, f"output_{i}", net(*sides, float(time)))


def test_state_dict_matches_official_layout():
    sd = ImgDecoder().state_dict()
    assert list(sd) == list(golden.manifest_shapes("img_decoder_ImgDecoder"))
    assert {k: tuple(v.shape) for k, v in sd.items()} == golden.manifest_shapes("img_decoder_ImgDecoder")


def test_blend_weights(net, sides):
    x0, x1 = sides
    with torch.no_grad():
        only0 = net.blend(x0, x1, 0.0)
        swapped = net.blend(x1, x0, 0.7)
        mixed = net.blend(x0, x1, 0.3)
    covered = (x0[:, 3:4] * torch.exp(net.alpha * x0[:, -1:]) >= 1e-6).expand_as(x0)
    assert torch.allclose(only0[covered], x0[covered], atol=1e-6)
    assert torch.allclose(swapped, mixed, atol=1e-6)
    w0 = 0.7 * torch.exp(1.7 * x0[:, -1:]) * x0[:, 3:4]
    w1 = 0.3 * torch.exp(1.7 * x1[:, -1:]) * x1[:, 3:4]
    assert torch.allclose(mixed, (w0 * x0 + w1 * x1) / (w0 + w1).clamp(min=1e-6), atol=1e-5)


@pytest.mark.parametrize("h, w", [(32, 48), (34, 50), (48, 66)])
def test_even_sizes_that_are_not_multiples_of_16(h, w):
    x = torch.rand(1, 37, h, w)
    with torch.no_grad():
        y = ImgDecoder()(x, x, 0.5)
    assert y.shape == (1, 3, h, w) and bool(((y > 0) & (y < 1)).all())


def test_bad_sizes_are_refused():
    net = ImgDecoder()
    with pytest.raises(CinemagraphError, match="must be even"):
        net(torch.rand(1, 37, 33, 48), torch.rand(1, 37, 33, 48), 0.5)
    with pytest.raises(CinemagraphError, match="equal shape"):
        net(torch.rand(1, 37, 32, 48), torch.rand(1, 36, 32, 48), 0.5)


def test_converted_file_gives_same_output(weights, net, sides, tmp_path):
    path = tmp_path / "model_150000.safetensors"
    save_safetensors(load_file(weights), path)
    with torch.no_grad():
        assert torch.equal(load_img_decoder(path)(*sides, 0.3), net(*sides, 0.3))
