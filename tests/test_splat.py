"""The built-in splatters (NumPy and torch ops): golden parity with pytorch3d, a brute-force reference,
edge cases, and the two against each other."""
import logging

import pytest
import torch

from cinemagraph_core.camera import default_intrinsics
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.points import unproject
from cinemagraph_core.render import splat as splat_mod
from cinemagraph_core.render import splat_torch
from cinemagraph_core.render.splat import MAX_RADIUS_PX

import golden


def reference_splat(xyz, attrs, K, size, radius, k):
    """Brute force over all (pixel, point) pairs, in float64, following pytorch3d's CPU loop."""
    h, w = size
    xyz, attrs, K, radius = (t.to(torch.float64) for t in (xyz, attrs, K, radius))
    x, y, z = xyz.unbind(1)
    u = (K[0, 0] * x + K[0, 1] * y) / z + K[0, 2]
    v = K[1, 1] * y / z + K[1, 2]
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                                indexing="ij")
    d2 = (cols.reshape(-1, 1) + 0.5 - u) ** 2 + (rows.reshape(-1, 1) + 0.5 - v) ** 2  # (HW, P)
    valid = (z > 0) & torch.isfinite(xyz).all(1)
    hit = (d2 < radius**2) & valid
    out = torch.zeros(h * w, attrs.shape[1], dtype=torch.float64)
    order = torch.sort(torch.where(valid, z, torch.inf).to(torch.float32), stable=True).indices
    for p in range(h * w):
        trans, used = 1.0, 0
        for i in order.tolist():
            if used == k:
                break
            if hit[p, i]:
                a = 1.0 - d2[p, i] / radius[i] ** 2
                out[p] += trans * a * attrs[i]
                trans *= 1.0 - a
                used += 1
    return out.t().reshape(-1, h, w).to(torch.float32)


@pytest.fixture(params=["numpy", "torch"])
def impl(request):
    """The splatter module under test: ``render.splat`` (NumPy) or ``render.splat_torch``."""
    return {"numpy": splat_mod, "torch": splat_torch}[request.param]


def random_cloud(seed, n, size, z_levels=None):
    g = torch.Generator().manual_seed(seed)
    h, w = size
    K = torch.tensor([[0.9 * w, 0.0, w / 2 + 0.3], [0.0, 0.8 * w, h / 2 - 0.2], [0.0, 0.0, 1.0]])
    z = 1.0 + 2.0 * torch.rand(n, generator=g)
    if z_levels:  # many exactly equal depths, as on fronto-parallel LDI layers
        z = 1.0 + torch.randint(0, z_levels, (n,), generator=g).float() * 0.5
    u = torch.rand(n, generator=g) * (w + 6) - 3
    v = torch.rand(n, generator=g) * (h + 6) - 3
    xyz = torch.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], 1)
    attrs = torch.rand(n, 5, generator=g)
    radius = 0.4 + 2.2 * torch.rand(n, generator=g)
    return xyz, attrs, K, radius


@pytest.mark.parametrize("seed,size,k,z_levels", [(0, (11, 14), 8, None), (1, (9, 16), 3, 3), (2, (13, 10), 1, 2),
                                                  (3, (8, 8), 8, 1)])
def test_matches_brute_force_reference(impl, seed, size, k, z_levels):
    xyz, attrs, K, radius = random_cloud(seed, 260, size, z_levels)
    xyz[:7, 2] *= -1.0  # behind the camera
    out = impl.splat(xyz, attrs, K, size, radius, points_per_pixel=k)
    ref = reference_splat(xyz, attrs, K, size, radius, k)
    assert out.shape == (attrs.shape[1], *size) and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)
    assert (out.abs().sum(0) > 0).float().mean() > 0.9  # the case really covers the image


