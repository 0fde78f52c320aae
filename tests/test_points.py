"""Point cloud construction and scene-flow lifting (cinemagraph_core.points) against the goldens."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.ops.filters import box_blur, box_blur_fast
from cinemagraph_core.points import (DIFFUSE_ITERS, DIFFUSE_KERNEL, MASK_EPS, build_point_cloud,
                                     composite_depth, lift, masked_diffuse, unproject)
from cinemagraph_core.types import LDI, LayerFeatures

SETUP, DETAIL = "pipeline_setup", "pipeline_frame_detail"


def setup_ldi() -> LDI:
    s = golden.load(SETUP)
    return LDI(rgba=torch.from_numpy(s["rgba_layers_src"][:, 0]), depth=torch.from_numpy(s["depth_layers_src"][:, 0]),
               mask=torch.from_numpy(s["mask_layers_src"][:, 0]), bins=s["depth_bins"])


@pytest.fixture(scope="module")
def cloud():
    s = golden.load(SETUP)
    return build_point_cloud(setup_ldi(), LayerFeatures(torch.from_numpy(s["featmaps_src"]), "learned"),
                             torch.from_numpy(s["intrinsic"][0]))


def detail_disp(side: str) -> torch.Tensor:
    return torch.from_numpy(golden.load(DETAIL)[f"flow_{side}"][0]).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize("side", ["f", "b"])
def test_lift_matches_official_scene_flow(cloud, side):
    pts = lift(cloud, detail_disp(side))
    golden.assert_matches(DETAIL, f"n_pts_per_layer_{side}", np.asarray(pts.per_layer))
    golden.assert_matches(DETAIL, f"pts_end_{side}", pts.xyz)
    golden.assert_matches(DETAIL, f"rgba_end_{side}", pts.attrs[:, :4])
    golden.assert_matches(DETAIL, f"feat_end_{side}", pts.attrs[:, 4:])


def test_source_points_match_official_pts_src():
    s = golden.load(SETUP)
    depth = torch.from_numpy(s["depth_layers_src"][:, 0, 0])
    alpha = torch.from_numpy(s["rgba_layers_src"][:, 0, 3])
    pts = unproject(torch.from_numpy(s["intrinsic"][0]), composite_depth(depth, alpha))
    golden.assert_matches(SETUP, "pts_src", pts.reshape(-1, 3))


def test_unproject_reprojects_to_the_pixel_grid():
    K = torch.tensor([[50.0, 0.0, 9.0], [0.0, 40.0, 6.0], [0.0, 0.0, 1.0]])
    depth = torch.rand(11, 17) * 5 + 0.5
    pts = unproject(K, depth)
    assert pts.shape == (11, 17, 3)
    assert torch.allclose(pts[..., 2], depth)
    uv = pts @ K.T
    ys, xs = torch.meshgrid(torch.arange(11.0), torch.arange(17.0), indexing="ij")
    assert torch.allclose(uv[..., 0] / uv[..., 2], xs, atol=1e-4)
    assert torch.allclose(uv[..., 1] / uv[..., 2], ys, atol=1e-4)


def reference_diffuse(x, m, k, iters):
    """The official rule written plainly, with avg_pool2d as the box filter."""
    for _ in range(iters):
        bm = F.avg_pool2d(m.double(), k, 1, k // 2).float()
        fill = F.avg_pool2d((x * m).double(), k, 1, k // 2).float() / bm.clamp(min=MASK_EPS)
        x = torch.where(m > MASK_EPS, x, fill)
        m = bm
    return x, m


@pytest.mark.parametrize("k", [1, 3, 7, 15, 31])
def test_box_blur_fast_matches_box_blur(k):
    x = torch.randn(2, 3, 37, 45, generator=torch.Generator().manual_seed(k)) * 40
    x[:, :, 10:30, 5:40] = 0
    fast = box_blur_fast(x, k)
    exact = F.avg_pool2d(x.double(), k, 1, k // 2)
    assert torch.allclose(fast.double(), exact, atol=1e-5 * 40)
    assert torch.allclose(fast, box_blur(x, k), atol=1e-5 * 40)
    assert torch.equal(fast == 0, exact == 0), "windows of zeros stay exactly zero"
    with pytest.raises(ValueError, match="odd"):
        box_blur_fast(x, 4)


def test_masked_diffuse_keeps_the_mask_and_extends_it():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 40, 50, generator=g)
    m = torch.zeros(2, 1, 40, 50)
    m[0, 0, 10:20, 5:30] = 1
    m[1, 0, 30:, 40:] = 1
    out, mask = masked_diffuse(x, m)
    ref_x, ref_m = reference_diffuse(x, m, DIFFUSE_KERNEL, DIFFUSE_ITERS)
    assert torch.equal(out[m.expand_as(x) > 0], x[m.expand_as(x) > 0])
    covered = (ref_m > MASK_EPS).expand_as(x)
    assert torch.allclose(out[covered], ref_x[covered], atol=1e-4)
    assert torch.allclose(mask, ref_m, atol=1e-6)


def test_masked_diffuse_reach_and_constants():
    m = torch.zeros(1, 1, 41, 41)
    m[0, 0, 20, 20] = 1
    x = torch.full((1, 2, 41, 41), 3.5)
    out, mask = masked_diffuse(x, m, k=5, iters=3)
    reach = 3 * (5 // 2)
    ys, xs = torch.meshgrid(torch.arange(41), torch.arange(41), indexing="ij")
    within = ((ys - 20).abs() <= reach) & ((xs - 20).abs() <= reach)
    assert torch.equal(mask[0, 0] > 0, within)
    assert torch.allclose(out[0][:, mask[0, 0] > MASK_EPS], torch.tensor(3.5), atol=1e-5)


def test_masked_diffuse_rejects_bad_shapes():
    with pytest.raises(CinemagraphError, match=r"\(B,1,H,W\)"):
        masked_diffuse(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8))
    with pytest.raises(CinemagraphError, match="odd kernel"):
        masked_diffuse(torch.zeros(1, 2, 8, 8), torch.zeros(1, 1, 8, 8), k=4)


def toy_ldi(h=24, w=32, depths=(2.0, 5.0)):
    """Two layers: a near box on a far plane that also covers the box (inpainted)."""
    near = torch.zeros(h, w)
    near[6:16, 8:20] = 1
    rgba = torch.stack([torch.cat([torch.rand(3, h, w) * near, near[None]]),
                        torch.cat([torch.rand(3, h, w), torch.ones(1, h, w)])])
    depth = torch.stack([near * depths[0], torch.full((h, w), depths[1])])[:, None]
    mask = torch.stack([near, 1 - near])[:, None]
    return LDI(rgba=rgba, depth=depth, mask=mask, bins=np.array([1.0, 3.0, 6.0]))


def test_build_point_cloud_without_features():
    ldi = toy_ldi()
    K = torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]])
    cloud = build_point_cloud(ldi, LayerFeatures(), K)
    assert cloud.channels == 4 and cloud.num_layers == 2 and cloud.size == (24, 32)
    for i in range(2):
        solid = ldi.rgba[i, 3] > 0.5
        assert torch.equal(cloud.pixels[i], solid.flatten().nonzero().squeeze(1))
        assert torch.equal(cloud.attrs[i][:, :3], ldi.rgba[i, :3].reshape(3, -1)[:, cloud.pixels[i]].T)
    eroded = torch.zeros(24, 32)
    eroded[8:14, 10:18] = 1
    assert torch.equal(cloud.keep[0], eroded), "keep = 5x5 erosion of the visibility mask"
    far = cloud.depth[1]
    assert torch.allclose(far, torch.full_like(far, 5.0))


def test_build_point_cloud_clamps_and_diffuses_depth():
    ldi = toy_ldi(depths=(2.0, 5000.0))
    cloud = build_point_cloud(ldi, LayerFeatures(), torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]]))
    assert float(cloud.depth[1].max()) == pytest.approx(1000.0)
    near = cloud.depth[0]
    assert torch.allclose(near[cloud.keep[0] > 0], torch.tensor(2.0))
    assert torch.allclose(near, torch.tensor(2.0), atol=1e-5), "the box's depth is diffused over the frame"


def test_build_point_cloud_feature_mix_outside_the_visible_region():
    ldi = toy_ldi()
    maps = torch.randn(2, 3, 24, 32)
    K = torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]])
    cloud = build_point_cloud(ldi, LayerFeatures(maps, "learned"), K)
    assert cloud.channels == 7
    keep = cloud.keep.flatten(1)
    visible = ldi.mask[:, 0].flatten(1)
    for i in range(2):
        pix = cloud.pixels[i]
        feats = cloud.attrs[i][:, 4:]
        inner = keep[i, pix] > 0
        assert torch.allclose(feats[inner], maps[i].flatten(1)[:, pix[inner]].T, atol=1e-5)
        mix = (maps.flatten(2) * visible[:, None]).sum(0) / visible.sum(0).clamp(min=1e-6)
        assert torch.allclose(feats[~inner], mix[:, pix[~inner]].T, atol=1e-5)


def test_build_point_cloud_rejects_mismatched_inputs():
    ldi = toy_ldi()
    K = torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]])
    with pytest.raises(CinemagraphError, match="one map per LDI layer"):
        build_point_cloud(ldi, LayerFeatures(torch.zeros(3, 8, 6, 8), "learned"), K)
    with pytest.raises(CinemagraphError, match=r"\(3,3\)"):
        build_point_cloud(ldi, LayerFeatures(), torch.eye(4))
    with pytest.raises(CinemagraphError, match="singular"):
        build_point_cloud(ldi, LayerFeatures(), torch.zeros(3, 3))
    bad = LDI(rgba=ldi.rgba, depth=ldi.depth[:, :, :10], mask=ldi.mask, bins=ldi.bins)
    with pytest.raises(CinemagraphError, match="depth must be"):
        build_point_cloud(bad, LayerFeatures(), K)


def test_lift_without_motion_is_the_source_cloud():
    ldi = toy_ldi()
    K = torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]])
    cloud = build_point_cloud(ldi, LayerFeatures(), K)
    pts = lift(cloud, torch.zeros(2, 24, 32))
    assert pts.per_layer == tuple(p.numel() for p in cloud.pixels)
    src = torch.cat([unproject(K, cloud.depth[i]).reshape(-1, 3)[cloud.pixels[i]] for i in range(2)])
    assert torch.allclose(pts.xyz, src, atol=1e-5)
    assert torch.equal(pts.attrs, torch.cat(cloud.attrs))


def test_lift_drops_points_that_leave_the_frame():
    h, w, shift = 12, 20, 3.0
    ldi = LDI(rgba=torch.ones(1, 4, h, w), depth=torch.full((1, 1, h, w), 4.0), mask=torch.ones(1, 1, h, w),
              bins=np.array([1.0, 5.0]))
    cloud = build_point_cloud(ldi, LayerFeatures(), torch.tensor([[20.0, 0, 10], [0, 20.0, 6], [0, 0, 1]]))
    disp = torch.zeros(2, h, w)
    disp[0] = shift
    pts = lift(cloud, disp)
    assert pts.per_layer == (h * (w - int(shift)),)
    assert torch.allclose(pts.xyz[:, 0].reshape(h, -1)[0], (torch.arange(w - 3.0) + shift - 10) / 20 * 4)
    assert torch.equal(pts.attrs, torch.ones(h * (w - 3), 4))


def test_lift_pushes_a_layer_behind_the_nearer_one():
    ldi = toy_ldi()
    depth = ldi.depth.clone()
    depth[1] = 1.5
    ldi = LDI(rgba=ldi.rgba, depth=depth, mask=ldi.mask, bins=ldi.bins)
    cloud = build_point_cloud(ldi, LayerFeatures(), torch.tensor([[32.0, 0, 16], [0, 32.0, 12], [0, 0, 1]]))
    pts = lift(cloud, torch.zeros(2, 24, 32))
    n0 = pts.per_layer[0]
    near_xyz = pts.xyz[:n0]
    far_at_box = torch.isin(cloud.pixels[1], cloud.pixels[0])
    assert torch.allclose(pts.xyz[n0:][far_at_box], 1.01 * near_xyz)
    assert torch.allclose(pts.xyz[n0:][~far_at_box][:, 2], torch.tensor(1.5))


def test_lift_diffuses_only_near_the_motion_exactly():
    g = torch.Generator().manual_seed(3)
    h, w = 90, 120
    mask = torch.zeros(1, 1, h, w)
    mask[0, 0, 20:70, 10:100] = 1
    ldi = LDI(rgba=torch.ones(1, 4, h, w), depth=torch.full((1, 1, h, w), 3.0), mask=mask, bins=np.array([1.0, 4.0]))
    K = torch.tensor([[120.0, 0, 60], [0, 120.0, 45], [0, 0, 1]])
    cloud = build_point_cloud(ldi, LayerFeatures(), K)
    disp = torch.zeros(2, h, w)
    disp[:, 30:40, 15:25] = torch.randn(2, 10, 10, generator=g)
    pts = lift(cloud, disp)
    moved, m = masked_diffuse(disp[None], cloud.keep[None, :1])
    moved = torch.where(m[0] > MASK_EPS, moved[0], torch.zeros(()))
    depth, _ = masked_diffuse(ldi.depth[:1], cloud.keep[None, :1])
    depth = torch.where(m[0, 0] > MASK_EPS, depth[0, 0], ldi.depth[0, 0]).flatten()
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    u, v = (xs + moved[0]).flatten(), (ys + moved[1]).flatten()
    inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    expect = (torch.stack([(u - 60) / 120, (v - 45) / 120, torch.ones_like(u)], 1) * depth[:, None])[inside]
    assert pts.per_layer == (int(inside.sum()),)
    assert torch.allclose(pts.xyz, expect, atol=1e-5)


def test_lift_rejects_bad_displacements(cloud):
    h, w = cloud.size
    with pytest.raises(CinemagraphError, match="resize the motion"):
        lift(cloud, torch.zeros(2, h + 1, w))
    bad = torch.zeros(2, h, w)
    bad[0, 0, 0] = float("nan")
    with pytest.raises(CinemagraphError, match="NaN"):
        lift(cloud, bad)
