import math

import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers.bins import SAMPLE_STRIDE, depth_bins, sample_stride


def _depth(stem: str) -> torch.Tensor:
    z = golden.load(stem)
    return torch.from_numpy(z["depth" if "depth" in z else "src_depth"][0, 0])


@pytest.mark.parametrize("stem", ["ldi", "pipeline_setup"])
def test_golden_bins(stem):
    bins = depth_bins(_depth(stem))
    assert bins.dtype == np.float64
    assert len(bins) == len(golden.load(stem)["depth_bins"])
    golden.assert_matches(stem, "depth_bins", bins)


def test_accepts_numpy_and_nchw():
    d = _depth("ldi")
    ref = depth_bins(d)
    np.testing.assert_array_equal(depth_bins(d.numpy()), ref)
    np.testing.assert_array_equal(depth_bins(d[None, None]), ref)


@pytest.mark.parametrize("value", [3.0, 50.0])
def test_constant_depth_gives_one_bin(value):
    bins = depth_bins(torch.full((40, 60), value))
    assert len(bins) == 2
    # official float32 edges: +-1e-6 vanishes in rounding at depth >= 32
    assert bins[0] <= value <= bins[1]
    assert (bins[0] < value) == (value < 32)


def test_tiny_image_single_sample():
    bins = depth_bins(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(bins) == 2 and bins[0] < 1.0 and bins[1] >= 4.0


@pytest.mark.parametrize("bad, match", [
    (torch.full((8, 8), 0.005), "> 0.01"),
    (torch.tensor([[1.0, float("nan")], [1.0, 2.0]]), "NaN"),
    (torch.tensor([[1.0, float("inf")], [1.0, 2.0]]), "NaN/inf"),
    (torch.ones(2, 8, 8), "single"),
])
def test_rejects_bad_depth(bad, match):
    with pytest.raises(CinemagraphError, match=match):
        depth_bins(bad)


def test_sample_stride_bounds_samples():
    assert sample_stride(256, 384) == SAMPLE_STRIDE
    for h, w, cap in [(720, 1280, 6000), (1080, 1920, 6000), (4000, 3000, 1000), (1080, 1920, 1)]:
        s = sample_stride(h, w, cap)
        assert math.ceil(h / s) * math.ceil(w / s) <= cap
        assert math.ceil(h / (s - 1)) * math.ceil(w / (s - 1)) > cap or s == SAMPLE_STRIDE
    with pytest.raises(CinemagraphError, match="max_samples"):
        sample_stride(10, 10, 0)


def test_cap_below_sample_count_is_official():
    d = _depth("ldi")
    n = math.ceil(d.shape[0] / SAMPLE_STRIDE) * math.ceil(d.shape[1] / SAMPLE_STRIDE)
    np.testing.assert_array_equal(depth_bins(d, max_samples=n), depth_bins(d))


def _three_surfaces(h: int = 256, w: int = 384) -> torch.Tensor:
    """A far background (depth 40), a slanted ground (3..3.8) and a near box (1..1.1): three well-separated
    disparity clusters, so every sampling of them should find three layers. (The test owns this scene: how
    many layers a capped sampling keeps depends on the content, not a fact of the golden set.)"""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    depth = torch.full((h, w), 40.0)
    ground = y > 0.55 * h
    depth[ground] = 3.0 + 0.002 * x[ground]
    box = (x > 0.3 * w) & (x < 0.6 * w) & (y > 0.3 * h) & (y < 0.8 * h)
    depth[box] = 1.0 + 0.0005 * y[box]
    return depth


def test_cap_with_scaled_threshold_keeps_layer_count():
    """Fewer samples shrink Ward distances; the scaled threshold keeps the count, the fixed one loses layers."""
    d = _three_surfaces()
    official = len(depth_bins(d)) - 1
    assert official == 3
    n = math.ceil(d.shape[0] / SAMPLE_STRIDE) * math.ceil(d.shape[1] / SAMPLE_STRIDE)
    for cap in (n // 3, n // 12):
        assert sample_stride(*d.shape, cap) > SAMPLE_STRIDE
        assert len(depth_bins(d, max_samples=cap)) - 1 == official
    assert len(depth_bins(d, max_samples=n // 12, scale_threshold=False)) - 1 < official