def test_golden_render_unit_side_maps(impl):
    z = golden.load("render_unit")
    h, w = int(z["h"]), int(z["w"])
    K = torch.from_numpy(z["intrinsic"][0])
    pts = torch.from_numpy(z["pts"]) + torch.from_numpy(z["t"])
    radius_px = torch.from_numpy(z["radius_ndc"][0]) * (min(h, w) / 2.0)
    disp = 1.0 / pts[:, 2].clamp(min=1e-6)
    disp = (disp - disp.min()) / (disp.max() - disp.min())
    feats = torch.cat([torch.from_numpy(z["rgbas"]), torch.from_numpy(z["feats"]), disp[:, None]], 1)
    side = torch.from_numpy(z["side_ids"])
    for j in (0, 1):
        m = side == j
        out = impl.splat(pts[m], feats[m], K, (h, w), radius_px[m], points_per_pixel=8)
        golden.assert_matches("render_unit", f"rendered_side{j}_37ch", out.permute(1, 2, 0)[None])


def test_pixel_centres_are_offset_by_half_a_pixel(impl):
    K = torch.tensor([[10.0, 0.0, 4.0], [0.0, 10.0, 3.0], [0.0, 0.0, 1.0]])
    # A point projecting onto the centre of pixel (col 2, row 1) = (2.5, 1.5) px covers it with a = 1.
    xyz = torch.tensor([[(2.5 - 4.0) / 10.0, (1.5 - 3.0) / 10.0, 1.0]])
    out = impl.splat(xyz, torch.ones(1, 1), K, (6, 8), 0.6)[0]
    assert out[1, 2] == 1.0 and out.sum() == 1.0
    # The integer grid point (2, 1) lies on the corner of four pixels, each at d^2 = 0.5 px^2.
    xyz = torch.tensor([[(2.0 - 4.0) / 10.0, (1.0 - 3.0) / 10.0, 1.0]])
    out = impl.splat(xyz, torch.ones(1, 1), K, (6, 8), 1.5)[0]
    expect = torch.zeros(6, 8)
    expect[0:2, 1:3] = 1.0 - 0.5 / 1.5**2
    torch.testing.assert_close(out, expect)


def test_equal_depth_ties_go_to_the_lower_index(impl):
    K = torch.tensor([[10.0, 0.0, 2.0], [0.0, 10.0, 2.0], [0.0, 0.0, 1.0]])
    # All three project onto the centre of pixel (row 1, col 1); two share z = 2, one is farther.
    xyz = torch.tensor([[-0.15, -0.15, 3.0], [-0.1, -0.1, 2.0], [-0.1, -0.1, 2.0]])
    attrs = torch.tensor([[1.0], [2.0], [4.0]])
    a = 1.0 - 1.0 / 1.5**2  # weight at pixel (row 1, col 2), 1 px from the points
    one = impl.splat(xyz, attrs, K, (4, 4), 1.5, points_per_pixel=1)[0]
    assert one[1, 1] == 2.0
    assert one[1, 2].item() == pytest.approx(a * 2.0, rel=1e-6)
    two = impl.splat(xyz, attrs, K, (4, 4), 1.5, points_per_pixel=2)[0]
    assert two[1, 2].item() == pytest.approx(a * 2.0 + a * (1 - a) * 4.0, rel=1e-6)
    three = impl.splat(xyz, attrs, K, (4, 4), 1.5, points_per_pixel=3)[0]
    assert three[1, 2].item() == pytest.approx(a * 2.0 + a * (1 - a) * 4.0 + a * (1 - a) ** 2, rel=1e-6)


def test_numpy_bands_threads_and_sort_fallback_do_not_change_the_result(monkeypatch):
    xyz, attrs, K, radius = random_cloud(5, 3000, (40, 56), z_levels=4)
    base = splat_mod.splat(xyz, attrs, K, (40, 56), radius, chunk=1 << 30)
    torch.testing.assert_close(splat_mod.splat(xyz, attrs, K, (40, 56), radius, chunk=700), base, atol=1e-6, rtol=0)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        torch.testing.assert_close(splat_mod.splat(xyz, attrs, K, (40, 56), radius, chunk=700), base, atol=1e-6, rtol=0)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(splat_mod, "_KEY_BITS", 12)  # every band takes the unpacked int64 sort
    torch.testing.assert_close(splat_mod.splat(xyz, attrs, K, (40, 56), radius), base, atol=1e-6, rtol=0)


