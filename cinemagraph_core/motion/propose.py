"""Zero-click motion: propose the fluid mask and the arrows from the image alone, weight-free.

``propose_motion(image)`` finds the regions a cinemagraph animates (sky with clouds or haze,
rivers, lakes and the sea, waterfalls, smoke) with classical vision, deterministically and in well
under a second: the image is analysed at ``ANALYSIS_SIDE`` px (SLIC superpixels, CIELAB colour,
structure-tensor texture, region shape, the horizon row of ``depth.prior`` and a depth map when one
is known; ``fluid_kinds`` has the rules), each region's mask is brought back to the image's
resolution with a colour guided filter (edges follow the image; a sky also loses the pixels much
darker than itself and a thin rim along everything in front of it), and ``fluid_arrows`` gives its
arrows (and water coming towards the viewer a speed map that slows it with depth).
``proposal_hints`` turns a proposal into ``MotionHints``: its mask and arrows, and with a speed map
the dense hint map each region's own arrows and speed give.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..depth.prior import downsample, estimate_horizon, guided_filter, layout_disparity
from ..errors import CinemagraphError
from ..ops.filters import dilate, erode
from ..types import Depth, FluidRegion, MotionHints, MotionProposal
from .fluid_arrows import perspective, region_arrows, region_speed, towards_viewer, water_near
from .fluid_kinds import find_fluids
from .fluid_stats import superpixel_stats
from .hints import dense_hint_map, make_hints

log = logging.getLogger("cinemagraph")

ANALYSIS_SIDE = 256
"""Longer side (px) of the image the regions are found on."""
MIN_ANALYSIS_SIDE = 24
"""Shorter side (px, after downscaling) below which an image is too small to analyse."""
MASK_RADIUS = 1.0 / 64.0
"""Guided-filter window radius (fraction of the analysis long side) that brings masks to full size."""
MASK_EPS = 1e-3
LABEL_REACH = 3
REGION_GAP_WIDTH = 200
"""Neighbouring regions (a sky meeting a lake at the horizon) keep one px per REGION_GAP_WIDTH px of
image width away from each other, so neither drags the other's colours in (the band between stays)."""
SKY_DARK_MARGIN = 30.0
SKY_EDGE_WIDTH = 300
"""Pixels of a sky SKY_DARK_MARGIN darker (CIELAB L) than its mean are things in front of it (roof
tips, branches, wires): they are left out of its mask, and so is a rim of one px per SKY_EDGE_WIDTH
px of image width around everything that is not sky, so no edge of them drifts with it."""
HAZE_DARK_MARGIN = 5.0
HAZE_LOCAL_WIDTH = 32
"""A hazy sky (no cloud texture) also loses its pixels HAZE_DARK_MARGIN darker than the sky around
them (its lightness averaged over a Gaussian of 1/HAZE_LOCAL_WIDTH of the image width): the leaf
edges and sky pockets of a tree against it, which would otherwise drift as faint smudges."""
SKY_MIN_PART = 0.01
"""Pieces of a sky mask smaller than this share of it (sky seen through foliage) stay still."""
UNIFORM_LIGHTNESS = 1.0
"""An image whose lightness varies less than this (std, CIELAB L units) is uniform."""
STRUCTURE_SIGMA, STRUCTURE_SHARE = 4.0, 0.2
"""An image whose lightness blurred with a Gaussian of STRUCTURE_SIGMA analysis px keeps less than
STRUCTURE_SHARE of its standard deviation has no shapes, only pixel noise."""
GREY_CHROMA = 2.0
"""An image whose colours all have a chroma below this (CIELAB) is grey: only the sky is looked at
(water, falling water and smoke are told from other surfaces by their colour)."""
NOTHING = "nothing to animate was found"


