"""The learned stages: motion-net input and motion field, LDI features, decoding of side maps."""
from functools import lru_cache

import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers.features import extract_features
from cinemagraph_core.motion.hints import make_hints
from cinemagraph_core.motion.learned import learned_motion, motion_net_input
from cinemagraph_core.nets.img_decoder import load_img_decoder
from cinemagraph_core.nets.resunet import load_feature_net
from cinemagraph_core.nets.spade_unet import load_motion_net
from cinemagraph_core.render.decode import decode_learned
from cinemagraph_core.types import LDI, SideMaps

SETUP = "pipeline_setup"


def test_motion_net_input_is_pils_bicubic():
    g = golden.load("input_data")
    size = int(g["motion_W"])
    rgb_u8 = g["image_uint8"]
    x = motion_net_input(rgb_u8, size)
    golden.assert_matches("input_data", "motion_rgbs", x)
    as_float = torch.from_numpy(rgb_u8).permute(2, 0, 1).float() / 255
    assert torch.equal(motion_net_input(as_float, size), x)


def test_motion_net_input_other_layouts():
    rgb_u8 = golden.load("input_data")["image_uint8"][:32, :48]
    x = motion_net_input(rgb_u8, 256)
    rgba = np.concatenate([rgb_u8, np.full_like(rgb_u8[..., :1], 255)], axis=2)
    assert torch.equal(motion_net_input(rgba, 256), x)
    grey = motion_net_input(rgb_u8[..., 0], 256)
    assert torch.equal(grey[:, 0], grey[:, 2]) and torch.equal(grey[:, 0], x[:, 0])
    with pytest.raises(CinemagraphError, match="batch"):
        motion_net_input(torch.zeros(2, 3, 8, 8))


def test_motion_size_must_suit_the_net():
    with pytest.raises(CinemagraphError, match="multiple of 256"):
        motion_net_input(np.zeros((8, 8, 3), np.uint8), 700)


@pytest.fixture(scope="module")
def setup_weights():
    return golden.recipe_weights(golden.weights_seed(SETUP))


def test_learned_motion_matches_the_demo(setup_weights):
    g = golden.load(SETUP)
    h, w = g["mask_png"].shape
    hints = make_hints(g["mask_png"] / 255.0, [tuple(p.ravel()) for p in g["hint_points_xy"]], sigma=float(g["sigma"]))
    net = load_motion_net(setup_weights / "sceneflow_model.pth")
    raw = []
    net.register_forward_hook(lambda module, args, out: raw.append(out))
    field = learned_motion(torch.from_numpy(g["image_uint8"]).permute(2, 0, 1) / 255.0, hints, net, (h, w),
                           speed=float(g["flow_scale"]), motion_size=int(g["motion_size"]))
    golden.assert_matches(SETUP, "pred_motion_768", raw[0])
    golden.assert_matches(SETUP, "flow", field.flow[None])
    assert field.source == "learned" and field.size == (h, w)


def test_learned_motion_refuses_bad_speed():
    g = golden.load(SETUP)
    hints = make_hints(g["mask_png"] / 255.0, [tuple(p.ravel()) for p in g["hint_points_xy"]], sigma=float(g["sigma"]))
    with pytest.raises(CinemagraphError, match="speed"):
        learned_motion(g["image_uint8"], hints, None, speed=0.0)


@lru_cache(maxsize=None)
def _feature_net(seed: int):
    return load_feature_net(golden.recipe_weights(seed) / "model_150000.pth")


def _ldi(rgba: np.ndarray) -> LDI:
    rgba_t = torch.from_numpy(rgba)
    n, _, h, w = rgba_t.shape
    return LDI(rgba_t, torch.ones(n, 1, h, w), rgba_t[:, 3:], np.linspace(1.0, 2.0, n + 1))


def test_features_of_the_demo_ldi():
    g = golden.load(SETUP)
    net = _feature_net(golden.weights_seed(SETUP))
    feats = extract_features(_ldi(g["rgba_layers_src"][:, 0]), net)
    assert feats.source == "learned" and feats.channels == 32
    golden.assert_matches(SETUP, "featmaps_src", feats.maps)


def test_features_in_chunks_and_weight_free():
    stem = "feature_net_forward"
    net = _feature_net(golden.weights_seed(stem))
    ldi = _ldi(golden.load(stem)["input_rgba_layers"])
    golden.assert_matches(stem, "output_one_layer_at_a_time", extract_features(ldi, net, chunk=1).maps)
    golden.assert_matches(stem, "output_batched", extract_features(ldi, net, chunk=ldi.num_layers).maps)
    assert extract_features(ldi) == extract_features(ldi, None)
    assert extract_features(ldi).maps is None and extract_features(ldi).source == "rgba"
    with pytest.raises(CinemagraphError, match="chunk"):
        extract_features(ldi, net, chunk=0)


@pytest.fixture(scope="module")
def render_unit():
    stem = "render_unit"
    g = golden.load(stem)
    maps = SideMaps(torch.from_numpy(g["rendered_side0_37ch"][0]).permute(2, 0, 1),
                    torch.from_numpy(g["rendered_side1_37ch"][0]).permute(2, 0, 1), float(g["time"]))
    return maps, load_img_decoder(golden.recipe_weights(golden.weights_seed(stem)) / "model_150000.pth")


def test_decode_learned(render_unit):
    maps, decoder = render_unit
    rgb = decode_learned(maps, decoder)
    assert rgb.shape == (3,) + tuple(maps.forward.shape[1:]) and rgb.dtype == torch.float32
    golden.assert_matches("render_unit", "pred_rgb", rgb[None])


def test_decode_learned_needs_learned_features(render_unit):
    maps, decoder = render_unit
    rgba_only = SideMaps(torch.cat([maps.forward[:4], maps.forward[-1:]]),
                         torch.cat([maps.backward[:4], maps.backward[-1:]]), maps.time)
    with pytest.raises(CinemagraphError, match="37-channel"):
        decode_learned(rgba_only, decoder)
    with pytest.raises(CinemagraphError, match="CUDA"):
        decode_learned(maps, decoder, precision="bf16")