def test_invalid_points_are_skipped(impl):
    xyz, attrs, K, radius = random_cloud(7, 200, (12, 12))
    clean = impl.splat(xyz, attrs, K, (12, 12), radius)
    bad = torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.0, -1.0], [float("nan"), 0.0, 1.0], [0.0, float("inf"), 1.0],
                        [0.0, 0.0, float("inf")], [1e30, 1e30, 1e-30]])
    out = impl.splat(torch.cat([bad, xyz]), torch.cat([torch.full((6, 5), 9.0), attrs]), K, (12, 12),
                torch.cat([torch.full((6,), 2.0), radius]))
    torch.testing.assert_close(out, clean)
    assert torch.isfinite(out).all()


def test_empty_inputs_give_zeros(impl):
    K = torch.eye(3)
    assert torch.equal(impl.splat(torch.zeros(0, 3), torch.zeros(0, 4), K, (5, 6), 1.0), torch.zeros(4, 5, 6))
    assert impl.splat(torch.ones(3, 3), torch.ones(3, 0), K, (5, 6), 1.0).shape == (0, 5, 6)
    off_screen = torch.tensor([[100.0, 100.0, 1.0]])
    assert torch.equal(impl.splat(off_screen, torch.ones(1, 2), K, (5, 6), 1.0), torch.zeros(2, 5, 6))


def test_huge_radii_are_clamped_with_a_note(impl, caplog):
    K = torch.tensor([[8.0, 0.0, 100.0], [0.0, 8.0, 100.0], [0.0, 0.0, 1.0]])
    xyz = torch.tensor([[0.0, 0.0, 1.0]])
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        out = impl.splat(xyz, torch.ones(1, 1), K, (200, 200), torch.tensor([1e9]))[0]
    assert "clamped" in caplog.text
    covered = (out > 0).nonzero()
    span = covered.max(0).values - covered.min(0).values + 1
    assert span.max() <= 2 * MAX_RADIUS_PX and span.min() >= 2 * MAX_RADIUS_PX - 2


@pytest.mark.parametrize("radius,match", [(0.0, "> 0"), (-1.0, "> 0"), (float("nan"), "NaN"),
                                          (torch.ones(2), "shape")])
def test_bad_radius_is_rejected(impl, radius, match):
    with pytest.raises(CinemagraphError, match=match):
        impl.splat(torch.ones(3, 3), torch.ones(3, 1), torch.eye(3), (4, 4), radius)


@pytest.mark.parametrize("kwargs,match", [
    (dict(xyz=torch.ones(3, 2)), r"\(P,3\)"),
    (dict(attrs=torch.ones(2, 1)), "one row per point"),
    (dict(K=torch.zeros(3, 3)), "focal"),
    (dict(K=torch.eye(2)), r"\(3,3\)"),
    (dict(size=(0, 4)), "positive"),
    (dict(size="big"), "size"),
    (dict(points_per_pixel=0), "points_per_pixel"),
    (dict(chunk=0), "chunk"),
])
def test_bad_arguments_are_rejected(impl, kwargs, match):
    args = dict(xyz=torch.ones(3, 3), attrs=torch.ones(3, 1), K=torch.eye(3), size=(4, 4), radius_px=1.0)
    args.update(kwargs)
    with pytest.raises(CinemagraphError, match=match):
        impl.splat(**args)


def test_intrinsics_skew_and_float64_inputs(impl):
    xyz, attrs, K, radius = random_cloud(11, 150, (10, 12))
    K[0, 1] = 0.7
    out = impl.splat(xyz.double(), attrs.double(), K.double(), (10, 12), radius.double())
    torch.testing.assert_close(out, reference_splat(xyz, attrs, K, (10, 12), radius, 8), atol=2e-5, rtol=1e-5)


def test_points_per_pixel_limit_keeps_the_nearest(impl):
    # 12 points on the centre of pixel (row 1, col 1) at depths 12 .. 1; attribute = point index.
    K = torch.tensor([[10.0, 0.0, 2.0], [0.0, 10.0, 2.0], [0.0, 0.0, 1.0]])
    z = torch.arange(12, 0, -1).float()
    xyz = torch.stack([-0.05 * z, -0.05 * z, z], 1)
    attrs = torch.arange(12).float()[:, None]
    out = impl.splat(xyz, attrs, K, (4, 4), 1.2, points_per_pixel=4)[0]
    assert out[1, 1] == 11.0  # a = 1: the nearest point takes everything
    a = 1.0 - 1.0 / 1.2**2  # pixel (row 1, col 2) is 1 px away from every point
    expect = sum(a * (1 - a) ** i * p for i, p in enumerate([11.0, 10.0, 9.0, 8.0]))
    assert out[1, 2].item() == pytest.approx(expect, rel=1e-5)


