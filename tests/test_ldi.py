import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers.bins import depth_bins
from cinemagraph_core.layers.inpaint import ClassicalInpainter, LearnedInpainter, NoInpainter
from cinemagraph_core.layers.ldi import build_ldi, clamp_depth, keeps_visible, single_layer_ldi
from cinemagraph_core.ops.filters import erode

BACKGROUND = (0.2, 0.6, 0.9)
BINS = np.array([0.9, 2.0, 10.0, 21.0])
"""Edges separating the three planes of ``_scene`` (near 1, middle 4..5, background 20)."""


@pytest.fixture(scope="module")
def learned():
    w = golden.recipe_weights(golden.weights_seed("ldi"))
    return LearnedInpainter.from_files(w / "depth-model.pth", w / "color-model.pth")


def _layers(x: torch.Tensor) -> torch.Tensor:
    """LDI ``(L,C,H,W)`` -> the official ``(L,1,C,H,W)``."""
    return x[:, None]


def _scene(h: int = 72, w: int = 96):
    """Far background (constant colour, depth 20), a slanted middle plane, a near box."""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    depth = torch.full((h, w), 20.0)
    image = torch.tensor(BACKGROUND).view(3, 1, 1).expand(3, h, w).clone()
    mid = (x >= w // 8) & (x < w // 2) & (y >= h // 3)
    depth[mid] = 4.0 + 0.01 * x[mid]
    image[:, mid] = torch.stack([0.3 + 0.004 * x[mid], 0.8 - 0.005 * y[mid], torch.full_like(x[mid], 0.1)])
    near = (x >= w // 3) & (x < 3 * w // 4) & (y >= h // 4) & (y < 3 * h // 4)
    depth[near] = 1.0
    image[:, near] = torch.tensor([0.9, 0.1, 0.1]).view(3, 1)
    return image, depth


def test_golden_ldi_pipeline_setup(learned):
    z = golden.load("pipeline_setup")
    image = torch.from_numpy(z["image_uint8"]).permute(2, 0, 1).float() / 255
    ldi = build_ldi(image, torch.from_numpy(z["src_depth"][0, 0]), learned, official_far_cut=True)
    assert ldi.num_layers == len(z["rgba_layers_src"]) and ldi.inpainter == "learned"
    golden.assert_matches("pipeline_setup", "depth_bins", ldi.bins)
    golden.assert_matches("pipeline_setup", "rgba_layers_src", _layers(ldi.rgba))
    golden.assert_matches("pipeline_setup", "depth_layers_src", _layers(clamp_depth(ldi.depth)))
    golden.assert_matches("pipeline_setup", "mask_layers_src", _layers(ldi.mask))


def test_golden_ldi(learned):
    z = golden.load("ldi")
    ldi = build_ldi(torch.from_numpy(z["rgb"][0]), torch.from_numpy(z["depth"][0, 0]), learned,
                    official_far_cut=True)
    golden.assert_matches("ldi", "depth_bins", ldi.bins)
    golden.assert_matches("ldi", "rgba_layers", _layers(ldi.rgba))
    golden.assert_matches("ldi", "depth_layers", _layers(ldi.depth))
    golden.assert_matches("ldi", "mask_layers", _layers(ldi.mask))


def test_clamp_depth():
    d = torch.tensor([0.0, 5e-4, 2.0, 999.0, 5e6])
    out = clamp_depth(d)
    torch.testing.assert_close(out, torch.tensor([1e-3, 1e-3, 2.0, 999.0, 1000.0]), rtol=1e-6, atol=0)


def test_classical_layers_and_fill():
    image, depth = _scene()
    ldi = build_ldi(image, depth, ClassicalInpainter(), bins=BINS)
    h, w = depth.shape
    assert ldi.inpainter == "classical" and ldi.num_layers == len(ldi.bins) - 1 == 3
    assert ldi.rgba.shape == (3, 4, h, w) and ldi.depth.shape == ldi.mask.shape == (3, 1, h, w)
    assert float(ldi.rgba.min()) >= 0 and float(ldi.rgba.max()) <= 1
    # the background layer is complete behind the near box and the middle plane (no holes left) ...
    # (the last row and column are never holes: official exclusive box end)
    bg_alpha = ldi.rgba[2, 3]
    assert torch.all(bg_alpha[:-1, :-1] == 1)
    assert torch.all(bg_alpha[-1][depth[-1] < 10] == 0)
    # ... with the background colour and depth filled in
    colour = ldi.rgba[2, :3, :-1, :-1]
    torch.testing.assert_close(colour, torch.tensor(BACKGROUND).view(3, 1, 1).expand_as(colour), rtol=0, atol=1e-5)
    torch.testing.assert_close(ldi.depth[2, 0, :-1, :-1], torch.full((h - 1, w - 1), 20.0), rtol=1e-5, atol=0)
    # the middle layer is filled behind the near box where the fill stays inside its bin
    mid_alpha = ldi.rgba[1, 3] > 0
    assert torch.all(ldi.depth[1, 0][mid_alpha] < BINS[2])
    assert (mid_alpha & (depth < 2)).any()


@pytest.mark.parametrize("keep", [True, False])
def test_classical_ordering_rules(keep):
    image, depth = _scene()
    ldi = build_ldi(image, depth, ClassicalInpainter(), bins=BINS, keep_visible=keep)
    alpha = ldi.rgba[:, 3] > 0
    d = ldi.depth[:, 0]
    for i in range(1, ldi.num_layers):
        assert torch.all(d[i][alpha[i]] >= 0.9 * ldi.bins[i] - 1e-6)
        # filled depth is behind the source surface (nearer layers) at every pixel it covers
        filled = alpha[i] & (depth < ldi.bins[i])
        assert filled.any()
        assert torch.all(d[i][filled] > depth[filled])
        for j in range(i):
            both = alpha[i] & alpha[j]
            assert torch.all(d[i][both] > d[j][both])


def test_classical_reproducible():
    image, depth = _scene()
    a = build_ldi(image, depth, ClassicalInpainter(), bins=BINS)
    b = build_ldi(image, depth, ClassicalInpainter(), bins=BINS)
    for x, y in ((a.rgba, b.rgba), (a.depth, b.depth), (a.mask, b.mask)):
        assert torch.equal(x, y)


def test_default_inpainter_is_classical():
    image, depth = _scene(40, 48)
    assert build_ldi(image, depth).inpainter == "classical"


@pytest.mark.parametrize("value", [2.5, 50.0])
def test_one_plane_gives_one_layer(value):
    image, _ = _scene(40, 48)
    ldi = build_ldi(image, torch.full((40, 48), value))
    assert ldi.num_layers == 1
    assert torch.all(ldi.rgba[0, 3] == 1) and torch.all(ldi.mask == 1)
    torch.testing.assert_close(ldi.rgba[0, :3], image)


def test_the_farthest_plane_keeps_its_visibility_mask():
    """A far plane (a sky at depth >= 32) behind a nearer one: its pixels stay visible (and so can move),
    unless the official float32 cut is asked for, which drops them from every mask."""
    image, _ = _scene(96, 128)
    depth = torch.full((96, 128), 60.0)
    depth[48:] = 2.0
    sky = depth == 60.0
    bins = np.array([1.5, 3.0, 60.0 + 1e-6])
    fixed = build_ldi(image, depth, NoInpainter(), bins=bins)
    official = build_ldi(image, depth, NoInpainter(), bins=bins, official_far_cut=True)
    inner = sky.clone()
    inner[44:] = False
    assert bool(fixed.mask[-1, 0][inner].all())
    assert not bool(official.mask[-1, 0][sky].any())


def test_no_inpainter_keeps_only_context():
    image, depth = _scene()
    ldi = build_ldi(image, depth, NoInpainter(), bins=BINS, keep_visible=False)
    assert ldi.inpainter == "none" and ldi.num_layers == 3
    for i in range(1, ldi.num_layers):
        alpha = ldi.rgba[i, 3]
        context = erode((depth >= ldi.bins[i]).float()[None, None], 10)[0, 0]
        assert torch.all(alpha <= context)
        if i < ldi.num_layers - 1:
            assert torch.equal(alpha, ldi.mask[i, 0])
    assert torch.all(ldi.rgba[2, 3][depth < 2] == 0)


@pytest.mark.parametrize("keep", [True, False])
def test_thin_layer_is_skipped(keep):
    image, depth = _scene()
    depth[10:13, 5:20] = 8.0
    bins = np.array([0.9, 2.0, 6.0, 10.0, 21.0])
    ldi = build_ldi(image, depth, NoInpainter(), bins=bins, keep_visible=keep)
    assert ldi.num_layers == 3 and len(ldi.bins) == 5
    thin = (slice(10, 13), slice(5, 20))
    if keep:  # the thin bin's pixels join the next layer, with their colour and depth
        assert torch.all(ldi.mask[:, 0][(slice(None),) + thin].sum(0) == 1)
        assert torch.all(ldi.mask[2, 0][thin] == 1) and torch.all(ldi.rgba[2, 3][thin] == 1)
        assert torch.equal(ldi.rgba[2, :3][(slice(None),) + thin], image[(slice(None),) + thin])
        assert torch.all(ldi.depth[2, 0][thin] == 8.0)
    else:
        assert torch.all(ldi.mask[:, 0][(slice(None),) + thin] == 0)


def _two_planes(h: int = 64, w: int = 80):
    """A textured, slanted far plane (depth 5..5.79) behind a near box (depth 1), 7 px from the left
    border; bins separating the two."""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    depth = 5.0 + 0.01 * x
    image = torch.stack([0.5 + 0.4 * torch.sin(0.9 * x + 0.3 * y), 0.5 + 0.4 * torch.cos(0.7 * y - 0.2 * x),
                         (0.1 + 0.01 * (x + y)) % 1.0])
    near = (x >= 7) & (x < 40) & (y >= 16) & (y < 48)
    depth[near] = 1.0
    image[:, near] = torch.tensor([0.9, 0.1, 0.1]).view(3, 1)
    return image, depth, np.array([0.9, 3.0, 5.9])


@pytest.mark.parametrize("inpainter", [ClassicalInpainter(), NoInpainter()], ids=lambda p: p.name)
def test_keep_visible_far_band_keeps_its_colour_depth_and_motion(inpainter):
    image, depth, bins = _two_planes()
    far = depth >= bins[1]
    kept = build_ldi(image, depth, inpainter, bins=bins)
    official = build_ldi(image, depth, inpainter, bins=bins, keep_visible=False)
    context = erode(far.float()[None, None], 10)[0, 0] > 0
    band = far & ~context
    band[-1], band[:, -1] = False, False  # the official box never reaches the last row and column
    assert band[16:48, 3:7].all() and not band[:, :3].any()
    # every visible far pixel keeps its colour and depth exactly, and is visible in the far layer's mask,
    # up to the last row and column
    visible = far
    assert torch.equal(kept.rgba[1, :3][:, visible], image[:, visible])
    assert torch.all(kept.rgba[1, 3][visible] == 1)
    assert torch.equal(kept.depth[1, 0][visible], depth[visible])
    assert torch.equal(kept.mask[1, 0] > 0, visible)
    # the official layering drops the band from the mask and repaints (classical) or empties it (none)
    assert not (official.mask[1, 0][band] > 0).any()
    covered = official.rgba[1, 3] > 0
    if inpainter.name == "none":
        assert not covered[band].any() and torch.equal(kept.rgba[1, 3] > 0, covered | visible)
    else:
        assert (official.rgba[1, :3][:, band] - image[:, band]).abs().max() > 0.2
        assert torch.equal(kept.rgba[1, 3] > 0, covered | visible)
    assert torch.equal(kept.rgba[0], official.rgba[0]) and torch.equal(kept.mask[0], official.mask[0])


def test_keep_visible_fill_continues_the_kept_pixels():
    """Far plane: blue, then a red strip narrower than the context erosion, then a green 1-px ring touching
    a near wall. Kept, the fill behind the wall continues the red strip (the ring does not guide it);
    officially it continues the blue context."""
    h, w, wall = 48, 80, 40
    depth = torch.full((h, w), 5.0)
    depth[:, wall:] = 1.0
    image = torch.zeros(3, h, w)
    image[2, :, :36] = 1.0
    image[0, :, 36:39] = 1.0
    image[1, :, 39] = 1.0
    image[:, :, wall:] = 0.5
    bins = np.array([0.9, 3.0, 5.1])
    kept = build_ldi(image, depth, ClassicalInpainter(), bins=bins)
    official = build_ldi(image, depth, ClassicalInpainter(), bins=bins, keep_visible=False)
    assert torch.equal(kept.rgba[1, :3, :-1, 36:wall], image[:, :-1, 36:wall])
    behind = (slice(10, 38), slice(wall, wall + 3))
    red, green, blue = (kept.rgba[1, c][behind] for c in range(3))
    assert red.min() > 0.9 and green.max() < 0.1 and blue.max() < 0.1
    assert official.rgba[1, 2][behind].min() > 0.9 and official.rgba[1, 0][behind].max() < 0.1


def test_keep_visible_masks_partition_the_visible_pixels():
    """With the kept pixels every visible pixel is in the mask of its own bin only, with its own colour,
    the last row and column (which the official box never reaches) included; officially a band along
    each layer boundary is in no mask."""
    image, depth = _scene()
    kept = build_ldi(image, depth, ClassicalInpainter(), bins=BINS)
    official = build_ldi(image, depth, ClassicalInpainter(), bins=BINS, keep_visible=False)
    own = torch.stack([(depth >= BINS[i]) & (depth < BINS[i + 1]) for i in range(len(BINS) - 1)])
    own[-1] |= depth == BINS[-1]
    assert kept.num_layers == 3
    assert torch.equal(kept.mask[:, 0] > 0, own)
    for i in range(kept.num_layers):
        assert torch.equal(kept.rgba[i, :3][:, own[i]], image[:, own[i]])
        assert torch.all(kept.rgba[i, 3][own[i]] == 1)
    assert (official.mask[:, 0].sum(0) == 0).sum() > 100


def test_keeps_visible_is_on_for_the_weight_free_backends_only(learned):
    assert keeps_visible(ClassicalInpainter()) and keeps_visible(NoInpainter())
    assert not keeps_visible(learned)
    assert keeps_visible(learned, True) and not keeps_visible(NoInpainter(), False)


def test_progress_per_bin():
    image, depth = _scene(40, 48)
    calls = []
    ldi = build_ldi(image, depth, progress=lambda done, total: calls.append((done, total)))
    n = len(ldi.bins) - 1
    assert calls == [(i, n) for i in range(n + 1)]


def test_given_bins_are_used():
    image, depth = _scene()
    ldi = build_ldi(image, depth, NoInpainter(), bins=np.array([0.5, 30.0]))
    assert ldi.num_layers == 1 and torch.all(ldi.rgba[0, 3] == 1)
    np.testing.assert_array_equal(build_ldi(image, depth, NoInpainter()).bins, depth_bins(depth))


def test_single_layer_ldi():
    image, depth = _scene(40, 48)
    ldi = single_layer_ldi(image, depth)
    assert ldi.num_layers == 1 and ldi.inpainter == "none"
    assert torch.equal(ldi.rgba[0, :3], image) and torch.all(ldi.rgba[0, 3] == 1)
    assert torch.equal(ldi.depth[0, 0], depth) and torch.all(ldi.mask == 1)
    assert ldi.bins[0] < float(depth.min()) and ldi.bins[1] > float(depth.max())


@pytest.mark.parametrize("image, depth, bins, match", [
    (torch.rand(3, 10, 12), torch.ones(10, 13) * 2, None, "resize the depth"),
    (torch.rand(4, 10, 12), torch.ones(10, 12) * 2, None, r"\(3,H,W\)"),
    (torch.rand(3, 10, 12), torch.zeros(10, 12), None, "> 0.01"),
    (torch.rand(3, 10, 12), torch.ones(10, 12) * 2, np.array([3.0, 1.0]), "increasing"),
])
def test_bad_input(image, depth, bins, match):
    with pytest.raises(CinemagraphError, match=match):
        build_ldi(image, depth, NoInpainter(), bins=bins)
