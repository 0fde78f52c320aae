"""The LDI as a 3-D point cloud, and its per-frame lifting by a 2-D displacement (SPEC f, g, h, i).

``build_point_cloud`` does everything that does not depend on the frame once: the depth clamp, the
eroded visibility masks, the diffused depth, the per-layer point pixels and their attributes.
``lift`` then moves the points of one side of one frame: the displacement is diffused from the
eroded visible region into edges and inpainted content, every point is displaced in the image
plane at the depth of its source pixel, the layer order is enforced and points that leave the
frame are dropped.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .errors import CinemagraphError
from .layers.ldi import clamp_depth
from .ops.filters import box_blur, box_blur_fast, erode
from .types import LDI, FramePoints, LayerFeatures, PointCloud

KEEP_KERNEL = 5
"""Erosion (px) of a layer's visibility mask: the region whose motion and depth are trusted."""
DIFFUSE_KERNEL = 15
DIFFUSE_ITERS = 7
MASK_EPS = 1e-6
"""A diffused mask above this counts as covered (SPEC i.2)."""
SOLID_ALPHA = 0.5
ORDER_PUSH = 1.01
"""A point that ends up in front of a nearer layer's point is put at 1.01 x that point (SPEC i.6)."""
RGBA_CHANNELS = 4
"""Attributes every point has, ``[r, g, b, a]``; learned features follow them."""


def has_learned_features(cloud: PointCloud) -> bool:
    """Whether the points of ``cloud`` carry learned features after their RGBA (what the learned decoder needs)."""
    return cloud.channels > RGBA_CHANNELS


def unproject(K: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """Camera-frame points ``K^-1 [x, y, 1]^T * depth`` of the integer pixel grid.

    K: ``(3,3)`` px. depth: ``(H,W)`` float32 depth units. Returns ``(H,W,3)`` float32 (x right,
    y down, z forward; z equals depth).
    """
    K = _as_intrinsics(K)
    depth = torch.as_tensor(depth, dtype=torch.float32)
    if depth.dim() != 2:
        raise CinemagraphError(f"unproject needs a depth map of shape (H,W), got {tuple(depth.shape)}")
    h, w = depth.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    grid = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)
    return (grid @ torch.linalg.inv(K).T) * depth[..., None]