def reference_surface(xyz, attrs, K, size, half, k, ids=None, tol=0.02):
    """Brute-force ``splat_surface`` in float64: per pixel, tent weights, surfaces, front-to-back."""
    h, w = size
    xyz, attrs, K, half = (t.to(torch.float64) for t in (xyz, attrs, K, half))
    x, y, z = xyz.unbind(1)
    u = (K[0, 0] * x + K[0, 1] * y) / z + K[0, 2]
    v = K[1, 1] * y / z + K[1, 2]
    valid = (z > 0) & torch.isfinite(xyz).all(1)
    order = torch.sort(torch.where(valid, z, torch.inf).to(torch.float32), stable=True).indices.tolist()
    z32 = xyz[:, 2].to(torch.float32)
    limit_scale = torch.tensor(1.0 + tol, dtype=torch.float32)
    ids = torch.zeros(len(z), dtype=torch.int64) if ids is None else ids
    out = torch.zeros(h * w, attrs.shape[1], dtype=torch.float64)
    for row in range(h):
        for col in range(w):
            tx = (1 - (col - u).abs() / half).clamp(min=0)
            ty = (1 - (row - v).abs() / half).clamp(min=0)
            tent = tx * ty
            near = [i for i in order if valid[i] and tent[i] > 0][:k]
            groups = []
            for i in near:
                if groups and ids[i] == ids[groups[-1][0]] and z32[i] <= z32[groups[-1][0]] * limit_scale:
                    groups[-1].append(i)
                else:
                    groups.append([i])
            trans = 1.0
            for g in groups:
                total = sum(float(tent[i]) for i in g)
                cover = min(total, 1.0)
                out[row * w + col] += trans * cover * sum(tent[i] * attrs[i] for i in g) / total
                trans *= 1.0 - cover
    return out.t().reshape(-1, h, w).to(torch.float32)


@pytest.mark.parametrize("seed,size,k,z_levels,n_ids,tol", [(0, (11, 14), 8, None, 1, 0.02), (1, (9, 16), 3, 3, 2, 0.3),
                                                            (2, (13, 10), 1, 2, 3, 0.0), (3, (8, 8), 8, 2, 2, 0.6)])
def test_surface_matches_brute_force_reference(impl, seed, size, k, z_levels, n_ids, tol):
    xyz, attrs, K, radius = random_cloud(seed, 260, size, z_levels)
    xyz[:7, 2] *= -1.0  # behind the camera
    ids = torch.randint(0, n_ids, (xyz.shape[0],), generator=torch.Generator().manual_seed(seed))
    out = impl.splat_surface(xyz, attrs, K, size, radius, surface_ids=ids, points_per_pixel=k, depth_tolerance=tol)
    ref = reference_surface(xyz, attrs, K, size, radius, k, ids, tol)
    assert out.shape == (attrs.shape[1], *size) and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)
    assert (out.abs().sum(0) > 0).float().mean() > 0.9


