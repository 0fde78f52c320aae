"""Disparity -> depth (SPEC b), user depth maps, and the weight-free layout prior."""
import logging

import numpy as np
import pytest
import torch

from cinemagraph_core.camera import default_intrinsics
from cinemagraph_core.depth.convert import (DISPARITY_FLOOR, PNG_LEVELS, depth_from_map, depth_from_prediction,
                                            disparity_to_depth, quantise_disparity)
from cinemagraph_core.depth.prior import prior_depth
from cinemagraph_core.errors import CinemagraphError
from tests import golden

STEM = "input_data"


def _pfm() -> torch.Tensor:
    return torch.from_numpy(golden.load(STEM)["dpt_prediction_pfm"])


def test_golden_png_quantisation():
    q = quantise_disparity(_pfm())
    assert q.dtype == torch.float32 and float(q.min()) == 0.0 and float(q.max()) == 1.0
    png = torch.round(q.double() * PNG_LEVELS)
    golden.assert_matches(STEM, "dpt_disparity_png_uint16", png)
    assert np.array_equal(png.numpy(), golden.load(STEM)["dpt_disparity_png_uint16"].astype(np.float64))


def test_golden_depth_and_intrinsics():
    d = depth_from_prediction(_pfm())
    h, w = _pfm().shape
    assert d.source == "dpt" and d.size == (h, w) and d.depth.dtype == torch.float32
    golden.assert_matches(STEM, "src_depth", d.depth[None, None])
    golden.assert_matches(STEM, "intrinsic", d.K[None])
    assert torch.equal(d.depth, 1.0 / torch.clamp(d.disparity.double(), min=DISPARITY_FLOOR).float())


def test_golden_depth_from_stored_png():
    png = golden.load(STEM)["dpt_disparity_png_uint16"].astype(np.float64)
    depth = disparity_to_depth(torch.from_numpy(png / PNG_LEVELS))
    golden.assert_matches(STEM, "src_depth", depth[None, None])


def test_quantise_constant_is_zero():
    assert not quantise_disparity(torch.full((8, 8), 0.3)).any()


def test_median_removes_a_spike_and_floor_caps_depth():
    disp = torch.zeros(16, 16)
    disp[8, 8] = 1.0
    depth = disparity_to_depth(disp)
    assert float(depth.max()) == pytest.approx(1.0 / DISPARITY_FLOOR) and float(depth.min()) == depth.max()


def test_disparity_map_follows_the_dpt_path():
    x = torch.rand(40, 48, generator=torch.Generator().manual_seed(0)) * 3.0
    a = depth_from_map(x)
    b = depth_from_prediction(x)
    assert a.source == "external-disparity" and torch.equal(a.depth, b.depth)
    assert torch.equal(a.K, default_intrinsics(40, 48))


def test_relative_depth_scaled_to_nearest_one():
    x = torch.linspace(2.0, 8.0, 40 * 48).reshape(40, 48)
    d = depth_from_map(x, kind="depth")
    assert d.source == "external-depth" and float(d.depth.min()) == 1.0
    assert torch.allclose(d.depth, x / 2.0)
    assert float(d.disparity.min()) == 0.0 and float(d.disparity.max()) == 1.0


def test_metric_depth_used_as_is():
    x = torch.linspace(0.5, 30.0, 40 * 48).reshape(40, 48)
    d = depth_from_map(x.numpy(), kind="metric")
    assert d.source == "external-metric" and torch.equal(d.depth, x) and d.disparity is None


def test_resized_to_image_size(caplog):
    x = torch.linspace(1.0, 2.0, 20 * 24).reshape(20, 24)
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        up = depth_from_map(x, kind="metric", size=(40, 48))
        down = depth_from_map(x, kind="metric", size=(10, 12))
    assert up.size == (40, 48) and down.size == (10, 12)
    assert torch.equal(up.K, default_intrinsics(40, 48))
    assert 1.0 <= float(up.depth.min()) and float(up.depth.max()) <= 2.0
    assert "resizing" in caplog.text


