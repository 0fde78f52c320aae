"""One frame through the camera: golden render_unit parity, camera moves, sides, backends."""
import importlib.util
from dataclasses import replace

import numpy as np
import pytest
import torch

from cinemagraph_core.camera import default_intrinsics
from cinemagraph_core.demo_scene import make_demo_scene
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers.ldi import build_ldi
from cinemagraph_core.points import build_point_cloud, lift, unproject
from cinemagraph_core.render.blend import DIRECT_RGB_SHARPNESS, blend_sides, mean_coverage
from cinemagraph_core.render.view import (layer_ids, move_points, ndc_radius, normalised_disparity, point_radii,
                                          render_sides, size_from_intrinsics)
from cinemagraph_core.types import FramePoints, RenderSettings

import golden

HAS_PYTORCH3D = importlib.util.find_spec("pytorch3d") is not None


def unit_case():
    """render_unit.npz as (fwd, bwd, K, pose, time, settings, size)."""
    z = golden.load("render_unit")
    pts, side = torch.from_numpy(z["pts"]), torch.from_numpy(z["side_ids"])
    attrs = torch.cat([torch.from_numpy(z["rgbas"]), torch.from_numpy(z["feats"])], 1)
    fwd = FramePoints(pts[side == 0], attrs[side == 0], (int((side == 0).sum()),))
    bwd = FramePoints(pts[side == 1], attrs[side == 1], (int((side == 1).sum()),))
    pose = np.eye(4)
    pose[:3, 3] = z["t"]
    assert not bool(z["vary_pts_radius"])
    # the file stores the radius; the 8 points per pixel and the adaptive radius are the official renderer's
    # fixed settings (SPEC h, j), RenderSettings' defaults
    settings = RenderSettings(radius_px=float(z["point_radius_px"]))
    return fwd, bwd, torch.from_numpy(z["intrinsic"][0]), pose, float(z["time"]), settings, (int(z["h"]), int(z["w"]))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_golden_side_maps_direct_rgb_and_acc(backend):
    fwd, bwd, K, pose, time, settings, size = unit_case()
    maps = render_sides(fwd, bwd, K, pose, time, replace(settings, backend=backend), size=size)
    assert maps.time == time
    golden.assert_matches("render_unit", "rendered_side0_37ch", maps.forward.permute(1, 2, 0)[None])
    golden.assert_matches("render_unit", "rendered_side1_37ch", maps.backward.permute(1, 2, 0)[None])
    golden.assert_matches("render_unit", "direct_rgb", blend_sides(maps, DIRECT_RGB_SHARPNESS)[:3][None])
    golden.assert_matches("render_unit", "acc", mean_coverage(maps)[None, None])


def test_golden_radius_ndc():
    fwd, bwd, K, pose, time, settings, size = unit_case()
    pts = torch.cat([fwd.xyz, bwd.xyz])
    radius = point_radii(pts[:, 2], move_points(pts, pose)[:, 2], settings.radius_px, settings.adaptive_radius)
    golden.assert_matches("render_unit", "radius_ndc", ndc_radius(radius, size)[None])


def test_forward_only_gives_a_zero_backward_map():
    fwd, _, K, pose, time, settings, size = unit_case()
    maps = render_sides(fwd, None, K, pose, time, settings, size=size)
    assert torch.equal(maps.backward, torch.zeros_like(maps.forward))
    disp = maps.forward[-1][maps.forward[3] > 0.99]
    assert disp.min() < 0.05 and disp.max() > 0.95  # normalised over the forward side alone


def test_disparity_is_normalised_over_both_sides():
    z = torch.tensor([1.0, 2.0, 4.0, 0.0, -3.0, float("nan")])
    d = normalised_disparity(z)
    torch.testing.assert_close(d[:3], torch.tensor([1.0, (0.5 - 0.25) / 0.75, 0.0]))
    assert torch.equal(normalised_disparity(torch.full((4,), 2.0)), torch.zeros(4))
    fwd = FramePoints(torch.tensor([[0.0, 0.0, 1.0]]), torch.ones(1, 4), (1,))
    bwd = FramePoints(torch.tensor([[0.0, 0.0, 4.0]]), torch.ones(1, 4), (1,))
    K = default_intrinsics(16, 16)
    maps = render_sides(fwd, bwd, K, np.eye(4), 0.5, RenderSettings(radius_px=2.0), size=(16, 16))
    torch.testing.assert_close(maps.forward[-1], maps.forward[3])  # disparity 1, times the coverage
    assert maps.backward[-1].abs().max() == 0.0 and maps.backward[3].max() > 0.5  # rendered, disparity 0