def grid_points(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """``(H*W,3)`` camera-frame points of the integer pixel grid at ``depth (H,W)``."""
    return unproject(K, depth).reshape(-1, 3)


def test_surface_reproduces_a_slanted_plane_exactly(impl):
    h, w = 24, 40
    K = default_intrinsics(h, w)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    depth = 1.0 + 0.03 * xs + 0.08 * ys  # 3 to 8 % deeper per px: steeper than the surface tolerance
    image = torch.rand(3, h, w, generator=torch.Generator().manual_seed(4))
    attrs = torch.cat([image.reshape(3, -1).t(), torch.ones(h * w, 1)], 1)
    out = impl.splat_surface(grid_points(depth, K), attrs, K, (h, w), 1.0)
    assert (out[:3] - image).abs().max() < 1e-5
    assert (out[3] - 1.0).abs().max() < 1e-5
    official = impl.splat(grid_points(depth, K), attrs, K, (h, w), 1.5)
    assert (official[:3] / official[3] - image).abs().max() > 0.1  # blurred and shifted by half a pixel


def two_planes(shift_px: float = 0.0):
    """A near plane (z = 1, columns < 6, colour 1) over a far plane (z = 2, colour 0), 8 x 12 px.

    The near plane is moved ``shift_px`` px to the right. Returns xyz, attrs [value, alpha], K, ids.
    """
    h, w = 8, 12
    K = default_intrinsics(h, w)
    near = grid_points(torch.ones(h, w), K).reshape(h, w, 3)[:, :6].reshape(-1, 3)
    near = near + torch.tensor([shift_px / float(K[0, 0]), 0.0, 0.0])
    far = grid_points(torch.full((h, w), 2.0), K)
    xyz = torch.cat([near, far])
    attrs = torch.cat([torch.tensor([[1.0, 1.0]]).expand(near.shape[0], 2), torch.tensor([[0.0, 1.0]]).expand(far.shape[0], 2)])
    ids = torch.cat([torch.zeros(near.shape[0], dtype=torch.int64), torch.ones(far.shape[0], dtype=torch.int64)])
    return xyz, attrs, K, ids, (h, w)


def test_surface_occlusion_edge_is_sharp_and_antialiased(impl):
    xyz, attrs, K, ids, size = two_planes()
    out = impl.splat_surface(xyz, attrs, K, size, 1.0, surface_ids=ids)
    expect = torch.zeros(size)
    expect[:, :6] = 1.0
    torch.testing.assert_close(out[0], expect, atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], torch.ones(size), atol=1e-5, rtol=0)
    # Half a pixel to the right: column 6 is half near, half far; its neighbours stay pure.
    out = impl.splat_surface(*two_planes(0.5)[:3], size, 1.0, surface_ids=ids)
    torch.testing.assert_close(out[0, :, 6], torch.full((size[0],), 0.5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[0, :, 1:6], torch.ones(size[0], 5), atol=1e-5, rtol=0)
    assert out[0, :, 7:].abs().max() < 1e-5
    torch.testing.assert_close(out[1], torch.ones(size), atol=1e-5, rtol=0)


def test_surface_ids_and_tolerance_separate_coincident_surfaces(impl):
    h, w = 6, 8
    K = default_intrinsics(h, w)
    front, back = grid_points(torch.ones(h, w), K), grid_points(torch.full((h, w), 1.01), K)
    xyz = torch.cat([front, back])
    attrs = torch.cat([torch.ones(h * w, 1), torch.zeros(h * w, 1)])
    ids = torch.cat([torch.zeros(h * w, dtype=torch.int64), torch.ones(h * w, dtype=torch.int64)])
    layered = impl.splat_surface(xyz, attrs, K, (h, w), 1.0, surface_ids=ids)
    merged = impl.splat_surface(xyz, attrs, K, (h, w), 1.0)  # 1 % apart, within the 2 % tolerance: one surface
    strict = impl.splat_surface(xyz, attrs, K, (h, w), 1.0, depth_tolerance=0.005)
    torch.testing.assert_close(layered[0], torch.ones(h, w), atol=1e-5, rtol=0)
    torch.testing.assert_close(merged[0], torch.full((h, w), 0.5), atol=1e-5, rtol=0)
    torch.testing.assert_close(strict[0], torch.ones(h, w), atol=1e-5, rtol=0)


@pytest.mark.parametrize("half,cover", [(1.0, 0.0), (1.5, 2.0 / 3.0), (2.0, 1.0)])
def test_surface_coverage_between_spread_points(impl, half, cover):
    # Points on every other column of row 2: pixel (2, 3) lies 1 px from two points, halfway between them.
    h, w = 5, 8
    K = default_intrinsics(h, w)
    xyz = grid_points(torch.ones(h, w), K).reshape(h, w, 3)[2, 0::2]
    colour = torch.arange(xyz.shape[0], dtype=torch.float32) % 4
    out = impl.splat_surface(xyz, torch.stack([colour, torch.ones_like(colour)], 1), K, (h, w), half)
    assert out[1, 2, 3].item() == pytest.approx(cover, abs=1e-5)
    if cover > 0:
        assert (out[0, 2, 3] / out[1, 2, 3]).item() == pytest.approx(0.5 * (1.0 + 2.0), abs=1e-5)


def test_numpy_surface_bands_threads_and_sort_fallback_do_not_change_the_result(monkeypatch):
    xyz, attrs, K, radius = random_cloud(5, 3000, (40, 56), z_levels=4)
    ids = torch.arange(3000) % 3
    base = splat_mod.splat_surface(xyz, attrs, K, (40, 56), radius, surface_ids=ids, chunk=1 << 30)
    torch.testing.assert_close(splat_mod.splat_surface(xyz, attrs, K, (40, 56), radius, surface_ids=ids, chunk=700), base,
                               atol=1e-6, rtol=0)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        torch.testing.assert_close(splat_mod.splat_surface(xyz, attrs, K, (40, 56), radius, surface_ids=ids, chunk=700), base,
                                   atol=1e-6, rtol=0)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(splat_mod, "_KEY_BITS", 12)
    torch.testing.assert_close(splat_mod.splat_surface(xyz, attrs, K, (40, 56), radius, surface_ids=ids), base, atol=1e-6, rtol=0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(depth_tolerance=-0.1), "depth_tolerance"),
    (dict(depth_tolerance=float("nan")), "depth_tolerance"),
    (dict(depth_tolerance=float("inf")), "depth_tolerance"),
    (dict(surface_ids=torch.zeros(3)), "integer"),
    (dict(surface_ids=torch.zeros(2, dtype=torch.int64)), "P = 3"),
    (dict(radius_px=0.0), "> 0"),
])
def test_surface_bad_arguments_are_rejected(impl, kwargs, match):
    args = dict(xyz=torch.ones(3, 3), attrs=torch.ones(3, 1), K=torch.eye(3), size=(4, 4), radius_px=1.0)
    args.update(kwargs)
    with pytest.raises(CinemagraphError, match=match):
        impl.splat_surface(**args)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("chunk", [None, 53])
