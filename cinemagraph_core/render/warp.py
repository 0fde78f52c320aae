"""The warp renderer: the weight-free frames of a video from its layers, pure torch on one device.

Per video, the point cloud's layers become textured height fields (``warp_layers``). Per frame, the
flowing layers' textures are advected in the image plane (``advect``: the paper's 3-D symmetric
animation in texture space), every layer is inverse-warped into the frame's camera and the layers
are composited near over far (``parallax``); pixels no layer covers are filled and the border is
cropped (``blend.finish_rgb``). No point is splatted, so moving water has no dot grid and a stretched
near surface never lets a farther layer through.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import torch

from ..types import CameraPath, RenderedFrames
from .advect import FrameTextures, flow_fields, forward_traces, symmetric_traces
from .blend import finish_rgb
from .parallax import FrameCamera, composite
from .warp_layers import WarpLayers, build_warp_layers


CPU_THREADS = 1
"""Intra-op threads of the per-frame work on the CPU. A frame is a few thousand small tensor operations
(per-layer boxes, the coarse solve, subsets); with more threads, waking them costs more than it saves
(measured on 2 cores: 0.10 s/frame at 512x512 with one thread, 0.15 with two sleeping OpenMP threads,
0.10 with two spinning ones). The caller's setting is restored between frames."""


def iter_warp(frames: RenderedFrames, camera: CameraPath, indices: Sequence[int], crop: int,
              device: Optional[torch.device | str] = None,
              layers: Optional[WarpLayers] = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(t, rgb (3,H-2crop,W-2crop) float32 0..1 on the CPU)`` for ``indices`` (ascending, distinct).

    frames: the animation and its settings (``symmetric``, ``fill_holes``); camera: the path to render
    (``frames.camera`` with any border zoom applied); crop: px cut from every side; device: where
    the work runs (default: the point cloud's device); layers: prebuilt ``WarpLayers`` (else built here).
    """
    anim, settings = frames.animation, frames.settings
    layers = layers if layers is not None else build_warp_layers(anim.cloud, anim.motion, device)
    n = anim.num_frames
    if anim.symmetric:
        steps = ((t, fwd, bwd) for t, fwd, bwd in symmetric_traces(layers, n, indices))
    else:
        steps = ((t, fwd, None) for t, fwd in forward_traces(layers, indices))
    textures = FrameTextures(layers)
    threads = CPU_THREADS if layers.device.type == "cpu" else torch.get_num_threads()
    while True:
        with torch.no_grad(), _intra_op_threads(threads):
            item = next(steps, None)
            if item is None:
                return
            t, fwd, bwd = item
            cam = FrameCamera(layers.K, camera.poses[t], float(camera.K_scale[t]), layers.size, layers.device)
            rgba = composite(layers, flow_fields(layers, fwd, bwd, t / n), cam, textures)
            rgb = finish_rgb(rgba, fill_holes=settings.fill_holes, crop=crop, finite=True).cpu()
        yield t, rgb


@contextmanager
def _intra_op_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to at most ``n`` inside the block, restored after it."""
    before = torch.get_num_threads()
    if n < before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
