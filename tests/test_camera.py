"""Camera paths (cinemagraph_core.camera): official demo paths, looping presets, keyframes."""
import json

import numpy as np
import pytest
import torch

import golden
from cinemagraph_core import camera
from cinemagraph_core.errors import CinemagraphError

PATHS = "camera_paths"
DEMO = {"up_down": (60, (0.0, -0.08, 0.0), "double-straight-line"),
        "zoom_in": (60, (0.0, 0.0, -0.24), "straight-line"),
        "side": (60, (-0.09, 0.0, 0.0), "double-straight-line"),
        "circle": (90, (-0.04, -0.04, -0.09), "circle")}
"""The official demo's camera paths (its ``define_camera_path`` calls: frames, (x, y, z), path type)."""
KEYS = tuple(DEMO)
LOOPING = [name for name in camera.PRESETS if camera.preset_path(name, 3).looping]
KEYFRAMES = {"keyframes": [{"t": 0.0, "xyz": [0, 0, 0]}, {"t": 0.3, "xyz": [0.05, -0.02, -0.1]},
                           {"t": 0.55, "xyz": [-0.03, 0.01, -0.05]}]}


def golden_args(key):
    g = golden.load(PATHS)
    return int(g[f"{key}__num_frames"]), g[f"{key}__xyz"], str(g[f"{key}__path_type"])


@pytest.mark.parametrize("key", KEYS)
def test_official_camera_matches_define_camera_path(key):
    path = camera.official_camera(*golden_args(key))
    golden.assert_matches(PATHS, key, path.poses[:, :3, 3])
    assert path.looping == (golden_args(key)[2] == "circle")
    assert np.array_equal(path.K_scale, np.ones(path.num_frames))


def test_circle_poses_4x4():
    golden.assert_matches(PATHS, "circle_poses_4x4", camera.official_camera(*golden_args("circle")).poses)


@pytest.mark.parametrize("key", KEYS)
def test_official_and_preset_paths_are_the_demos(key):
    n, xyz, path_type = DEMO[key]
    assert camera.OFFICIAL[key] == DEMO[key]
    demo = camera.official_translations(n, xyz, path_type)
    path = camera.official_path(key)
    assert np.array_equal(path.poses[:, :3, 3], demo) and path.name == key
    preset = camera.preset_path(key.replace("_", "-"), n)
    assert np.allclose(preset.poses[:, :3, 3], demo, rtol=0, atol=1e-12)
    assert preset.looping == (key == "circle") == path.looping
    assert np.array_equal(preset.K_scale, np.ones(n))


def test_official_circle_length_quirk_and_exact_preset_length():
    n = 49
    assert len(np.arange(-2, 2, 4 / n)) == n + 1
    assert camera.official_path("circle", n).num_frames == n + 1
    assert camera.preset_path("circle", n).num_frames == n


def test_default_intrinsics_match_official():
    s = golden.load("pipeline_setup")
    h, w = s["image_uint8"].shape[:2]
    assert torch.equal(camera.default_intrinsics(h, w), torch.from_numpy(s["intrinsic"][0]))


def assert_smooth_loop(t):
    """Frame N (= frame 0) follows frame N-1 like any other step, with a continuous velocity."""
    steps = np.linalg.norm(np.diff(t, axis=0), axis=1)
    wrap = np.linalg.norm(t[0] - t[-1])
    assert wrap <= 1.5 * np.median(steps) + 1e-12
    cyclic = np.concatenate([t[-2:], t, t[:2]])
    accel = np.linalg.norm(cyclic[2:] - 2 * cyclic[1:-1] + cyclic[:-2], axis=1)
    interior = accel[2:-2]
    assert accel[:2].max() <= 1.5 * interior.max() + 1e-12 and accel[-2:].max() <= 1.5 * interior.max() + 1e-12