def test_torch_ops_equal_numpy_on_random_clouds(seed, chunk):
    """Both compositings, z ties, points behind the camera, huge (clamped) radii, off-image points and
    small chunks: the torch-ops splatter gives the NumPy splatter's maps within 1e-5."""
    size = [(11, 14), (31, 40), (9, 16)][seed % 3]
    xyz, attrs, K, radius = random_cloud(seed, 400, size, z_levels=(None, 1, 3)[seed % 3])
    xyz[::11, 2] *= -1.0
    xyz[5::37] *= 40.0  # far outside the image
    if seed % 2:
        radius[::13] = 500.0
    ids = torch.randint(0, 3, (xyz.shape[0],), generator=torch.Generator().manual_seed(seed))
    for k in (1, 3, 8):
        want = splat_mod.splat(xyz, attrs, K, size, radius, points_per_pixel=k)
        got = splat_torch.splat(xyz, attrs, K, size, radius, points_per_pixel=k, chunk=chunk)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
        want = splat_mod.splat_surface(xyz, attrs, K, size, radius, ids, points_per_pixel=k, depth_tolerance=0.05)
        got = splat_torch.splat_surface(xyz, attrs, K, size, radius, ids, points_per_pixel=k, depth_tolerance=0.05,
                                        chunk=chunk)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_torch_ops_on_an_empty_frame_and_a_cloud_behind_the_camera():
    xyz, attrs, K, radius = random_cloud(3, 50, (8, 9))
    behind = xyz * torch.tensor([1.0, 1.0, -1.0])
    for pts in (behind, torch.zeros(0, 3)):
        n = pts.shape[0]
        assert torch.equal(splat_torch.splat(pts, attrs[:n], K, (8, 9), radius[:n]), torch.zeros(5, 8, 9))
        assert torch.equal(splat_torch.splat_surface(pts, attrs[:n], K, (8, 9), radius[:n]), torch.zeros(5, 8, 9))
