"""3-D symmetric animation (cinemagraph_core.animate): the per-frame point sets."""
import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.animate import iter_frames
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.euler import euler_integrate
from cinemagraph_core.points import build_point_cloud, lift
from cinemagraph_core.types import LDI, Animation, LayerFeatures, MotionField

SETUP, DETAIL = "pipeline_setup", "pipeline_frame_detail"


@pytest.fixture(scope="module")
def scene():
    s = golden.load(SETUP)
    ldi = LDI(rgba=torch.from_numpy(s["rgba_layers_src"][:, 0]), depth=torch.from_numpy(s["depth_layers_src"][:, 0]),
              mask=torch.from_numpy(s["mask_layers_src"][:, 0]), bins=s["depth_bins"])
    cloud = build_point_cloud(ldi, LayerFeatures(torch.from_numpy(s["featmaps_src"]), "learned"),
                              torch.from_numpy(s["intrinsic"][0]))
    return cloud, MotionField(torch.from_numpy(s["flow"][0]), "learned")


def test_frame_matches_official_symmetric_animation(scene):
    cloud, motion = scene
    d = golden.load(DETAIL)
    n, t_step = int(d["num_frames"]), int(d["t_step"])
    (t, fwd, bwd, time), = list(iter_frames(Animation(cloud, motion, n), frames=[t_step]))
    assert t == t_step
    golden.assert_matches(DETAIL, "time", time)
    for side, pts in (("f", fwd), ("b", bwd)):
        golden.assert_matches(DETAIL, f"n_pts_per_layer_{side}", np.asarray(pts.per_layer))
        golden.assert_matches(DETAIL, f"pts_end_{side}", pts.xyz)
        golden.assert_matches(DETAIL, f"rgba_end_{side}", pts.attrs[:, :4])
        golden.assert_matches(DETAIL, f"feat_end_{side}", pts.attrs[:, 4:])


def test_frames_in_increasing_order_with_both_sides(scene):
    cloud, motion = scene
    n = 7
    out = list(iter_frames(Animation(cloud, motion, n), frames=[5, 0, 3, 3]))
    assert [f[0] for f in out] == [0, 3, 5]
    assert [f[3] for f in out] == [0.0, 3 / 7, 5 / 7]
    static = lift(cloud, torch.zeros(2, *cloud.size))
    assert torch.equal(out[0][1].xyz, static.xyz)
    for t, fwd, bwd, _ in out:
        assert torch.equal(fwd.xyz, lift(cloud, euler_integrate(motion.flow, t)[0]).xyz)
        assert torch.equal(bwd.xyz, lift(cloud, euler_integrate(-motion.flow, n - t)[0]).xyz)


def test_all_frames_by_default_and_forward_only_variant(scene):
    cloud, motion = scene
    sym = list(iter_frames(Animation(cloud, motion, 4)))
    naive = list(iter_frames(Animation(cloud, motion, 4, symmetric=False)))
    assert [f[0] for f in sym] == [0, 1, 2, 3] == [f[0] for f in naive]
    assert all(f[2] is None for f in naive)
    for a, b in zip(sym, naive):
        assert torch.equal(a[1].xyz, b[1].xyz) and a[3] == b[3]
    assert [f[0] for f in iter_frames(Animation(cloud, motion, 5, symmetric=False), frames=[4, 2])] == [2, 4]


def test_bad_animations_fail_before_the_first_frame(scene):
    cloud, motion = scene
    h, w = cloud.size
    with pytest.raises(CinemagraphError, match="motion field is"):
        iter_frames(Animation(cloud, MotionField(torch.zeros(2, h, w + 2)), 5))
    with pytest.raises(CinemagraphError, match=">= 1"):
        iter_frames(Animation(cloud, motion, 0))
    with pytest.raises(CinemagraphError, match=r"0\.\.4"):
        iter_frames(Animation(cloud, motion, 5), frames=[1, 5])
    with pytest.raises(CinemagraphError, match="Animation"):
        iter_frames(cloud)
