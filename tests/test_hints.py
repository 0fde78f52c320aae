"""Arrows, labelme JSON, the dense hint map and its motion-space version (SPEC c)."""
import json
import logging

import numpy as np
import pytest
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.hints import (HINT_DIVISOR, default_sigma, dense_hint_map, hints_to_motion_space,
                                           make_hints, parse_arrows, parse_labelme)
from tests import golden


def _golden_hints(stem: str):
    g = golden.load(stem)
    arrows, _ = parse_labelme(str(g["image_json"]))
    mask = torch.from_numpy(g["mask_png"].astype(np.float32) / 255.0)
    return make_hints(mask, arrows, sigma=float(g["sigma"])), int(g["motion_W"])


def test_labelme_arrows_match_golden_points():
    g = golden.load("hints")
    arrows, _ = parse_labelme(str(g["image_json"]))
    np.testing.assert_array_equal(np.array(arrows).reshape(-1, 2, 2), g["hint_points_xy"])


def test_golden_motion_space_mask_and_hint():
    hints, s = _golden_hints("hints")
    mask, hint = hints_to_motion_space(hints, s)
    golden.assert_matches("hints", "mask_768", mask)
    golden.assert_matches("hints", "hint_768", hint)


def test_golden_input_data_hints_and_mask():
    hints, s = _golden_hints("input_data")
    mask, hint = hints_to_motion_space(hints, s)
    golden.assert_matches("input_data", "mask", mask[0])
    golden.assert_matches("input_data", "hints", hint[0])


def test_labelme_mask_is_the_polygon():
    """The polygon fill agrees with the golden mask.png except on the polygon's fractional edge column."""
    g = golden.load("hints")
    data = json.loads(str(g["image_json"]))
    _, mask = parse_labelme(data)
    assert mask.shape == g["mask_png"].shape and mask.dtype == torch.float32
    differ = mask.numpy() != (g["mask_png"] > 0)
    poly = next(s for s in data["shapes"] if not s["label"].startswith("hint"))
    edge_cols = {int(x) for x, _ in poly["points"] if x != int(x)}
    assert set(np.nonzero(differ)[1].tolist()) <= edge_cols


def test_labelme_shapes_and_scaling():
    data = {"imageHeight": 40, "imageWidth": 60, "shapes": [
        {"label": "water", "shape_type": "polygon", "points": [[10, 5], [29, 5], [29, 14], [10, 14]]},
        {"label": "pool", "shape_type": "rectangle", "points": [[40, 30], [49, 35]]},
        {"label": "hint_a", "shape_type": "line", "points": [[12.5, 8], [20, 9]]},
        {"label": "note", "shape_type": "point", "points": [[1, 1]]},
    ]}
    arrows, mask = parse_labelme(json.dumps(data))
    assert arrows == ((12.5, 8.0, 20.0, 9.0),)
    expected = np.zeros((40, 60), np.float32)
    expected[5:15, 10:30] = 1
    expected[30:36, 40:50] = 1
    np.testing.assert_array_equal(mask.numpy(), expected)
    arrows2, mask2 = parse_labelme(data, size=(80, 120))
    assert arrows2 == ((25.0, 16.0, 40.0, 18.0),) and mask2.shape == (80, 120)


@pytest.mark.parametrize("data, match", [
    ("{not json", "line 1 column 2"),
    ({"shapes": []}, "imageHeight"),
    ({"imageHeight": 9, "imageWidth": 9, "shapes": [{"label": "hint0", "points": [[1, 1], [2, 2], [3, 3]]}]},
     "2 points"),
    ({"imageHeight": 9, "imageWidth": 9, "shapes": [{"label": "m", "points": "x"}]}, "points"),
    ([1, 2], "shapes"),
])
def test_labelme_errors(data, match):
    with pytest.raises(CinemagraphError, match=match):
        parse_labelme(data if isinstance(data, (str, dict)) else json.dumps(data))


def test_parse_arrows_formats():
    one = ((1.0, 2.0, 3.0, 4.0),)
    assert parse_arrows("[[1, 2, 3, 4]]") == one
    assert parse_arrows([[1, 2, 3, 4]]) == one
    assert parse_arrows('[{"start": [1, 2], "end": [3, 4]}]') == one
    assert parse_arrows([[[1, 2], [3, 4]]]) == one
    assert parse_arrows("[1, 2, 3, 4]") == one
    assert parse_arrows(np.array([[[1, 2], [3, 4]]])) == one
    assert parse_arrows("") == parse_arrows("  ") == parse_arrows("[]") == parse_arrows(None) == ()


@pytest.mark.parametrize("text, match", [
    ("[[1, 2, 3, 4],]", r"line 1 column 15.*\[\[1, 2, 3, 4\],>>>\]"),
    ('[[1, 2, 3, 4], {"start": [1, 2]}]', "arrow 1"),
    ("[[1, 2, 3]]", "arrow 0"),
    ('{"a": 1}', "expected a list"),
    ('[[1, 2, "x", 4]]', "arrow 0"),
])
def test_parse_arrows_errors(text, match):
    with pytest.raises(CinemagraphError, match=match):
        parse_arrows(text)