@pytest.mark.parametrize("name", LOOPING)
def test_looping_presets_return_to_the_start_smoothly(name):
    t, scale = camera.preset_at(name, np.array([0.0, 1.0, 1e-4, 1.0 + 1e-4]))
    assert np.allclose(t[0], t[1], atol=1e-12) and np.allclose(t[2], t[3], atol=1e-12)
    assert scale[0] == pytest.approx(scale[1])
    path = camera.preset_path(name, 48)
    assert path.num_frames == 48 and path.looping
    assert_smooth_loop(path.poses[:, :3, 3])
    assert_smooth_loop(path.K_scale[:, None])


def test_one_way_presets_do_not_loop():
    for name in ("up-down", "zoom-in", "side"):
        path = camera.preset_path(name, 10)
        assert not path.looping and path.num_frames == 10


def test_amplitude_scales_translations():
    for name in camera.PRESETS:
        base = camera.preset_path(name, 16).poses[:, :3, 3]
        assert np.allclose(camera.preset_path(name, 16, amplitude=2.5).poses[:, :3, 3], 2.5 * base)
        assert np.allclose(camera.preset_path(name, 16, amplitude=0.0).poses[:, :3, 3], 0.0)


def test_dolly_zoom_keeps_the_reference_plane_size():
    ref = 2.0
    path = camera.preset_path("dolly-zoom", 20, ref_depth=ref)
    tz = path.poses[:, 2, 3]
    assert np.ptp(tz) > 0.2
    assert np.allclose(path.K_scale / (ref + tz), 1.0 / ref)
    with pytest.raises(CinemagraphError, match="ref_depth"):
        camera.preset_path("dolly-zoom", 20, ref_depth=0.1)


def test_keyframed_path_loops_through_its_keyframes():
    n = 20
    path = camera.keyframed_path(json.dumps(KEYFRAMES), n)
    assert path.looping and path.num_frames == n and np.array_equal(path.K_scale, np.ones(n))
    t = path.poses[:, :3, 3]
    for kf in KEYFRAMES["keyframes"]:
        assert np.allclose(t[round(kf["t"] * n)], kf["xyz"])
    assert_smooth_loop(t)
    assert np.allclose(path.poses[:, :3, :3], np.eye(3))
    one = camera.keyframed_path({"keyframes": [{"t": 0.4, "xyz": [0.1, 0.2, 0.3]}]}, 5)
    assert np.allclose(one.poses[:, :3, 3], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("spec, message", [
    ("{not json", "not valid JSON"),
    ({"keyframes": []}, "non-empty list"),
    ({"frames": [{"t": 0, "xyz": [0, 0, 0]}]}, "non-empty list"),
    ({"keyframes": [{"t": 1.0, "xyz": [0, 0, 0]}]}, r"\[0, 1\)"),
    ({"keyframes": [{"t": -0.1, "xyz": [0, 0, 0]}]}, r"\[0, 1\)"),
    ({"keyframes": [{"t": 0.2, "xyz": [0, 0, 0]}, {"t": 0.2, "xyz": [1, 0, 0]}]}, "same t"),
    ({"keyframes": [{"t": 0.2, "xyz": [0, 0]}]}, "3 finite numbers"),
    ({"keyframes": [{"t": 0.2, "xyz": [0, 0, 0], "zoom": 2}]}, "exactly 't' and 'xyz'"),
])
def test_keyframed_path_rejects_bad_specs(spec, message):
    with pytest.raises(CinemagraphError, match=message):
        camera.keyframed_path(spec, 10)


def test_bad_names_and_frame_counts():
    with pytest.raises(CinemagraphError, match="valid: " + ", ".join(camera.PRESETS)):
        camera.preset_path("orbit", 10)
    with pytest.raises(CinemagraphError, match="valid: up_down, zoom_in, side, circle"):
        camera.official_path("orbit")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(CinemagraphError, match=">= 1"):
            camera.preset_path("circle", bad)
    with pytest.raises(CinemagraphError, match="finite"):
        camera.preset_path("side", 10, amplitude=float("nan"))
    assert camera.preset_path("Zoom_In", 4).name == "zoom-in"