def test_pose_translation_equals_moving_the_points():
    fwd, bwd, K, pose, time, settings, size = unit_case()
    moved = render_sides(fwd, bwd, K, pose, time, settings, size=size)
    t = torch.as_tensor(pose[:3, 3], dtype=torch.float32)
    fixed = RenderSettings(radius_px=settings.radius_px, adaptive_radius=False)
    a = render_sides(fwd, bwd, K, pose, time, fixed, size=size)
    shifted = [FramePoints(s.xyz + t, s.attrs, s.per_layer) for s in (fwd, bwd)]
    b = render_sides(*shifted, K, np.eye(4), time, fixed, size=size)
    torch.testing.assert_close(a.forward, b.forward)
    torch.testing.assert_close(a.backward, b.backward)
    assert not torch.allclose(moved.forward, a.forward)  # the adaptive radius matters


def test_rotation_about_the_optical_axis_flips_the_image():
    g = torch.Generator().manual_seed(0)
    h, w = 12, 16
    K = torch.tensor([[14.0, 0.0, w / 2], [0.0, 14.0, h / 2], [0.0, 0.0, 1.0]])
    xyz = torch.cat([torch.rand(300, 2, generator=g) - 0.5, 1.0 + torch.rand(300, 1, generator=g)], 1)
    side = FramePoints(xyz, torch.rand(300, 4, generator=g), (300,))
    settings = RenderSettings(radius_px=1.3)
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    a = render_sides(side, None, K, np.eye(4), 0.0, settings, size=(h, w))
    b = render_sides(side, None, K, flip, 0.0, settings, size=(h, w))
    torch.testing.assert_close(b.forward, a.forward.flip(1, 2), atol=1e-5, rtol=1e-5)


def test_k_scale_zooms_about_the_principal_point_and_scales_the_radius():
    K = torch.tensor([[10.0, 0.0, 7.5], [0.0, 10.0, 5.5], [0.0, 0.0, 1.0]])
    # u = 10 * K_scale * 0.2 + 7.5: the centre of column 9 (K_scale 1) or 11 (K_scale 2); v = 5.5 (row 5).
    # The radius (0.75 px) doubles with the focal length: the 8 neighbours (1 and 1.41 px away) are covered only
    # then.
    side = FramePoints(torch.tensor([[0.2, 0.0, 1.0]]), torch.ones(1, 4), (1,))
    one = render_sides(side, None, K, np.eye(4), 0.0, RenderSettings(radius_px=0.75), size=(12, 16))
    two = render_sides(side, None, K, np.eye(4), 0.0, RenderSettings(radius_px=0.75), K_scale=2.0, size=(12, 16))
    assert one.forward[3, 5, 9] == 1.0 and one.forward[3].sum() == 1.0
    assert two.forward[3, 5, 11] == 1.0
    ring = torch.stack([two.forward[3, 4, 11], two.forward[3, 6, 11], two.forward[3, 5, 10], two.forward[3, 5, 12]])
    torch.testing.assert_close(ring, torch.full((4,), 1.0 - 1.0 / 1.5**2))
    assert abs(float(two.forward[3].sum()) - (1.0 + 4 * (1 - 1 / 1.5**2) + 4 * (1 - 2 / 1.5**2))) < 1e-5


def test_size_is_inferred_from_official_intrinsics():
    assert size_from_intrinsics(default_intrinsics(32, 48)) == (32, 48)
    K = default_intrinsics(32, 48).clone()
    K[0, 2] = 23.5
    with pytest.raises(CinemagraphError, match="size"):
        size_from_intrinsics(K)
    fwd, bwd, K, pose, time, settings, size = unit_case()
    assert render_sides(fwd, bwd, K, pose, time, settings).forward.shape[1:] == size


def test_point_radii_fallbacks():
    z_src = torch.tensor([2.0, 2.0, -1.0, 2.0])
    z_dst = torch.tensor([1.0, -0.5, 1.0, float("nan")])
    torch.testing.assert_close(point_radii(z_src, z_dst, 1.5), torch.tensor([3.0, 1.5, 1.5, 1.5]))
    torch.testing.assert_close(point_radii(z_src, z_dst, 1.5, adaptive=False), torch.full((4,), 1.5))
    with pytest.raises(CinemagraphError, match="radius_px"):
        point_radii(z_src, z_dst, 0.0)