def propose_motion(image: torch.Tensor, depth: Optional[Union[Depth, torch.Tensor]] = None) -> MotionProposal:
    """The fluid regions of ``image`` ``(3,H,W)`` float 0..1, with masks and arrows at its resolution.

    depth: a ``Depth`` or an ``(H',W')`` depth map (far = large) of the same picture, used to tell a
    lake from a river; None = the layout prior's ground plane. An image with nothing to animate
    gives a proposal without regions whose ``note`` says why (never an error).
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if hasattr(image, "shape") else type(image).__name__
        raise CinemagraphError(f"propose_motion: expected an image tensor (3,H,W) float 0..1, got {shape}")
    img = image.detach().cpu().float().clamp(0.0, 1.0)
    if not bool(torch.isfinite(image).all()):
        raise CinemagraphError("propose_motion: the image has NaN or infinite values")
    size = (int(img.shape[1]), int(img.shape[2]))
    small = downsample(img, ANALYSIS_SIDE)
    h, w = int(small.shape[1]), int(small.shape[2])
    if min(h, w) < MIN_ANALYSIS_SIDE:
        return _empty(size, f"{NOTHING}: the image ({size[1]}x{size[0]} px) is too small to analyse")
    rgb = small.permute(1, 2, 0).numpy()
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)
    if float(lab[..., 0].std()) < UNIFORM_LIGHTNESS:
        return _empty(size, f"{NOTHING}: the image is uniform")
    if float(cv2.GaussianBlur(lab[..., 0], (0, 0), STRUCTURE_SIGMA).std()) < STRUCTURE_SHARE * float(lab[..., 0].std()):
        return _empty(size, f"{NOTHING}: the image has no shapes larger than a few pixels (noise?)")
    grey = float(np.hypot(lab[..., 1], lab[..., 2]).max()) < GREY_CHROMA
    horizon = estimate_horizon(small)
    stats = superpixel_stats(rgb)
    depth_map = _depth_map(depth, (h, w), horizon)
    candidates, sky = find_fluids(stats, lab[..., 0], depth_map, horizon)
    if grey:
        candidates = [c for c in candidates if c.kind == "clouds"]
    regions = []
    full_depth = None
    near = water_near([c.mask for c in candidates if c.kind in ("lake", "river")], depth_map)
    towards = [towards_viewer(c.kind, c.stats) for c in candidates]
    body = max((c for c, t in zip(candidates, towards) if t), key=lambda c: c.stats.area, default=None)
    masks = _apart(_full_masks([c.mask for c in candidates], img, small), size[1] // REGION_GAP_WIDTH)
    for c, mask, coming in zip(candidates, masks, towards):
        if c.kind == "clouds":
            mask = _sky_mask(mask, img, float(c.stats.lab[0]), sky.reason == "haze")
        if bool(mask.any()):
            speed, pace = None, region_speed(c.kind, size[1])
            if coming:  # one body of water coming towards the viewer: its largest piece's kind sets the pace
                pace = region_speed(body.kind, size[1])
                full_depth = _depth_map(depth, size, horizon) if full_depth is None else full_depth
                speed = torch.from_numpy(pace * perspective(full_depth, near)).float()
            regions.append(FluidRegion(c.kind, mask, round(c.confidence, 3),
                                       region_arrows(c.kind, c.stats, c.mask, size, depth_map, near, pace), speed))
    note = _note(regions, sky.reason if sky.selected.any() and not sky.animated else None, grey)
    return MotionProposal(tuple(regions), size, note)


def proposal_hints(proposal: MotionProposal, sigma: Optional[float] = None) -> MotionHints:
    """The proposal as ``MotionHints`` (its mask and arrows); a proposal without regions raises
    CinemagraphError with its note and what to do instead."""
    if not proposal.regions:
        raise CinemagraphError(f"{proposal.note}; draw the motion yourself: give a mask and arrows")
    hints = make_hints(proposal.mask, proposal.arrows, sigma=sigma, size=proposal.size)
    if all(r.speed is None for r in proposal.regions):
        return hints
    return replace(hints, dense=proposal_flow(proposal, sigma))


def proposal_flow(proposal: MotionProposal, sigma: Optional[float] = None) -> torch.Tensor:
    """``(2,H,W)`` float32 px/frame: each region's own arrows spread over its mask (the official hint
    map); where a region has a ``speed`` map its arrows give the direction and the map the speed."""
    flow = torch.zeros(2, *proposal.size)
    for r in proposal.regions:
        part = dense_hint_map(make_hints(r.mask, r.arrows, sigma=sigma, size=proposal.size))  # zero off its mask
        if r.speed is not None:
            part = part / part.norm(dim=0, keepdim=True).clamp_min(1e-6) * r.speed
        flow += part
    return flow


def describe(proposal: MotionProposal) -> str:
    """One line per region: kind, confidence, area and arrow count; the note when there is none."""
    if not proposal.regions:
        return proposal.note
    lines = [f"{r.kind:9s} confidence {r.confidence:.2f}, {100 * r.area:.1f}% of the image, "
             f"{len(r.arrows)} arrow(s)" for r in proposal.regions]
    return "\n".join(lines)


def _depth_map(depth, size: tuple[int, int], horizon: float) -> np.ndarray:
    """Depth ``(h,w)`` at the analysis size: the given one, else 1 / the layout prior's disparity."""
    h, w = size
    if depth is None:
        return (1.0 / layout_disparity(h, w, horizon * h)).numpy()
    d = depth.depth if isinstance(depth, Depth) else torch.as_tensor(depth).float()
    if d.ndim != 2 or not bool(torch.isfinite(d).all()) or float(d.min()) <= 0:
        raise CinemagraphError("propose_motion: depth must be an (H,W) map of finite values > 0")
    return F.interpolate(d[None, None].cpu(), size=(h, w), mode="area")[0, 0].numpy()


