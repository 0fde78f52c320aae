"""Weight-free two-side blend and frame finishing (coverage normalisation, hole filling, crop)."""
import numpy as np
import pytest
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.render.blend import (ALPHA_CHANNEL, DIRECT_RGB_SHARPNESS, MIN_OUTPUT_SIZE, blend_sides,
                                           blend_weights, crop_border, finish_rgb, mean_coverage, push_pull_fill)
from cinemagraph_core.render.splat import splat, splat_surface
from cinemagraph_core.types import SideMaps

import golden


def golden_maps() -> SideMaps:
    z = golden.load("render_unit")
    side = [torch.from_numpy(z[f"rendered_side{j}_37ch"][0]).permute(2, 0, 1) for j in (0, 1)]
    return SideMaps(forward=side[0], backward=side[1], time=float(z["time"]))


def test_golden_direct_rgb_and_acc_from_the_golden_side_maps():
    maps = golden_maps()
    golden.assert_matches("render_unit", "direct_rgb", blend_sides(maps, DIRECT_RGB_SHARPNESS)[:3][None])
    golden.assert_matches("render_unit", "acc", mean_coverage(maps)[None, None])


def test_time_zero_is_the_forward_side_and_time_one_the_backward_side():
    maps = golden_maps()
    f, b, a = maps.forward, maps.backward, DIRECT_RGB_SHARPNESS
    at0 = blend_sides(SideMaps(f, b, 0.0), a)
    at1 = blend_sides(SideMaps(f, b, 1.0), a)
    covered0, covered1 = f[ALPHA_CHANNEL] > 1e-3, b[ALPHA_CHANNEL] > 1e-3
    torch.testing.assert_close(at0[:, covered0], f[:, covered0])
    torch.testing.assert_close(at1[:, covered1], b[:, covered1])
    # Just before t = 1 the blend leaves the backward side by w0 (f - b), where (blend_weights) the forward
    # weight w0 <= eps / (1 - eps) * exp(a (d0 - d1)) * alpha0 / alpha1: the bound follows from the maps,
    # plus float32 rounding of the two normalised weights (a few ulp of the larger side).
    eps = 1e-6
    near1 = blend_sides(SideMaps(f, b, 1.0 - eps), a)
    w0_max = eps / (1 - eps) * torch.exp(a * (f[-1] - b[-1])) * f[ALPHA_CHANNEL] / b[ALPHA_CHANNEL]
    bound = w0_max * (f - b).abs() + 4 * torch.finfo(torch.float32).eps * torch.maximum(f.abs(), b.abs())
    assert bool(((near1 - b).abs() <= bound)[:, covered1].all())


def test_weights_prefer_near_content_and_sum_to_one():
    f = torch.zeros(6, 1, 2)
    b = torch.zeros(6, 1, 2)
    f[3], b[3] = 1.0, 1.0
    f[5, 0, 0], b[5, 0, 1] = 1.0, 1.0  # pixel 0: forward is nearer; pixel 1: backward is nearer
    w0, w1 = blend_weights(SideMaps(f, b, 0.5), sharpness=4.0)
    e = float(np.exp(4.0))
    torch.testing.assert_close(w0[0], torch.tensor([e / (e + 1), 1 / (1 + e)]))
    torch.testing.assert_close(w0 + w1, torch.ones(1, 2))
    empty = blend_weights(SideMaps(torch.zeros(6, 2, 2), torch.zeros(6, 2, 2), 0.3))
    assert torch.equal(empty[0], torch.zeros(2, 2)) and torch.equal(empty[1], torch.zeros(2, 2))


@pytest.mark.parametrize("bad,match", [(dict(sharpness=float("nan")), "sharpness"), (dict(sharpness=1e4), "sharpness"),
                                       (dict(shape=(3, 4, 4)), "channels"), (dict(shape2=(6, 4, 5)), "same shape")])
def test_blend_rejects_bad_input(bad, match):
    f = torch.zeros(bad.get("shape", (6, 4, 4)))
    b = torch.zeros(bad.get("shape2", tuple(f.shape)))
    with pytest.raises(CinemagraphError, match=match):
        blend_sides(SideMaps(f, b, 0.5), bad.get("sharpness", 4.0))