@pytest.mark.parametrize("change,match", [
    (dict(time=1.5), "time"),
    (dict(K_scale=0.0), "K_scale"),
    (dict(pose=np.eye(3)), "pose"),
    (dict(bwd=FramePoints(torch.zeros(2, 3), torch.zeros(2, 5), (2,))), "same attribute channels"),
    (dict(bwd=FramePoints(torch.zeros(2, 3), torch.zeros(3, 36), (2,))), r"\(P,3\)"),
])
def test_bad_arguments_are_rejected(change, match):
    fwd, bwd, K, pose, time, settings, size = unit_case()
    args = dict(fwd=fwd, bwd=bwd, K=K, pose=pose, time=time, settings=settings, K_scale=1.0, size=size)
    args.update(change)
    with pytest.raises(CinemagraphError, match=match):
        render_sides(**args)


@pytest.mark.skipif(HAS_PYTORCH3D, reason="pytorch3d is installed")
def test_pytorch3d_backend_missing_is_a_clear_error():
    fwd, bwd, K, pose, time, _, size = unit_case()
    with pytest.raises(CinemagraphError, match="optional pytorch3d.*'auto'"):
        render_sides(fwd, bwd, K, pose, time, RenderSettings(backend="pytorch3d"), size=size)


@pytest.mark.skipif(not HAS_PYTORCH3D, reason="pytorch3d is not installed (optional backend)")
def test_pytorch3d_backend_matches_the_torch_backend():
    fwd, bwd, K, pose, time, settings, size = unit_case()
    ours = render_sides(fwd, bwd, K, pose, time, settings, size=size)
    theirs = render_sides(fwd, bwd, K, pose, time, RenderSettings(backend="pytorch3d"), size=size)
    golden.assert_matches("render_unit", "rendered_side0_37ch", theirs.forward.permute(1, 2, 0)[None])
    for a, b in ((ours.forward, theirs.forward), (ours.backward, theirs.backward)):
        ok = (a - b).abs() <= 1e-4 + 1e-5 * b.abs()
        assert ok.float().mean() >= 0.999


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_golden_pipeline_frame_direct_rgb_and_acc(backend):
    z = golden.load("pipeline_frame_detail")
    assert not bool(z["vary_pts_radius"])
    K = torch.from_numpy(golden.load("pipeline_setup")["intrinsic"][0])
    sides = [FramePoints(torch.from_numpy(z[f"pts_end_{s}"]),
                         torch.cat([torch.from_numpy(z[f"rgba_end_{s}"]), torch.from_numpy(z[f"feat_end_{s}"])], 1),
                         tuple(int(n) for n in z[f"n_pts_per_layer_{s}"])) for s in ("f", "b")]
    pose = np.eye(4)
    pose[:3, 3] = z["t"]
    size = tuple(z["direct_rgb"].shape[2:])
    maps = render_sides(*sides, K, pose, float(z["time"]), RenderSettings(backend=backend), size=size)
    golden.assert_matches("pipeline_frame_detail", "direct_rgb", blend_sides(maps, DIRECT_RGB_SHARPNESS)[:3][None])
    golden.assert_matches("pipeline_frame_detail", "acc", mean_coverage(maps)[None, None])


SURFACE = RenderSettings(compositing="surface")


def test_auto_compositing_renders_official_maps():
    fwd, bwd, K, pose, time, settings, size = unit_case()
    official = render_sides(fwd, bwd, K, pose, time, replace(settings, compositing="official"), size=size)
    auto = render_sides(fwd, bwd, K, pose, time, settings, size=size)
    assert settings.compositing == "auto"
    assert torch.equal(auto.forward, official.forward) and torch.equal(auto.backward, official.backward)


@pytest.fixture(scope="module")
def demo_source_view():
    """The demo scene's LDI lifted with no motion: (image, ldi, forward points, K)."""
    scene = make_demo_scene(160)
    ldi = build_ldi(scene.image, scene.depth.depth)
    cloud = build_point_cloud(ldi, None, scene.depth.K)
    return scene.image, ldi, lift(cloud, torch.zeros(2, *cloud.size)), cloud.K