def composite_depth(depth: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Front-to-back alpha composite of layer depths, at least 1 (official ``render_depth_from_mdi``).

    depth, alpha: ``(L,H,W)`` float32, layer 0 nearest. Returns ``(H,W)`` float32 depth units.
    """
    if depth.shape != alpha.shape or depth.dim() != 3:
        raise CinemagraphError(
            f"composite_depth needs depth and alpha of the same shape (L,H,W), got {tuple(depth.shape)} "
            f"and {tuple(alpha.shape)}")
    out = torch.zeros_like(depth[0])
    transmit = torch.ones_like(depth[0])
    for d, a in zip(depth, alpha):
        out = out + transmit * a * d
        transmit = transmit * (1 - a)
    return out.clamp(min=1.0)


def masked_diffuse(x: torch.Tensor, mask: torch.Tensor, k: int = DIFFUSE_KERNEL,
                   iters: int = DIFFUSE_ITERS) -> tuple[torch.Tensor, torch.Tensor]:
    """Extrapolate ``x`` from the region ``mask`` outwards by ``iters`` rounds of a k x k box filter.

    Each round (official ``masked_smooth_filter``) keeps x where the current mask is > 1e-6 and
    replaces it elsewhere by ``box(x * m) / max(box(m), 1e-6)`` (zero border); the mask becomes
    ``box(m)`` (soft, growing by k//2 px a round).

    x: ``(B,C,H,W)`` float32. mask: ``(B,1,H,W)`` float32 0..1. Returns ``(x, mask)`` after the last
    round, shapes as given; callers use x only where the returned mask is > 1e-6 (``MASK_EPS``).
    """
    if x.dim() != 4 or mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != x.shape[0] \
            or mask.shape[2:] != x.shape[2:]:
        raise CinemagraphError(
            f"masked_diffuse needs x (B,C,H,W) and mask (B,1,H,W) of the same B, H, W; got "
            f"{tuple(x.shape)} and {tuple(mask.shape)}")
    if k < 1 or k % 2 != 1 or iters < 0:
        raise CinemagraphError(f"masked_diffuse needs an odd kernel >= 1 and iters >= 0, got k={k}, "
                               f"iters={iters}")
    masks = torch.cat([mask, _spread(mask, k, iters)], dim=1)
    return _diffuse(x, masks, k), masks[:, -1:]


def build_point_cloud(ldi: LDI, features: Optional[LayerFeatures], K: torch.Tensor,
                      official_rounding: Optional[bool] = None) -> PointCloud:
    """Lift the LDI to a frame-independent point cloud (SPEC f apply_scale_shift, g, h, i.1, i.3).

    Every pixel with alpha > 0.5 of layer i is a point of that layer (visible and inpainted content,
    row-major order). Its attributes are ``[r, g, b, a, features...]``: inside the 5x5-eroded
    visibility mask the layer's own RGBA and features; elsewhere its RGBA and the visibility-weighted
    mix of all layers' features at that pixel. Feature maps at a lower resolution are upsampled
    bilinearly (align_corners True).

    ldi: the layered depth image ``(L,4|1|1,H,W)``. features: ``(L,C,h,w)`` maps; None (or maps
    None) gives RGBA only, C = 4.
    K: ``(3,3)`` px. Returns the PointCloud (depth clamped to [1e-3, 1000] and diffused).
    official_rounding: diffuse with the official box-blur rounding (``ops.filters.box_blur``: the
    diffused depths order the official splatter's z-ties, so the learned pipeline reproduces the
    official frames only with it) or the fast one (a few ulps apart, several times faster at high
    resolution). None (default): official with learned features (what the learned decoder renders),
    fast for RGBA-only clouds (the weight-free blend).
    """
    K = _as_intrinsics(K)
    num_layers, (h, w) = _check_ldi(ldi)
    maps = _check_features(features, num_layers)
    exact = maps is not None if official_rounding is None else bool(official_rounding)
    blur = box_blur if exact else box_blur_fast
    layer_depth = clamp_depth(ldi.depth.float())
    depth = layer_depth.clone()
    keep = erode(ldi.mask.float(), KEEP_KERNEL)
    spread = torch.empty(num_layers, DIFFUSE_ITERS, h, w)
    for i in range(num_layers):  # one layer at a time: the blur temporaries stay those of one map
        spread[i] = _spread(keep[i:i + 1], DIFFUSE_KERNEL, DIFFUSE_ITERS, blur)[0]
        masks = torch.cat([keep[i:i + 1], spread[i:i + 1]], dim=1)
        diffused = _diffuse(depth[i:i + 1], masks, DIFFUSE_KERNEL, blur)
        depth[i] = torch.where(spread[i, -1:] > MASK_EPS, diffused[0], depth[i])
    depth = depth[:, 0]
    alpha = ldi.rgba[:, 3].float()
    solid = alpha > SOLID_ALPHA
    pixels = [s.flatten().nonzero().squeeze(1) for s in solid]
    mix = None if maps is None else _feature_mix(maps, ldi.mask.float())
    counts = [p.numel() for p in pixels]
    attrs = torch.empty(sum(counts), RGBA_CHANNELS + (0 if maps is None else maps.shape[1]))
    for i, out in enumerate(attrs.split(counts)):
        _fill_attributes(out, ldi.rgba[i].float(), keep[i, 0], pixels[i], (h, w),
                         None if maps is None else maps[i:i + 1], mix)
    attrs = list(attrs.split(counts))
    return PointCloud(pixels=pixels, attrs=attrs, depth=depth.contiguous(), keep=keep[:, 0].contiguous(),
                      solid=solid, K=K, spread=spread, layer_depth=layer_depth[:, 0].contiguous())


def lift(cloud: PointCloud, disp: torch.Tensor) -> FramePoints:
    """The cloud moved by one 2-D displacement map: one side of one frame (SPEC i.2, i.5-i.7).

    Per layer, the displacement is diffused from the eroded visible region (``masked_diffuse``, 15, 7
    rounds; zero where nothing reaches); a point at pixel (x, y) ends at
    ``K^-1 [x + dx, y + dy, 1] * D(x, y)`` with D the diffused source depth. For layers i > 0 a point
    whose end z is <= the end point of the most recent nearer layer that is solid at the same pixel
    is put at 1.01 x that point. Points whose displaced pixel leaves [0, W-1] x [0, H-1] are dropped.

    cloud: from ``build_point_cloud``. disp: ``(2,H,W)`` float32 (x, y) px, e.g. an Euler
    displacement. Returns FramePoints with rows layer by layer, row-major inside a layer; when no
    point is dropped its attrs are a view of the cloud's (treat them as read-only).
    """
    disp = _check_displacement(disp, cloud.size).to(cloud.depth.device)
    h, w = cloud.size
    k_inv = torch.linalg.inv(cloud.K).T
    moving = (disp != 0).any(dim=0)
    spread = cloud_spread(cloud)
    nearer = torch.zeros(h * w, 3, device=disp.device) if cloud.num_layers > 1 else None
    xyz_parts, kept = [], []
    for i in range(cloud.num_layers):
        pix = cloud.pixels[i]
        u = (pix % w).float()
        v = torch.div(pix, w, rounding_mode="floor").float()
        shift = diffuse_layer_motion(disp, cloud.keep[i], spread[i], moving)
        if shift is not None:
            shift = shift.flatten(1).index_select(1, pix)
        if shift is not None:
            u, v = u + shift[0], v + shift[1]
        xyz = (torch.stack([u, v, torch.ones_like(u)], dim=1) @ k_inv) * cloud.depth[i].flatten()[pix, None]
        if i > 0:
            front = nearer[pix]
            xyz = torch.where((xyz[:, 2] <= front[:, 2])[:, None], ORDER_PUSH * front, xyz)
        if nearer is not None and i < cloud.num_layers - 1:
            nearer[pix] = xyz
        idx = None
        if shift is not None:
            inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
            if not bool(inside.all()):
                idx = inside.nonzero().squeeze(1)
                xyz = xyz.index_select(0, idx)
        xyz_parts.append(xyz)
        kept.append(idx)
    counts = tuple(int(x.shape[0]) for x in xyz_parts)
    joined = _joined(cloud.attrs)
    if joined is not None and all(idx is None for idx in kept):
        return FramePoints(xyz=torch.cat(xyz_parts), attrs=joined, per_layer=counts)
    attrs = torch.empty(sum(counts), cloud.channels, device=cloud.attrs[0].device)
    start = 0
    for src, idx, n in zip(cloud.attrs, kept, counts):
        if idx is None:
            attrs[start:start + n].copy_(src)
        else:
            torch.index_select(src, 0, idx, out=attrs[start:start + n])
        start += n
    return FramePoints(xyz=torch.cat(xyz_parts), attrs=attrs, per_layer=counts)


def cloud_on(cloud: PointCloud, device: torch.device | str) -> PointCloud:
    """``cloud`` with every tensor on ``device`` (itself when already there); attributes that lie back to
    back in one storage stay so (``lift`` then needs no copy of them)."""
    device = torch.device(device)
    if cloud.depth.device == device:
        return cloud
    joined = _joined(cloud.attrs)
    if joined is not None:
        attrs = list(joined.to(device).split([int(a.shape[0]) for a in cloud.attrs]))
    else:
        attrs = [a.to(device) for a in cloud.attrs]
    move = (lambda t: None if t is None else t.to(device))
    return replace(cloud, pixels=[p.to(device) for p in cloud.pixels], attrs=attrs, depth=cloud.depth.to(device),
                   keep=cloud.keep.to(device), solid=cloud.solid.to(device), K=cloud.K.to(device),
                   spread=move(cloud.spread), layer_depth=move(cloud.layer_depth))


def _joined(parts: list[torch.Tensor]) -> Optional[torch.Tensor]:
    """All rows of ``parts`` as one ``(sum P_i, C)`` view when they lie back to back in one storage
    (as ``build_point_cloud`` makes them), else None. Saves copying the attributes of a frame in
    which no point leaves the image."""
    first = parts[0]
    if not all(p.is_contiguous() and p.dim() == 2 and p.shape[1] == first.shape[1] for p in parts):
        return None
    ptr = first.data_ptr()
    for p in parts:
        if p.untyped_storage().data_ptr() != first.untyped_storage().data_ptr() or p.data_ptr() != ptr:
            return None
        ptr += p.numel() * p.element_size()
    rows = sum(p.shape[0] for p in parts)
    return first.as_strided((rows, first.shape[1]), (first.shape[1], 1))


def _spread(mask: torch.Tensor, k: int, iters: int, blur=box_blur) -> torch.Tensor:
    """The masks after 1..iters box blurs (``blur``: see ``_diffuse``): ``(B,iters,H,W)`` from ``(B,1,H,W)``."""
    out = []
    m = mask
    for _ in range(iters):
        m = blur(m, k)
        out.append(m)
    return torch.cat(out, dim=1) if out else mask[:, :0]


def _diffuse(x: torch.Tensor, masks: torch.Tensor, k: int, blur=box_blur) -> torch.Tensor:
    """The masked diffusion rounds given the mask sequence ``(B,iters+1,H,W)`` (m_0 .. m_iters).

    ``blur``: ``box_blur`` (the official rounding; needed for depths, whose exact values order the
    splatter's z-ties) or ``box_blur_fast`` (per-frame displacements, where ulps do not matter).
    """
    for r in range(masks.shape[1] - 1):
        m = masks[:, r:r + 1]
        fill = blur(x * m, k) / masks[:, r + 1:r + 2].clamp(min=MASK_EPS)
        x = torch.where(m > MASK_EPS, x, fill)
    return x


def cloud_spread(cloud: PointCloud) -> torch.Tensor:
    """The diffusion masks m_1..m_7 of the cloud ``(L,7,H,W)`` (cached by ``build_point_cloud``, else recomputed)."""
    if cloud.spread is not None:
        return cloud.spread
    return _spread(cloud.keep[:, None], DIFFUSE_KERNEL, DIFFUSE_ITERS)


def diffuse_layer_motion(disp: torch.Tensor, keep: torch.Tensor, spread: torch.Tensor,
                         moving: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
    """``disp (2,H,W)`` (a displacement in px, or a motion in px/frame) seen by one LDI layer, or None.

    The values inside the layer's eroded visible region ``keep (H,W)`` are diffused outwards
    (``masked_diffuse``: 15x15, 7 rounds, with the cached masks ``spread (7,H,W)``); zero where
    nothing reaches. None when nothing in ``keep`` moves. ``moving (H,W)`` bool: where ``disp`` is
    non-zero, when the caller knows it. Only a window around the moving part of ``keep`` is
    diffused: the diffusion is linear and reaches iters * (k // 2) = 49 px, so outside that window
    the result is exactly zero.
    """
    moving = (disp != 0).any(dim=0) if moving is None else moving
    source = moving & (keep > 0)
    if not bool(source.any()):
        return None
    reach = DIFFUSE_ITERS * (DIFFUSE_KERNEL // 2)
    r0, r1 = _span(source.any(dim=1), reach)
    c0, c1 = _span(source.any(dim=0), reach)
    masks = torch.cat([keep[None, r0:r1, c0:c1], spread[:, r0:r1, c0:c1]])[None]
    crop = _diffuse(disp[None, :, r0:r1, c0:c1], masks, DIFFUSE_KERNEL, box_blur_fast)[0]
    full = disp.new_zeros(disp.shape)
    full[:, r0:r1, c0:c1] = torch.where(masks[0, -1] > MASK_EPS, crop, crop.new_zeros(()))
    return full


def _span(occupied: torch.Tensor, reach: int) -> tuple[int, int]:
    """[first - reach, last + reach + 1) of the True entries of a 1-D mask, clipped to its length."""
    idx = occupied.nonzero()
    return max(int(idx[0]) - reach, 0), min(int(idx[-1]) + reach + 1, occupied.shape[0])


def _feature_mix(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Numerator and denominator ``(1,C+1,h,w)`` of the visibility-weighted mix of the layers' maps."""
    weight = F.interpolate(mask, size=maps.shape[-2:], mode="area")
    return torch.cat([(maps * weight).sum(dim=0, keepdim=True), weight.sum(dim=0, keepdim=True)], dim=1)


def _sample(maps: torch.Tensor, pix: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (align_corners True, border) samples ``(P,C)`` of ``(1,C,h,w)`` maps at the pixels."""
    h, w = size
    x = (pix % w).float() * (2.0 / (w - 1)) - 1.0
    y = torch.div(pix, w, rounding_mode="floor").float() * (2.0 / (h - 1)) - 1.0
    grid = torch.stack([x, y], dim=1)[None, None]
    out = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, 0].T


def _fill_attributes(out: torch.Tensor, rgba: torch.Tensor, keep: torch.Tensor, pix: torch.Tensor,
                     size: tuple[int, int], maps: Optional[torch.Tensor], mix: Optional[torch.Tensor]) -> None:
    """Write the ``(P, 4 + C)`` attributes of one layer's points into ``out`` (SPEC h).

    rgba_end = k [rgb, k] + (1 - k) rgba and feat_end = k F + (1 - k) F_mix with k the eroded
    visibility at the point; each feature term is sampled only where its weight is non-zero.
    """
    k = keep.flatten()[pix]
    own = rgba.reshape(4, -1).index_select(1, pix)
    out[:, :3] = own[:3].T
    out[:, 3] = k * k + (1 - k) * own[3]
    if maps is None:
        return
    feat = torch.zeros(pix.shape[0], maps.shape[1])
    inner = (k > 0).nonzero().squeeze(1)
    outer = (k < 1).nonzero().squeeze(1)
    if inner.numel():
        feat[inner] = k[inner, None] * _sample(maps, pix[inner], size)
    if outer.numel():
        sums = _sample(mix, pix[outer], size)
        feat[outer] += (1 - k[outer, None]) * (sums[:, :-1] / sums[:, -1:].clamp(min=MASK_EPS))
    out[:, 4:] = feat


def _as_intrinsics(K) -> torch.Tensor:
    K = torch.as_tensor(np.asarray(K) if not isinstance(K, torch.Tensor) else K, dtype=torch.float32)
    if K.dim() == 3 and K.shape[0] == 1:
        K = K[0]
    if K.shape != (3, 3) or not bool(torch.isfinite(K).all()):
        raise CinemagraphError(f"intrinsics K must be a finite (3,3) matrix in px, got shape {tuple(K.shape)}")
    if abs(float(torch.linalg.det(K))) < 1e-12:
        raise CinemagraphError("intrinsics K are singular; expected [[f,0,cx],[0,f,cy],[0,0,1]] with f > 0 "
                               "(see camera.default_intrinsics)")
    return K


def _check_ldi(ldi: LDI) -> tuple[int, tuple[int, int]]:
    rgba, depth, mask = ldi.rgba, ldi.depth, ldi.mask
    if rgba.dim() != 4 or rgba.shape[1] != 4 or rgba.shape[0] < 1:
        raise CinemagraphError(f"LDI rgba must be (L,4,H,W) with L >= 1, got {tuple(rgba.shape)}")
    num_layers, _, h, w = rgba.shape
    for name, t in (("depth", depth), ("mask", mask)):
        if tuple(t.shape) != (num_layers, 1, h, w):
            raise CinemagraphError(
                f"LDI {name} must be (L,1,H,W) = {(num_layers, 1, h, w)} like its rgba, got {tuple(t.shape)}")
    if h < 2 or w < 2:
        raise CinemagraphError(f"the LDI must be at least 2x2 pixels, got {h}x{w}")
    if not bool(torch.isfinite(depth).all()):
        raise CinemagraphError("LDI depth has NaN or infinite values; rebuild the LDI from a finite depth map")
    return num_layers, (h, w)


def _check_features(features: Optional[LayerFeatures], num_layers: int) -> Optional[torch.Tensor]:
    maps = None if features is None else features.maps
    if maps is None:
        return None
    if maps.dim() != 4 or maps.shape[0] != num_layers or maps.shape[2] < 2 or maps.shape[3] < 2:
        raise CinemagraphError(
            f"feature maps must be (L,C,h,w) with one map per LDI layer (L = {num_layers}) and h, w >= 2, got "
            f"{tuple(maps.shape)}; extract the features from this LDI")
    return maps.float()


def _check_displacement(disp: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    disp = torch.as_tensor(disp, dtype=torch.float32)
    if tuple(disp.shape) != (2, *size):
        raise CinemagraphError(
            f"the displacement must be (2,H,W) = (2, {size[0]}, {size[1]}) like the point cloud, got "
            f"{tuple(disp.shape)}; resize the motion field to the LDI size")
    if not bool(torch.isfinite(disp).all()):
        raise CinemagraphError("the displacement has NaN or infinite values; check the motion field")
    return disp
