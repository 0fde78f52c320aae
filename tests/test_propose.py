"""Zero-click motion (motion/propose.py): the regions found in the synthetic scenes and in a real
photograph, determinism, and a clear result for images with nothing to animate."""
from __future__ import annotations

import math
import cv2

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmarks.quality.proposals import mask_iou, proposal_direction_error
from benchmarks.quality.scenes import SCENES, make_scene
from cinemagraph_core.demo_scene import demo_photo
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.fluid_arrows import region_speed
from cinemagraph_core.motion.fluid_stats import orientation, superpixel_stats
from cinemagraph_core.motion.hints import dense_hint_map, make_hints
from cinemagraph_core.motion.propose import NOTHING, describe, proposal_hints, propose_motion
from cinemagraph_core.motion.superpixels import adjacency, slic
from cinemagraph_core.types import FLUID_KINDS


@pytest.fixture(scope="module")
def photo():
    image = demo_photo()
    return image, propose_motion(image)


@pytest.fixture(scope="module")
def scenes():
    return {name: make_scene(name, (192, 256), 60, samples=1) for name in SCENES}


def test_synthetic_scenes_meet_the_issue_targets(scenes):
    """Mean IoU >= 0.7 and mean direction error <= 30 degrees over the six scenes, every scene found."""
    ious, angles = [], []
    for name, scene in scenes.items():
        proposal = propose_motion(scene.image, scene.depth_input())
        assert proposal.regions, f"{name}: {proposal.note}"
        ious.append(mask_iou(proposal, scene.fluid))
        angles.append(proposal_direction_error(proposal, scene))
        assert ious[-1] > 0.8, f"{name}: IoU {ious[-1]:.3f}"
    assert np.mean(ious) >= 0.7 and np.mean(angles) <= 30.0, (ious, angles)


@pytest.mark.parametrize("name, kind, direction", [
    ("waterfall", "waterfall", (0.0, 1.0)), ("smoke", "smoke", (0.24, -0.97)), ("river", "river", (1.0, 0.0)),
    ("clouds", "clouds", (1.0, 0.0)), ("lake", "lake", (0.0, 1.0)),
])
def test_kind_and_direction_per_scene(scenes, name, kind, direction):
    proposal = propose_motion(scenes[name].image, scenes[name].depth_input())
    region = max(proposal.regions, key=lambda r: r.area)
    assert region.kind == kind
    for x0, y0, x1, y1 in region.arrows:
        assert region.mask[int(y0), int(x0)] == 1.0, "arrows start inside their region"
        d = np.array([x1 - x0, y1 - y0]) / math.hypot(x1 - x0, y1 - y0)
        assert float(d @ np.array(direction)) > math.cos(math.radians(20)), (d, direction)


def test_photograph_lake_and_sky_proposed_pagoda_and_trees_not(photo):
    """scikit-learn's china.jpg (640x427): (x, y) points checked by eye on the picture."""
    image, proposal = photo
    kinds = {r.kind for r in proposal.regions}
    assert "clouds" in kinds and kinds & {"lake", "river"}
    at = {r.kind: r for r in proposal.regions}

    def kind_at(x: int, y: int):
        return next((r.kind for r in proposal.regions if r.mask[y, x] > 0.5), None)

    for x, y in ((400, 40), (600, 20), (60, 60), (450, 150)):
        assert kind_at(x, y) == "clouds", (x, y)
    for x, y in ((450, 260), (400, 280), (520, 240)):
        assert kind_at(x, y) in ("lake", "river"), (x, y)
    for x, y in ((200, 180), (150, 250), (250, 350), (205, 45)):
        assert kind_at(x, y) is None, f"pagoda at {(x, y)}"
    for x, y in ((600, 300), (450, 380), (100, 390), (20, 200), (610, 250)):
        assert kind_at(x, y) is None, f"trees at {(x, y)}"
    assert 0.3 < at["clouds"].area < 0.45
    assert all(dy > 0 for _, y0, _, y1 in at["lake"].arrows for dy in [y1 - y0]), "the lake rolls towards the viewer"