def test_surface_reproduces_the_demo_scenes_nearest_layer(demo_source_view):
    image, ldi, points, K = demo_source_view
    assert ldi.num_layers >= 2 and len(points.per_layer) == ldi.num_layers
    size = tuple(image.shape[1:])
    layer0 = ldi.rgba[0, 3] > 0.5
    for settings, worst in ((SURFACE, 1e-5), (RenderSettings(compositing="official"), None)):
        maps = render_sides(points, None, K, np.eye(4), 0.0, settings, size=size)
        cov = maps.forward[3]
        err = (maps.forward[:3] / cov.clamp(min=1e-6) - image).abs()[:, layer0].max()
        if worst is not None:  # exact on layer 0; the farther layers' points behind it do not show
            assert err < worst and (cov[layer0] - 1.0).abs().max() < 1e-4
        else:
            assert err > 0.05  # the official splats are shifted by half a pixel and blurred


def test_surface_keeps_each_layer_a_separate_surface():
    # Layer 1 hides 1 % behind layer 0 (the lift's ordering push): within the tolerance, but another layer.
    h, w = 6, 8
    K = default_intrinsics(h, w)
    grid = unproject(K, torch.ones(h, w)).reshape(-1, 3)
    side = FramePoints(torch.cat([grid, 1.01 * grid]), torch.cat([torch.ones(h * w, 4), torch.zeros(h * w, 4)]),
                       (h * w, h * w))
    assert torch.equal(layer_ids(side), torch.repeat_interleave(torch.arange(2), h * w))
    maps = render_sides(side, None, K, np.eye(4), 0.0, SURFACE, size=(h, w))
    torch.testing.assert_close(maps.forward[:4], torch.ones(4, h, w), atol=1e-5, rtol=0)


@pytest.mark.parametrize("adaptive", [True, False])
def test_surface_footprints_follow_the_adaptive_radius(adaptive):
    # The camera moves to half the plane's distance: the points spread to 2 px apart.
    h, w = 16, 20
    K = default_intrinsics(h, w)
    side = FramePoints(unproject(K, torch.full((h, w), 2.0)).reshape(-1, 3), torch.ones(h * w, 4), (h * w,))
    pose = np.eye(4)
    pose[2, 3] = -1.0
    settings = RenderSettings(compositing="surface", adaptive_radius=adaptive)
    cov = render_sides(side, None, K, pose, 0.0, settings, size=(h, w)).forward[3]
    inner = cov[4:-4, 4:-4]
    if adaptive:  # 2-px bilinear footprints: every inner pixel fully covered
        assert (inner - 1.0).abs().max() < 1e-5
    else:  # 1-px footprints leave the pixels between the points empty
        assert ((inner < 1e-4).float().mean() - 0.75).abs() < 1e-6  # 3 in 4 pixels lie between points


def test_surface_compositing_with_pytorch3d_is_rejected():
    fwd, bwd, K, pose, time, _, size = unit_case()
    with pytest.raises(CinemagraphError, match="not by pytorch3d"):
        render_sides(fwd, bwd, K, pose, time, RenderSettings(compositing="surface", backend="pytorch3d"), size=size)


@pytest.mark.parametrize("change,match", [
    (dict(backend="magic"), "backend must be one of auto, numpy, torch, pytorch3d"),
    (dict(compositing="magic"), "compositing must be one of auto, official, surface"),
    (dict(renderer="raytrace"), "renderer must be one of auto, warp, splat"),
    (dict(border="blur"), "border must be one of zoom, crop, fill"),
    (dict(surface_tolerance=-1.0), "surface_tolerance must be a relative depth gap >= 0"),
    (dict(radius_px=0.0), "radius_px must be a radius > 0 px"),
    (dict(points_per_pixel=0), "points_per_pixel must be a whole number >= 1"),
    (dict(crop=-1), "crop must be a whole number of px >= 0"),
    (dict(crop=2.5), "crop must be a whole number"),
    (dict(depth_sharpness=float("nan")), "depth_sharpness must be a finite number"),
])
def test_render_settings_validate_themselves(change, match):
    with pytest.raises(CinemagraphError, match=match):
        RenderSettings(**change)
    with pytest.raises(CinemagraphError, match=match):
        replace(RenderSettings(), **change)


def test_surface_needs_per_layer_counts_that_add_up():
    fwd, _, K, pose, time, _, size = unit_case()
    broken = FramePoints(fwd.xyz, fwd.attrs, (int(fwd.xyz.shape[0]) - 1,))
    with pytest.raises(CinemagraphError, match="per_layer"):
        render_sides(broken, None, K, pose, time, SURFACE, size=size)