@pytest.mark.parametrize("kind", ["disparity", "depth"])
def test_constant_map_is_flat_at_one(kind):
    with pytest.warns(UserWarning, match="constant"):
        d = depth_from_map(torch.full((32, 32), 0.7), kind=kind)
    assert torch.equal(d.depth, torch.ones(32, 32))


def test_constant_metric_keeps_its_value():
    with pytest.warns(UserWarning, match="constant"):
        d = depth_from_map(torch.full((32, 32), 4.0), kind="metric")
    assert torch.equal(d.depth, torch.full((32, 32), 4.0))


@pytest.mark.parametrize("values, kind, match", [
    (lambda x: x.index_fill_(0, torch.tensor([0, 1]), float("nan")), "disparity", "64 NaN"),
    (lambda x: x.index_fill_(0, torch.tensor([3]), float("inf")), "metric", "32 NaN/infinite"),
    (lambda x: x - 0.5, "disparity", "negative"),
    (lambda x: x.index_fill_(1, torch.tensor([0]), 0.0), "depth", "32 pixels with depth 0"),
    (lambda x: x.index_fill_(1, torch.tensor([0]), 0.0), "metric", "kind='disparity'"),
    (lambda x: x, "inverse", "kind"),
    (lambda x: x[0], "disparity", r"\(H,W\)"),
])
def test_map_errors(values, kind, match):
    x = torch.rand(32, 32, generator=torch.Generator().manual_seed(1)) + 0.1
    with pytest.raises(CinemagraphError, match=match):
        depth_from_map(values(x), kind=kind)


def _two_regions(h: int, w: int, row: int) -> torch.Tensor:
    img = torch.empty(3, h, w)
    img[:, :row] = torch.tensor([0.5, 0.7, 0.9])[:, None, None]
    img[:, row:] = torch.tensor([0.3, 0.5, 0.2])[:, None, None]
    return img


def test_prior_shapes_source_and_warning():
    img = torch.rand(3, 48, 64, generator=torch.Generator().manual_seed(2))
    with pytest.warns(UserWarning, match="depth map"):
        d = prior_depth(img)
    assert d.source == "prior" and d.size == (48, 64) and d.depth.dtype == torch.float32
    assert bool(torch.isfinite(d.depth).all()) and float(d.depth.min()) == pytest.approx(1.0)
    assert float(d.disparity.min()) == 0.0 and float(d.disparity.max()) == 1.0
    assert torch.equal(d.K, default_intrinsics(48, 64))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_prior_is_deterministic_and_far_at_the_top():
    img = torch.rand(3, 64, 80, generator=torch.Generator().manual_seed(3))
    a, b = prior_depth(img), prior_depth(img.clone())
    assert torch.equal(a.depth, b.depth)
    rows = (1.0 / a.depth).mean(1)
    assert bool((rows[1:] >= rows[:-1] - 1e-6).all()), "disparity must not decrease towards the bottom"
    flat = prior_depth(torch.full((3, 64, 80), 0.5))
    col = flat.depth[:, 40]
    assert bool((col[1:] <= col[:-1]).all()) and float(col[-1]) == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("offset", [-5, 0, 5])
def test_prior_depth_edge_snaps_to_the_image_edge(offset):
    h, w, row = 96, 128, 37
    img = _two_regions(h, w, row)
    horizon = None if offset == 0 else (row + offset) / h
    disp = 1.0 / prior_depth(img, horizon=horizon).depth
    jumps = (disp[1:] - disp[:-1]).abs().mean(1)
    top2 = jumps.topk(2)
    assert int(top2.indices[0]) + 1 == row
    assert float(top2.values[0]) > 3 * float(top2.values[1]), "the depth step must sit on the image edge"


def test_prior_errors():
    with pytest.raises(CinemagraphError, match=r"\(3,H,W\)"):
        prior_depth(torch.zeros(48, 64))
    with pytest.raises(CinemagraphError, match="horizon"):
        prior_depth(torch.zeros(3, 48, 64), horizon=1.5)