def test_photograph_agrees_with_the_photo_benchmark_masks(photo):
    """benchmarks/photo.py masks the lake and the sky of the same photograph with hand-set colour and position
    thresholds: the proposal's sky matches its sky, and its water covers its lake."""
    from benchmarks.photo import photo as photo_rgb, photo_masks

    _, proposal = photo
    ref = photo_masks(photo_rgb())
    sky = torch.zeros(proposal.size, dtype=torch.bool)
    water = torch.zeros(proposal.size, dtype=torch.bool)
    for r in proposal.regions:
        if r.kind == "clouds":
            sky |= r.mask > 0.5
        else:
            water |= r.mask > 0.5
    ref_sky, ref_lake = torch.from_numpy(ref["sky"]), torch.from_numpy(ref["lake"])
    assert float((sky & ref_sky).sum() / (sky | ref_sky).sum()) > 0.9
    assert float((water & ref_lake).sum() / ref_lake.sum()) > 0.85


def test_photograph_island_stays_and_sky_has_no_specks(photo):
    """The island in the lake (dark, textured) is left out of the water; the sky seen through the trees'
    leaves is left out of the sky (its mask is one piece), so neither drifts as a ghost."""
    _, proposal = photo
    at = {r.kind: r.mask for r in proposal.regions}
    for x, y in ((478, 234), (490, 236)):
        assert all(float(m[y, x]) == 0.0 for m in at.values()), f"island at {(x, y)}"
    assert at["lake"][232, 430] == 1.0, "the water beside the island moves"
    parts, _ = cv2.connectedComponents((at["clouds"].numpy() > 0.5).astype(np.uint8), connectivity=8)
    assert parts - 1 == 1


def test_water_towards_the_viewer_slows_with_depth(photo):
    """The lake's speed map: still at the far shore, faster towards the viewer, its maximum the lake
    kind's speed; the proposal's hints carry it as their dense map, directions from the arrows."""
    _, proposal = photo
    lake = next(r for r in proposal.regions if r.kind == "lake")
    clouds = next(r for r in proposal.regions if r.kind == "clouds")
    assert clouds.speed is None and lake.speed is not None
    column = lake.speed[:, 440]
    assert float(column[212]) == 0.0 and float(column.max()) == pytest.approx(region_speed("lake", 640))
    inside = [y for y in range(200, 300) if lake.mask[y, 440] > 0.5]
    assert all(float(column[a]) <= float(column[b]) for a, b in zip(inside, inside[1:])), "faster when nearer"
    hints = proposal_hints(proposal)
    dense = dense_hint_map(hints)
    assert torch.equal(dense, hints.dense * (hints.mask != 0))
    water = lake.mask > 0.5
    assert torch.allclose(dense.norm(dim=0)[water], lake.speed[water], atol=1e-5)
    assert float(dense[0][water].abs().max()) < 1e-6 and float(dense[1][water].min()) >= 0.0, "straight down"
    sky = clouds.mask > 0.5
    own = dense_hint_map(make_hints(clouds.mask, clouds.arrows, size=proposal.size))
    assert torch.allclose(dense[:, sky], own[:, sky]), "each region moves by its own arrows only"


def test_deterministic_and_stable_across_sizes(photo):
    image, proposal = photo
    again = propose_motion(image.clone())
    assert again.arrows == proposal.arrows and again.note == proposal.note
    assert all(torch.equal(a.mask, b.mask) for a, b in zip(again.regions, proposal.regions))
    small = propose_motion(F.interpolate(image[None], size=(256, 384), mode="area")[0])
    up = F.interpolate(small.mask[None, None], size=tuple(image.shape[1:]), mode="nearest")[0, 0]
    both, either = ((up > 0.5) & (proposal.mask > 0.5)).sum(), ((up > 0.5) | (proposal.mask > 0.5)).sum()
    assert float(both / either) > 0.9


def test_regions_are_disjoint_and_well_formed(photo):
    image, proposal = photo
    total = torch.stack([r.mask for r in proposal.regions]).sum(0)
    assert float(total.max()) == 1.0 and torch.equal(proposal.mask, (total > 0).float())
    h, w = image.shape[1:]
    for r in proposal.regions:
        assert r.kind in FLUID_KINDS and 0.0 <= r.confidence <= 1.0 and r.mask.shape == (h, w)
        assert all(0 <= x0 <= w and 0 <= y0 <= h and (x0, y0) != (x1, y1) for x0, y0, x1, y1 in r.arrows)
    assert [line.split()[0] for line in describe(proposal).splitlines()] == [r.kind for r in proposal.regions]
    hints = proposal_hints(proposal)
    assert torch.equal(hints.mask, proposal.mask) and hints.arrows == proposal.arrows


def _grey(image: torch.Tensor) -> torch.Tensor:
    return image.mean(0, keepdim=True).expand(3, -1, -1).contiguous()


