"""Motion post-processing (SPEC d), the weight-free motion field, explicit flows, speed."""
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.field import explicit_motion, motion_from_hints, postprocess_motion, scale_speed
from cinemagraph_core.motion.hints import hints_to_motion_space, make_hints, parse_labelme
from cinemagraph_core.types import MotionField
from tests import golden

STEM = "pipeline_setup"


def _setup_inputs():
    g = golden.load(STEM)
    s = int(g["motion_size"])
    mask_png = torch.from_numpy((g["mask_png"] != 0).astype(np.float32))
    mask_s = F.interpolate(mask_png[None, None], size=(s, s), mode="area")
    return g, torch.from_numpy(g["pred_motion_768"]), mask_s


def test_golden_postprocess_and_flow_scale():
    g, pred, mask_s = _setup_inputs()
    h, w = g["mask_png"].shape
    flow = postprocess_motion(pred, mask_s, (h, w))
    assert flow.shape == (2, h, w) and flow.dtype == torch.float32
    golden.assert_matches(STEM, "flow_before_flow_scale", flow[None])
    golden.assert_matches(STEM, "flow", flow[None] / float(g["flow_scale"]))


def test_single_blur_not_repeated():
    """Blurring repeatedly (as the official loop of 7 seems to) must not reproduce the golden flow."""
    from cinemagraph_core.ops.filters import box_blur

    g, pred, mask_s = _setup_inputs()
    h, w = g["mask_png"].shape
    x = pred * mask_s
    for _ in range(2):
        x = box_blur(x, 15)
    x = x * mask_s
    s = pred.shape[-1]
    x = F.interpolate(torch.cat([x[:, :1] * w / s, x[:, 1:] * h / s], 1), size=(h, w), mode="bilinear",
                      align_corners=False)
    assert float((x - torch.from_numpy(g["flow_before_flow_scale"])).abs().max()) > 1e-3


def test_motion_from_hints_is_postprocessed_hint_map():
    g = golden.load("hints")
    arrows, _ = parse_labelme(str(g["image_json"]))
    hints = make_hints(torch.from_numpy(g["mask_png"] / 255.0), arrows, sigma=float(g["sigma"]))
    s = int(g["motion_W"])
    size = hints.size
    field = motion_from_hints(hints, size, speed=2.0, motion_size=s)
    mask, hint = hints_to_motion_space(hints, s)
    assert isinstance(field, MotionField) and field.source == "hints" and field.size == size
    assert torch.allclose(field.flow, postprocess_motion(hint, mask, size) / 2.0)
    # the motion follows the arrows: mean flow under the mask points like the mean arrow
    moving = hints.mask.bool()
    mean_arrow = np.mean([[x1 - x0, y1 - y0] for x0, y0, x1, y1 in arrows], axis=0)
    mean_flow = field.flow[:, moving].mean(1).numpy()
    assert float(np.dot(mean_flow, mean_arrow)) > 0
    assert not field.flow[:, ~F.max_pool2d(moving[None, None].float(), 3, 1, 1)[0, 0].bool()].any()


def test_motion_from_hints_other_resolution_scales_px():
    mask = torch.zeros(48, 64)
    mask[8:40, 8:56] = 1
    hints = make_hints(mask, [(20, 20, 45, 25)], sigma=30.0)
    small = motion_from_hints(hints, (48, 64), motion_size=256).flow
    big = motion_from_hints(hints, (96, 128), motion_size=256).flow
    assert big.shape == (2, 96, 128)
    ratio = big.abs().sum() / small.abs().sum() / 4.0  # twice the px per frame on four times the pixels
    assert float(ratio) == pytest.approx(2.0, rel=0.02)


def test_motion_from_hints_errors():
    hints = make_hints(torch.ones(32, 32), [(1, 1, 5, 5)])
    with pytest.raises(CinemagraphError, match="speed"):
        motion_from_hints(hints, (32, 32), speed=0.0)
    with pytest.raises(CinemagraphError, match="arrow"):
        motion_from_hints(make_hints(torch.ones(32, 32), []), (32, 32))


def test_postprocess_shape_errors():
    with pytest.raises(CinemagraphError, match=r"\(1,2,S,S\)"):
        postprocess_motion(torch.zeros(2, 64, 64), torch.ones(1, 1, 64, 64), (32, 32))
    with pytest.raises(CinemagraphError, match="mask"):
        postprocess_motion(torch.zeros(1, 2, 64, 64), torch.ones(1, 1, 32, 32), (32, 32))


def test_explicit_motion_layouts_and_resize(caplog):
    chw = torch.stack([torch.full((32, 48), 1.0), torch.full((32, 48), -2.0)])
    a = explicit_motion(chw, (32, 48))
    b = explicit_motion(chw.permute(1, 2, 0).numpy(), (32, 48))
    assert a.source == "explicit" and torch.equal(a.flow, chw) and torch.equal(b.flow, chw)
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        up = explicit_motion(chw, (64, 96)).flow
        down = explicit_motion(chw, (16, 24)).flow
    assert up.shape == (2, 64, 96)
    assert torch.allclose(up[0], torch.tensor(2.0)) and torch.allclose(up[1], torch.tensor(-4.0))
    assert torch.allclose(down[0], torch.tensor(0.5)) and torch.allclose(down[1], torch.tensor(-1.0))
    assert "resizing" in caplog.text


@pytest.mark.parametrize("flow, match", [
    (torch.zeros(3, 32, 32), r"\(2,H,W\)"),
    (torch.full((2, 32, 32), float("nan")), "2048 NaN"),
])
def test_explicit_motion_errors(flow, match):
    with pytest.raises(CinemagraphError, match=match):
        explicit_motion(flow, (32, 32))


def test_scale_speed_divides():
    field = MotionField(flow=torch.ones(2, 32, 32), source="learned")
    out = scale_speed(field, 4.0)
    assert out.source == "learned" and torch.equal(out.flow, torch.full((2, 32, 32), 0.25))
    for bad in (0, -1.0, float("inf"), True):
        with pytest.raises(CinemagraphError, match="speed"):
            scale_speed(field, bad)
