"""Quality benchmark: synthetic scenes, exact ground truth, metrics, and the paper's ordering on a small run."""
import ast
import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from benchmarks.quality import metrics
from benchmarks.quality.benchmark import QUICK, frame_times, run_benchmark, runs
from benchmarks.quality.groundtruth import DISOCCLUDED, FLUID, STATIC, render_view
from benchmarks.quality.report import HEADER_HEIGHT, LABEL_WIDTH, markdown, renderer_summary, summary, write_sheet
from benchmarks.quality.scenes import SCENES, make_scene
from benchmarks.quality.variants import VARIANTS, WEIGHT_FREE, resolve

SIZE = QUICK.size
PACKAGE = Path(__file__).resolve().parents[1] / "benchmarks" / "quality"


@pytest.fixture(scope="module", params=QUICK.scenes)
def scene(request):
    return make_scene(request.param, SIZE, QUICK.num_frames)


def test_every_scene_kind_builds_with_exact_inputs():
    for kind in SCENES:
        s = make_scene(kind, SIZE, QUICK.num_frames, samples=1)
        depth, flow, fluid = s.depth.numpy(), s.flow.numpy(), s.fluid.numpy() > 0
        assert s.image.shape == (3, *SIZE) and depth.shape == SIZE and flow.shape == (2, *SIZE)
        assert depth.min() == pytest.approx(1.0, abs=1e-6) and np.isfinite(depth).all()
        assert 0.02 < fluid.mean() < 0.5, kind
        assert not flow[:, ~fluid].any()
        assert len(np.unique(flow[:, fluid], axis=1).T) == sum(surf.is_fluid for surf in s.world.surfaces)
    with pytest.raises(ValueError, match="choose from"):
        make_scene("ocean", SIZE)


def test_source_view_is_the_input_and_sees_no_disocclusion(scene):
    view = render_view(scene.world, scene.K, scene.size, samples=scene.samples)
    assert np.array_equal(view.rgb, scene.image.numpy())
    assert view.valid.all()
    assert set(np.unique(view.region)) == {STATIC, FLUID}
    assert np.array_equal(view.region == FLUID, scene.fluid.numpy() > 0)
    assert np.allclose(view.depth, scene.depth.numpy())


def test_fluid_texture_is_a_seamless_loop_advected_by_the_flow(scene):
    n = scene.num_frames
    start = render_view(scene.world, scene.K, scene.size, time=0.0, samples=scene.samples)
    end = render_view(scene.world, scene.K, scene.size, time=float(n), samples=scene.samples)
    assert np.abs(end.rgb - start.rgb).max() < 1e-6
    fluid = scene.fluid.numpy() > 0
    m = scene.flow.numpy()[:, fluid][:, 0]
    t = next(k for k in range(1, 4 * n) if np.allclose(k * m, np.round(k * m), atol=1e-6))
    dx, dy = (int(v) for v in np.round(t * m))
    centre0 = render_view(scene.world, scene.K, scene.size, time=0.0, samples=1).rgb
    centre_t = render_view(scene.world, scene.K, scene.size, time=float(t), samples=1).rgb
    h, w = scene.size
    ys, xs = np.nonzero(fluid)
    ok = (ys - dy >= 0) & (ys - dy < h) & (xs - dx >= 0) & (xs - dx < w)
    ys, xs = ys[ok], xs[ok]
    ok = fluid[ys - dy, xs - dx]
    ys, xs = ys[ok], xs[ok]
    assert len(ys) > 50
    assert np.abs(centre_t[:, ys, xs] - centre0[:, ys - dy, xs - dx]).max() < 1e-6
    assert np.array_equal(centre_t[:, ~fluid], centre0[:, ~fluid])


