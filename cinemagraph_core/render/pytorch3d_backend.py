"""Optional splat backend on pytorch3d's point rasteriser, the renderer of the official code (SPEC j).

Same interface and semantics as ``render.splat.splat``. pytorch3d is imported only when this backend
is used; it is not a dependency (the built-in splatters ``'numpy'`` and ``'torch'`` give the same maps).
"""
from __future__ import annotations

from typing import Optional, Union

import torch

from ..errors import CinemagraphError
from .splat import checked_radii, check_inputs


def _pytorch3d():
    try:
        from pytorch3d.renderer import PerspectiveCameras, PointsRasterizationSettings, PointsRasterizer
        from pytorch3d.renderer.compositing import alpha_composite
        from pytorch3d.structures import Pointclouds
    except ImportError as exc:
        raise CinemagraphError(
            "The 'pytorch3d' splat backend needs the optional pytorch3d package, which is not installed "
            f"({exc}). Use backend 'auto' (the built-in splatters, same results) or install "
            "pytorch3d matching your torch/CUDA build.") from None
    return PerspectiveCameras, PointsRasterizationSettings, PointsRasterizer, alpha_composite, Pointclouds


def splat(
    xyz: torch.Tensor,
    attrs: torch.Tensor,
    K: torch.Tensor,
    size: tuple[int, int],
    radius_px: Union[torch.Tensor, float],
    points_per_pixel: int = 8,
    chunk: Optional[int] = None,
) -> torch.Tensor:
    """``render.splat.splat`` with pytorch3d: ``(P,3)`` points, ``(P,C)`` attrs -> ``(C,H,W)`` float32.

    Runs on ``xyz.device`` and returns there. Screen-space ``PerspectiveCameras`` with focal ``(-fx, -fy)``, principal
    point ``(cx, cy)`` and image size ``(H, W)`` (skew is not representable and must be 0), per-point
    NDC radii ``radius_px * 2 / min(H, W)``, weights ``1 - d^2 / r^2`` alpha-composited near to far.
    ``chunk`` is accepted for interface compatibility and ignored.
    """
    cameras_cls, settings_cls, rasterizer_cls, alpha_composite, clouds_cls = _pytorch3d()
    h, w, n_k = check_inputs(xyz, attrs, K, size, points_per_pixel, chunk)
    if float(K[0, 1]) != 0.0:
        raise CinemagraphError("splat (pytorch3d): K has a skew term, which pytorch3d cameras cannot "
                               "represent; use backend 'auto', 'numpy' or 'torch'.")
    device = xyz.device
    radius = checked_radii(radius_px, int(xyz.shape[0])).to(device)
    keep = (xyz[:, 2] > 0) & torch.isfinite(xyz).all(dim=1)
    pts, feats = xyz[keep].float(), attrs[keep].float().to(device)
    radius_ndc = radius[keep] * (2.0 / min(h, w))
    n_ch = int(attrs.shape[1])
    if pts.shape[0] == 0 or n_ch == 0:
        return torch.zeros(n_ch, h, w, device=device)
    fx, fy, cx, cy = (float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))
    cameras = cameras_cls(
        focal_length=torch.tensor([[-fx, -fy]], device=device),
        principal_point=torch.tensor([[cx, cy]], device=device),
        R=torch.eye(3, device=device)[None], T=torch.zeros(1, 3, device=device),
        image_size=torch.tensor([[h, w]], device=device), in_ndc=False, device=device)
    rasterizer = rasterizer_cls(cameras=cameras, raster_settings=settings_cls(
        image_size=(h, w), radius=radius_ndc[None], points_per_pixel=n_k))
    fragments = rasterizer(clouds_cls(points=[pts], features=[feats]))
    idx = fragments.idx.long().permute(0, 3, 1, 2).contiguous()
    r = radius_ndc[idx.clamp(min=0)]
    alphas = torch.where(idx >= 0, 1.0 - fragments.dists.permute(0, 3, 1, 2) / (r * r), torch.zeros_like(r))
    out = alpha_composite(idx, alphas.contiguous(), feats.t().contiguous())
    return out[0].float()