def _full_masks(masks: list[np.ndarray], img: torch.Tensor, small: torch.Tensor) -> list[torch.Tensor]:
    """Regions' analysis-size bool masks at the image's size, each pixel in at most one region.

    The union of the masks is brought to full size with a colour guided filter (its edges follow
    the image's); inside it, each pixel belongs to the region of its nearest analysis pixel (the
    first, most confident region where masks overlap; the filter may add pixels up to
    ``LABEL_REACH`` analysis px outside every region, which join a region next to them).
    """
    if not masks:
        return []
    labels = np.zeros(masks[0].shape, np.int32)
    for i in reversed(range(len(masks))):
        labels[masks[i]] = i + 1
    union = guided_filter(img, small, torch.from_numpy((labels > 0).astype(np.float32)), MASK_EPS, MASK_RADIUS) > 0.5
    grown = cv2.dilate(labels.astype(np.float32), np.ones((2 * LABEL_REACH + 1,) * 2, np.uint8))
    labels = np.where(labels > 0, labels, grown.astype(np.int32))
    size = (int(img.shape[2]), int(img.shape[1]))
    full = torch.from_numpy(cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST))
    return [(union & (full == i + 1)).float() for i in range(len(masks))]


def _sky_mask(mask: torch.Tensor, img: torch.Tensor, lightness: float, haze: bool) -> torch.Tensor:
    """The full-size sky ``mask`` ``(H,W)`` 0/1 without what is in front of it (see SKY_DARK_MARGIN,
    HAZE_DARK_MARGIN, SKY_MIN_PART); lightness: the sky's mean CIELAB L."""
    light = _lightness(img)
    keep = light >= lightness - SKY_DARK_MARGIN
    if haze:
        m = mask.numpy()
        sigma = img.shape[2] / HAZE_LOCAL_WIDTH
        around = cv2.GaussianBlur(light * m, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(m, (0, 0), sigma), 1e-6)
        keep &= light >= around - HAZE_DARK_MARGIN
    rim = 2 * (img.shape[2] // SKY_EDGE_WIDTH) + 1
    inner = erode((mask * torch.from_numpy(keep.astype(np.float32)))[None, None], rim)[0, 0]
    return _without_specks(inner, SKY_MIN_PART)


def _lightness(img: torch.Tensor) -> np.ndarray:
    """``(H,W)`` float32 CIELAB lightness 0..100 of ``img`` ``(3,H,W)`` 0..1."""
    return cv2.cvtColor(np.ascontiguousarray(img.permute(1, 2, 0).numpy()), cv2.COLOR_RGB2LAB)[..., 0]


def _without_specks(mask: torch.Tensor, share: float) -> torch.Tensor:
    """``mask`` ``(H,W)`` 0/1 without its 8-connected pieces smaller than ``share`` of its area."""
    n, parts, stats, _ = cv2.connectedComponentsWithStats((mask.numpy() > 0.5).astype(np.uint8), connectivity=8)
    big = stats[:, cv2.CC_STAT_AREA] >= share * float(mask.sum())
    big[0] = False
    return torch.from_numpy(big[parts].astype(np.float32))


def _apart(masks: list[torch.Tensor], radius: int) -> list[torch.Tensor]:
    """Masks that keep ``radius`` px away from every other mask (each loses its pixels that close to another)."""
    if radius < 1 or len(masks) < 2:
        return masks
    total = torch.stack(masks).sum(0)
    return [m * (1.0 - dilate(((total - m) > 0.5).float()[None, None], 2 * radius + 1)[0, 0]) for m in masks]


def _empty(size: tuple[int, int], note: str) -> MotionProposal:
    log.info("motion proposal: %s", note)
    return MotionProposal((), size, note)


def _note(regions: list[FluidRegion], still_sky: Optional[str], grey: bool) -> str:
    parts = []
    if regions:
        parts.append("proposed " + ", ".join(f"{r.kind} ({100 * r.area:.0f}%)" for r in regions))
    else:
        parts.append(f"{NOTHING}: no sky with clouds or haze, water or smoke")
    if still_sky:
        parts.append(f"the sky was left still: {still_sky}")
    if grey:
        parts.append("the image has no colour, so only the sky was looked at")
    return "; ".join(parts)