def test_parse_arrows_empty_not_allowed():
    with pytest.raises(CinemagraphError, match="at least one"):
        parse_arrows("", allow_empty=False)


def test_default_sigma_inside_official_range():
    for h in (96, 720, 1080, 33):
        for n in (1, 2, 3, 5, 7):
            s = default_sigma(h, n)
            lo, hi = h // (2 * n), int(h // (n / 2)) - 1
            assert lo <= s <= hi and s == default_sigma(h, n)
    with pytest.raises(CinemagraphError):
        default_sigma(96, 0)


def test_single_arrow_gives_its_motion_on_the_mask():
    mask = torch.zeros(40, 50)
    mask[10:30, 5:45] = 1
    hints = make_hints(mask, [(20.7, 15.2, 30.7, 10.2)], sigma=8.0)
    d = dense_hint_map(hints)
    assert d.shape == (2, 40, 50) and d.dtype == torch.float32
    inside = mask.bool()
    assert torch.allclose(d[0][inside], torch.tensor(10.0 / HINT_DIVISOR))
    assert torch.allclose(d[1][inside], torch.tensor(-5.0 / HINT_DIVISOR))
    assert not d[:, ~inside].any()


def test_two_arrows_blend_by_gaussian_distance():
    mask = torch.ones(32, 64)
    hints = make_hints(mask, [(10, 16, 20, 16), (50, 16, 50, 26)], sigma=12.0)
    d = dense_hint_map(hints)
    w0 = np.exp(-((np.hypot(30 - 10, 0) / 12.0) ** 2))
    w1 = np.exp(-((np.hypot(30 - 50, 0) / 12.0) ** 2))
    assert float(d[0, 16, 30]) == pytest.approx(w0 * 10 / HINT_DIVISOR / (w0 + w1), rel=1e-6)
    assert float(d[1, 16, 30]) == pytest.approx(w1 * 10 / HINT_DIVISOR / (w0 + w1), rel=1e-6)


def test_far_pixels_with_underflowing_weights_are_zero():
    hints = make_hints(None, [(0, 0, 5, 0)], sigma=1.0, size=(40, 40))
    d = dense_hint_map(hints)
    assert float(d[0, 0, 0]) == pytest.approx(0.1) and float(d[0, 39, 39]) == 0.0


def test_motion_space_scaling_and_shapes():
    hints = make_hints(torch.ones(32, 64), [(10, 10, 60, 30)], sigma=1000.0)
    mask, hint = hints_to_motion_space(hints, 128)
    assert mask.shape == (1, 1, 128, 128) and hint.shape == (1, 2, 128, 128)
    assert torch.allclose(hint[0, 0], torch.tensor(50 / HINT_DIVISOR * 128 / 64))
    assert torch.allclose(hint[0, 1], torch.tensor(20 / HINT_DIVISOR * 128 / 32))
    assert bool((mask == 1).all())


def test_mask_none_means_everything_moves(caplog):
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        hints = make_hints(None, "[[1, 1, 5, 5]]", size=(32, 40))
    assert hints.size == (32, 40) and bool((hints.mask == 1).all())
    assert "whole" in caplog.text


def test_mask_resized_to_image_size():
    mask = torch.zeros(16, 20)
    mask[:, 10:] = 1
    hints = make_hints(mask, [(1, 1, 5, 5)], size=(32, 40))
    assert hints.size == (32, 40)
    assert set(torch.unique(hints.mask).tolist()) == {0.0, 1.0}
    assert bool((hints.mask[:, 20:] == 1).all()) and not hints.mask[:, :20].any()


@pytest.mark.parametrize("mask, arrows, kw, match", [
    (torch.zeros(32, 40), [(1, 1, 5, 5)], {}, "nothing would move"),
    (torch.ones(32, 40), [(41, 1, 45, 5)], {}, r"arrow 0 starts at \(41, 1\), outside the 40x32 image"),
    (torch.ones(32, 40), [(1, 1, 5, 5), (3, -1, 5, 5)], {}, "arrow 1"),
    (torch.ones(32, 40), [(3, 3, 3, 3)], {}, "zero length"),
    (torch.ones(32, 40) * 255, [(1, 1, 5, 5)], {}, "255"),
    (torch.ones(32, 40), [(1, 1, 5, 5)], {"sigma": 0.0}, "sigma"),
    (None, [(1, 1, 5, 5)], {}, "size"),
])
def test_make_hints_errors(mask, arrows, kw, match):
    with pytest.raises(CinemagraphError, match=match):
        make_hints(mask, arrows, **kw)


def test_default_sigma_used_when_none():
    mask = torch.ones(48, 64)
    arrows = [(10, 10, 20, 10), (40, 30, 40, 40)]
    a = dense_hint_map(make_hints(mask, arrows))
    b = dense_hint_map(make_hints(mask, arrows, sigma=default_sigma(48, 2)))
    assert torch.equal(a, b)