def rendered_frame_with_a_hole_and_a_border(surface: bool = False):
    """A splatted textured plane (colours 0.3..0.9) with a square hole, shifted so borders are uncovered.

    surface: splat with ``splat_surface`` (1-px bilinear footprints) instead of the official discs.
    """
    g = torch.Generator().manual_seed(3)
    h, w = 40, 56
    K = torch.tensor([[50.0, 0.0, w / 2], [0.0, 50.0, h / 2], [0.0, 0.0, 1.0]])
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    keep = ~((ys >= 12) & (ys < 24) & (xs >= 20) & (xs < 34))
    xyz = torch.stack([(xs - K[0, 2]) / K[0, 0], (ys - K[1, 2]) / K[1, 1], torch.ones(h, w)], -1)[keep]
    xyz = xyz + torch.tensor([0.1, 0.06, 0.0])  # 5 px right, 3 px down: uncovered left and top borders
    rgb = 0.3 + 0.6 * torch.rand(xyz.shape[0], 3, generator=g)
    attrs = torch.cat([rgb, torch.ones(xyz.shape[0], 1)], 1)
    if surface:
        return splat_surface(xyz, attrs, K, (h, w), 1.0), rgb
    return splat(xyz, attrs, K, (h, w), 1.5), rgb


@pytest.mark.parametrize("surface", [False, True])
def test_finish_fills_holes_and_borders_from_the_surroundings(surface):
    frame, rgb = rendered_frame_with_a_hole_and_a_border(surface)
    cov = frame[3]
    assert (cov < 1e-4).sum() > 300  # the case has a real hole and real borders
    out = finish_rgb(frame, fill_holes=True)
    assert out.shape == (3, *frame.shape[1:]) and torch.isfinite(out).all()
    lo = float(rgb.min())  # every colour was >= 0.3: a filled pixel may not be darker than that
    assert out.min() >= lo - 1e-3 and out.max() <= float(rgb.max()) + 1e-3
    covered = cov > 0.5
    torch.testing.assert_close(out[:, covered], (frame[:3] / cov)[:, covered].clamp(0, 1))
    plain = finish_rgb(frame, fill_holes=False)
    assert torch.equal(plain[:, cov <= 1e-4], torch.zeros_like(plain[:, cov <= 1e-4]))
    assert plain[:, covered].min() >= lo - 1e-3


def test_finish_normalises_premultiplied_colour_by_coverage():
    blended = torch.zeros(5, 16, 16)
    blended[3] = 0.5
    blended[:3] = 0.25
    torch.testing.assert_close(finish_rgb(blended), torch.full((3, 16, 16), 0.5))


def test_finish_never_produces_nan():
    assert torch.equal(finish_rgb(torch.zeros(5, 20, 20)), torch.zeros(3, 20, 20))
    weird = torch.zeros(5, 20, 20)
    weird[:, 3, 3] = float("nan")
    weird[:, 5, 5] = float("inf")
    weird[3, 7, 7] = 1e-30
    weird[0, 7, 7] = 1.0
    out = finish_rgb(weird)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("crop", [0, 1, 12])
def test_crop_sizes(crop):
    frame, _ = rendered_frame_with_a_hole_and_a_border()
    full = finish_rgb(frame, crop=0)
    out = finish_rgb(frame, crop=crop)
    h, w = frame.shape[1:]
    assert out.shape == (3, h - 2 * crop, w - 2 * crop)
    torch.testing.assert_close(out, full[:, crop:h - crop, crop:w - crop])
    torch.testing.assert_close(crop_border(full, crop), out)


@pytest.mark.parametrize("crop", [-1, 13, 2.5, True])
def test_crop_leaving_too_little_is_rejected(crop):
    frame, _ = rendered_frame_with_a_hole_and_a_border()  # 40 x 56: at most (40 - 16) / 2 = 12 px per side
    assert min(frame.shape[1:]) - 2 * 12 == MIN_OUTPUT_SIZE
    with pytest.raises(CinemagraphError, match="crop"):
        finish_rgb(frame, crop=crop)


def test_push_pull_keeps_full_weight_pixels_and_interpolates_smoothly():
    x = torch.zeros(1, 9, 33)
    x[0, :, :16] = 0.2
    x[0, :, 17:] = 0.8
    weight = torch.ones(9, 33)
    weight[:, 16] = 0.0
    out = push_pull_fill(x, weight)
    torch.testing.assert_close(out[:, weight > 0], x[:, weight > 0])
    assert 0.2 < out[0, 4, 16] < 0.8
