"""Property-based checks: whatever a user (or another node) feeds in, a node either works or raises a
CinemagraphError (a ValueError with a message), never an obscure exception from deep inside."""
from __future__ import annotations

import json
import math
import warnings

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinemagraph_core.errors import CinemagraphError
from nodes import tensors
from nodes.depth_nodes import DepthDPT
from nodes.motion_nodes import MaskHints
from nodes.render_nodes import CameraPath

from nodes_fixtures import H, W, image

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 6, 10 ** 6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20)
labelme_like = st.fixed_dictionaries({"shapes": st.lists(st.fixed_dictionaries({
    "label": st.sampled_from(["hint", "hint2", "water", "", 3]),
    "shape_type": st.sampled_from(["line", "polygon", "rectangle", "circle", "point", None]),
    "points": st.lists(st.lists(st.floats(-100, 200) | st.text(max_size=2), min_size=0, max_size=3), max_size=5)}),
    max_size=4)}, optional={"imageHeight": st.integers(-5, 200) | st.none(), "imageWidth": st.integers(-5, 200)})
shapes = st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 32, 40, 56, 80, 112]), max_size=5).map(tuple).filter(
    lambda s: math.prod(s) <= 200_000)
"""Tensor shapes of every rank 0..5, small enough to stay fast (ComfyUI's own are (B,H,W[,C]))."""
dtypes = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.uint8, torch.int64, torch.bool])
fills = st.sampled_from(["rand", "nan", "inf", "neg", "big", "zero", "const"])


def _tensor(shape, dtype, fill) -> torch.Tensor:
    x = torch.rand(shape) if shape else torch.rand(())
    x = {"nan": x * float("nan"), "inf": x + float("inf"), "neg": x - 2.0, "big": x * 300.0,
         "zero": x * 0.0, "const": x * 0.0 + 0.5}.get(fill, x)
    return x.to(dtype) if dtype not in (torch.uint8, torch.int64, torch.bool) else x.nan_to_num(0).clamp(0, 255).to(dtype)


def _works_or_clear_error(call) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except CinemagraphError as e:
        assert str(e).strip()


@SETTINGS
@given(shape=shapes, dtype=dtypes, fill=fills)
def test_any_image_tensor(shape, dtype, fill):
    _works_or_clear_error(lambda: tensors.image_batch(_tensor(shape, dtype, fill)))


@SETTINGS
@given(shape=shapes, dtype=dtypes, fill=fills)
def test_any_mask_tensor(shape, dtype, fill):
    _works_or_clear_error(lambda: MaskHints().run(image(), "[[70, 50, 80, 52]]", 0.0, mask=_tensor(shape, dtype, fill)))


@SETTINGS
@given(shape=shapes, dtype=dtypes, fill=fills)
def test_any_depth_image(shape, dtype, fill):
    _works_or_clear_error(lambda: DepthDPT().run(image(), "auto", depth_image=_tensor(shape, dtype, fill)))


@SETTINGS
@given(text=st.text(max_size=40))
def test_any_hint_text(text):
    _works_or_clear_error(lambda: MaskHints().run(image(), text, 0.0))


@SETTINGS
@given(value=json_values | labelme_like, sigma=st.floats(allow_nan=True, allow_infinity=True))
def test_any_hint_json(value, sigma):
    _works_or_clear_error(lambda: MaskHints().run(image(), json.dumps(value), sigma))


@SETTINGS
@given(value=json_values | st.fixed_dictionaries({"keyframes": json_values}), amplitude=st.floats(-2, 5))
def test_any_keyframes(value, amplitude):
    _works_or_clear_error(lambda: CameraPath().run("keyframes", amplitude, json.dumps(value)))


def test_property_fixture_is_valid():
    (hints,), used = MaskHints().run(image(), "[[70, 50, 80, 52]]", 0.0)
    assert hints.size == (H, W) and used.shape == (1, H, W)