@pytest.mark.parametrize("make, reason", [
    (lambda p: torch.ones(3, 120, 160), "uniform"),
    (lambda p: torch.zeros(3, 64, 64), "uniform"),
    (lambda p: torch.full((3, 50, 70), 0.4), "uniform"),
    (lambda p: torch.rand(3, 10, 12, generator=torch.Generator().manual_seed(0)), "too small"),
    (lambda p: torch.rand(3, 150, 200, generator=torch.Generator().manual_seed(0)), "noise"),
    (lambda p: torch.linspace(0, 1, 90)[None, :, None].expand(3, 90, 120).contiguous(), "no sky"),
])
def test_nothing_to_animate_says_why(photo, make, reason):
    proposal = propose_motion(make(photo[0]))
    assert proposal.regions == () and proposal.note.startswith(NOTHING) and reason in proposal.note
    assert float(proposal.mask.sum()) == 0 and proposal.arrows == ()
    with pytest.raises(CinemagraphError, match=f"{NOTHING}.*draw the motion yourself"):
        proposal_hints(proposal)


def test_grey_photograph_animates_only_its_sky(photo):
    image, proposal = photo
    grey = propose_motion(_grey(image))
    assert [r.kind for r in grey.regions] == ["clouds"] and "no colour" in grey.note
    sky = next(r for r in proposal.regions if r.kind == "clouds")
    both = ((grey.mask > 0.5) & (sky.mask > 0.5)).sum() / ((grey.mask > 0.5) | (sky.mask > 0.5)).sum()
    assert float(both) > 0.85


def test_huge_image_gives_the_same_regions(photo):
    image, proposal = photo
    huge = F.interpolate(image[None], size=(1708, 2560), mode="bilinear", align_corners=False)[0]
    big = propose_motion(huge)
    assert [r.kind for r in big.regions] == [r.kind for r in proposal.regions] and big.size == (1708, 2560)
    down = F.interpolate(big.mask[None, None], size=tuple(image.shape[1:]), mode="area")[0, 0] > 0.5
    assert float((down & (proposal.mask > 0.5)).sum() / (down | (proposal.mask > 0.5)).sum()) > 0.95


@pytest.mark.parametrize("bad, message", [
    (torch.rand(4, 40, 40), "(3,H,W)"), (np.zeros((40, 40, 3)), "(3,H,W)"),
    (torch.full((3, 40, 40), float("nan")), "NaN"),
])
def test_bad_images_are_refused(bad, message):
    with pytest.raises(CinemagraphError, match=message.replace("(", r"\(").replace(")", r"\)")):
        propose_motion(bad)


def test_a_given_depth_tells_a_lake_from_a_river(scenes):
    """The lake spans far more depth than the river crossing the view; flat depth says neither lies on the ground."""
    lake = scenes["lake"]
    assert {r.kind for r in propose_motion(lake.image, lake.depth_input()).regions} == {"lake"}
    flat = propose_motion(lake.image, torch.ones(lake.size))
    assert not {r.kind for r in flat.regions} & {"lake", "river"}
    with pytest.raises(CinemagraphError, match="depth"):
        propose_motion(lake.image, -torch.ones(lake.size))


def test_superpixels_and_orientation():
    """SLIC labels cover the image in compact cells that respect a colour edge; stripes give their direction."""
    lab = np.zeros((60, 80, 3), np.float32)
    lab[:, 40:, 0] = 80.0
    labels = slic(lab, 48)
    assert labels.shape == (60, 80) and len(np.unique(labels)) >= 30
    left, right = set(np.unique(labels[:, :38])), set(np.unique(labels[:, 42:]))
    assert not left & right, "no superpixel crosses the edge"
    adj = adjacency(labels, int(labels.max()) + 1)
    assert (adj == adj.T).all() and (np.diag(adj) == 0).all()
    ys, xs = np.mgrid[0:64, 0:64]
    for angle in (0.0, 30.0, 90.0, -45.0):
        a = math.radians(angle)
        stripes = 0.5 + 0.4 * np.sin(2 * math.pi * (-xs * math.sin(a) + ys * math.cos(a)) / 6.0)
        stats = superpixel_stats(np.repeat(stripes[..., None], 3, 2).astype(np.float32))
        coherence, streak = orientation(stats.tensor.mean(0))
        assert coherence > 0.8 and abs((streak - angle + 90) % 180 - 90) < 3, (angle, streak, coherence)