def test_camera_move_reveals_occluded_content_and_invalid_border():
    s = make_scene("thin_occluders", SIZE, QUICK.num_frames)
    for tx, side in ((0.09, 0), (-0.09, -1)):
        pose = np.eye(4)
        pose[0, 3] = tx
        view = render_view(s.world, s.K, s.size, pose, samples=s.samples)
        bad_cols = np.flatnonzero(~view.valid.all(0))
        assert len(bad_cols) > 0 and view.valid[:, SIZE[1] // 2].all()
        assert np.all(np.abs(bad_cols - (0 if side == 0 else SIZE[1] - 1)) < SIZE[1] // 4)
        assert (view.region[view.valid] == DISOCCLUDED).sum() > 20


def test_psnr_and_ssim_known_values():
    rng = np.random.default_rng(0)
    gt = rng.random((3, 40, 50))
    valid = np.ones((40, 50), bool)
    assert metrics.psnr(gt + 0.1, gt.clip(0, 0.9), valid) == pytest.approx(20.0, abs=1e-9)
    assert metrics.psnr(gt, gt, valid) == math.inf
    assert metrics.ssim(gt, gt, valid) == pytest.approx(1.0)
    a, b = np.full((3, 30, 30), 0.2), np.full((3, 30, 30), 0.6)
    c1 = metrics.SSIM_C1
    assert metrics.ssim(a, b, np.ones((30, 30), bool)) == pytest.approx((2 * 0.12 + c1) / (0.04 + 0.36 + c1))
    noisy = [metrics.ssim(np.clip(gt + s * rng.standard_normal(gt.shape), 0, 1), gt, valid) for s in (0.02, 0.1, 0.3)]
    assert noisy[0] > noisy[1] > noisy[2]
    other = np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1)
    assert metrics.ssim(gt, other, valid) == pytest.approx(metrics.ssim(other, gt, valid))


def test_metrics_ignore_invalid_pixels():
    rng = np.random.default_rng(1)
    gt = rng.random((3, 40, 40))
    pred = gt.copy()
    pred[:, :, :12] = 0.0
    valid = np.ones((40, 40), bool)
    valid[:, :12] = False
    assert metrics.psnr(pred, gt, valid) == math.inf
    assert metrics.ssim(pred, gt, valid) == pytest.approx(1.0)
    keep = metrics.window_valid(valid)
    assert not keep[:, :17].any() and keep[5:35, 17:35].all() and not keep[:5].any()
    assert math.isnan(metrics.ssim(pred, gt, np.zeros((40, 40), bool)))


def test_lpips_is_never_downloaded():
    metric, note = metrics.lpips_metric()
    if metric is None:
        assert "not" in note and "downloaded" in note


def test_ground_truth_does_not_use_the_pipeline_renderer():
    banned = ("cinemagraph_core.points", "cinemagraph_core.render", "cinemagraph_core.animate",
              "cinemagraph_core.layers", "cinemagraph_core.pipeline", "cinemagraph_core.motion")
    for name in ("groundtruth.py", "geometry.py", "noise.py", "textures.py", "scenes.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(banned), (name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(banned) for a in node.names), name


def test_frame_times_and_variants():
    assert frame_times(60, 5) == (6, 18, 30, 42, 54)
    assert 0 not in frame_times(QUICK.num_frames, len(QUICK.times))
    assert [v.key for v in resolve(["full", "naive"])] == ["naive", "full"]
    with pytest.raises(ValueError, match="choose from"):
        resolve(["fancy"])
    cfg = VARIANTS["naive"].config(12)
    assert not cfg.layered and not cfg.render.symmetric and cfg.render.crop == 0


@pytest.fixture(scope="module")
def quick():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield run_benchmark(QUICK)
    finally:
        torch.set_num_threads(threads)


def test_quick_benchmark_reproduces_the_papers_ordering(quick):
    s = summary(quick)
    assert set(s) == set(WEIGHT_FREE)
    for row in s.values():
        assert 15.0 < row["psnr"] < 45.0 and 0.3 < row["ssim"] < 1.0
        assert row["frames"] == len(QUICK.scenes) * len(QUICK.trajectories) * len(QUICK.times)
    # 3D symmetric animation beats forward-only animation, with and without layering, above all on the fluid
    # (measured: +3.1, +1.8 and +4.8 dB)
    assert s["naive_sym"]["psnr"] > s["naive"]["psnr"] + 1.5
    assert s["full"]["psnr"] > s["no_sym"]["psnr"] + 1.0
    assert s["full"]["psnr_fluid"] > s["no_sym"]["psnr_fluid"] + 2.5
    # inpainting beats none, above all where it acts: content hidden in the input view (measured: +0.29 dB on
    # whole frames, +2.1 dB on the disoccluded pixels; see benchmarks/quality/RESULTS.md for the whole-frame gap)
    assert s["full"]["psnr"] > s["no_inpaint"]["psnr"] + 0.1
    assert s["full"]["psnr_disoccluded"] > s["no_inpaint"]["psnr_disoccluded"] + 1.0
    # the layered variants keep the visible pixels: the source view comes back (>= 52 dB measured, official
    # layering 26-37 dB)
    assert len(quick.floor) == len(QUICK.scenes) * len(s) * len(QUICK.renderers)
    assert all(f.psnr > 45.0 for f in quick.floor)


def test_the_warp_renderer_beats_the_splats_on_every_scene_and_trajectory(quick):
    """`full` rendered by the warp renderer against the splat renderer, per scene and trajectory (measured:
    +0.02 to +2.3 dB on this setup), and over all frames on the fluid and in fluid detail."""
    for scene in QUICK.scenes:
        for name in QUICK.trajectories:
            mean = {r: np.mean([s.psnr for s in quick.scores if s.variant == "full" and s.renderer == r
                                and s.scene == scene and s.trajectory == name]) for r in QUICK.renderers}
            assert mean["warp"] >= mean["splat"] - 0.05, (scene, name, mean)
    both = renderer_summary(quick)
    assert set(both) == {"warp", "splat"} and set(both["warp"]) == set(WEIGHT_FREE)
    assert both["warp"]["full"]["psnr"] > both["splat"]["full"]["psnr"] + 0.3
    assert both["warp"]["full"]["psnr_fluid"] > both["splat"]["full"]["psnr_fluid"]


def test_quick_benchmark_is_deterministic(quick):
    scene, name, t = QUICK.scenes[-1], QUICK.trajectories[-1], QUICK.times[-1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        again = run_benchmark(replace(QUICK, scenes=(scene,), trajectories=(name,), times=(t,), variants=("full",)))
    finally:
        torch.set_num_threads(threads)
    same = [s for s in quick.scores if (s.variant, s.scene, s.trajectory, s.t) == ("full", scene, name, t)]
    assert again.scores == same


def test_report_tables_and_sheet(quick, tmp_path):
    text = markdown(quick)
    for v in quick.variants:
        assert f"| {v.key} | {v.label} |" in text
    assert "Rendering floor" in text and "Hardest frames" in text and quick.notes[-1] in text
    path = write_sheet(quick, tmp_path / "sheet.png")
    img = cv2.imread(str(path))
    h, w = QUICK.size
    up = max(1, 256 // w)
    rows = 3 + len(runs(QUICK, quick.variants))
    assert img.shape == (HEADER_HEIGHT + rows * h * up, LABEL_WIDTH + len(QUICK.scenes) * w * up, 3)
    key = QUICK.sheet_picks()[0]
    col = quick.sheet[key]
    gt_cell = img[HEADER_HEIGHT + h * up:HEADER_HEIGHT + 2 * h * up:up, LABEL_WIDTH:LABEL_WIDTH + w * up:up]
    expect = np.clip(col.gt.rgb.transpose(1, 2, 0)[:, :, ::-1] * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(gt_cell[col.gt.valid], expect[col.gt.valid])


def test_setup_validation_names_the_problem():
    with pytest.raises(ValueError, match="times must be distinct"):
        replace(QUICK, times=(3, 3)).validate()
    with pytest.raises(ValueError, match="samples must be odd"):
        replace(QUICK, samples=2).validate()
    with pytest.raises(ValueError, match="unknown or missing"):
        replace(QUICK, trajectories=("orbit",)).validate()
    assert QUICK.validate() is QUICK
