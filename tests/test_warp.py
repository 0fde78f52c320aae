"""The warp renderer: texture-space symmetric animation, inverse-warped layers, border modes, devices."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cinemagraph_core import pipeline
from cinemagraph_core.camera import PRESETS, default_intrinsics, preset_at, preset_path
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.render.advect import FrameTextures, Tracer, flow_fields, jacobian_det
from cinemagraph_core.render.blend import finish_rgb
from cinemagraph_core.render.border import OFFICIAL_CROP, apply_zoom, border_zoom
from cinemagraph_core.render.parallax import FrameCamera, composite
from cinemagraph_core.render.warp_layers import build_warp_layers
from cinemagraph_core.types import Depth, MotionField, RenderSettings

H, W = 96, 128
LOOPING = [name for name in PRESETS if name not in ("up-down", "zoom-in", "side")]


def _noise(seed: int, h: int = H, w: int = W) -> torch.Tensor:
    """Smooth random texture ``(h,w)`` in 0..1 (bilinearly upsampled noise)."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 1, h // 4 + 1, w // 4 + 1, generator=g)
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=True)[0, 0]


def _scene(image: torch.Tensor, depth: torch.Tensor, flow: torch.Tensor, layered: bool = True,
           num_frames: int = 8) -> pipeline.Scene:
    h, w = depth.shape
    config = pipeline.PipelineConfig(num_frames=num_frames, layered=layered)
    return pipeline.prepare_scene(image, depth=Depth(depth=depth, K=default_intrinsics(h, w), source="test"),
                                  flow=flow, config=config)


def _frames(scene, camera: str, amplitude: float = 1.0, num_frames: int = 8, **render) -> torch.Tensor:
    config = pipeline.PipelineConfig(num_frames=num_frames, camera=camera, amplitude=amplitude,
                                     render=RenderSettings(renderer="warp", **render))
    return torch.stack([rgb for _, rgb in pipeline.iter_rgb(pipeline.make_frames(scene, config))])


@pytest.fixture(scope="module")
def planes():
    """A red textured near rectangle (depth 1 to 1.05) in front of a blue-green textured far plane (depth 4).
    (Not one flat depth: the official bins close each cluster's bin below its largest depth.)"""
    depth = torch.full((H, W), 4.0)
    near = (slice(24, 72), slice(40, 88))
    depth[near] = 1.0 + 0.05 * torch.linspace(0.0, 1.0, 48)[None, :]
    t = _noise(1)
    image = torch.stack([0.1 + 0.2 * t, 0.4 + 0.3 * t, 0.7 + 0.3 * t])
    image[0][near] = 0.7 + 0.3 * _noise(2)[near]
    image[1][near] = 0.1 + 0.2 * _noise(3)[near]
    image[2][near] = 0.1
    return _scene(image, depth, torch.zeros(2, H, W)), near


@pytest.fixture(scope="module")
def river():
    """Water (textured, flowing right at 0.7 px/frame) in the lower half; a static red block standing in it."""
    depth = torch.linspace(4.0, 1.5, H)[:, None].expand(H, W).contiguous()
    tex = _noise(5)
    image = torch.stack([0.2 + 0.2 * tex, 0.5 + 0.2 * tex, 0.8 + 0.2 * tex])
    block = (slice(56, 72), slice(30, 42))
    image[:, block[0], block[1]] = torch.tensor([0.9, 0.1, 0.1]).view(3, 1, 1)
    flow = torch.zeros(2, H, W)
    flow[0, 48:] = 0.7
    flow[:, block[0], block[1]] = 0.0
    return _scene(image, depth, flow, layered=False), block


def test_static_camera_frame_zero_is_the_input(river, planes):
    for scene in (river[0], planes[0]):
        first = next(pipeline.iter_rgb(pipeline.make_frames(scene, pipeline.PipelineConfig(num_frames=8,
                                                                                          camera="static")),
                                       indices=[0]))[1]
        assert (first - scene.image).abs().max() < 1e-6


@pytest.mark.parametrize("camera", LOOPING)
def test_frame_n_equals_frame_zero(river, camera):
    """Time 1: the forward copy has weight 0 and the backward copy is at rest; the camera is back at its start."""
    scene, _ = river
    n = 8
    frame0 = _frames(scene, camera, num_frames=n, border="fill")[0]
    layers = build_warp_layers(scene.cloud, scene.motion)
    fwd, bwd = Tracer(layers, -1.0), Tracer(layers, +1.0)
    fwd.advance(n)
    t, k = preset_at(camera, np.array([1.0]))
    pose = np.eye(4)
    pose[:3, 3] = t[0]
    rgba = composite(layers, flow_fields(layers, fwd, bwd, 1.0), FrameCamera(layers.K, pose, float(k[0]), layers.size,
                                                                             layers.device), FrameTextures(layers))
    assert (finish_rgb(rgba) - frame0).abs().max() < 1e-3  # a quarter of one 8-bit level


def test_uniform_flow_is_the_blend_of_the_two_shifted_textures():
    """One plane, one constant flow, static camera: away from the borders every frame is exactly the weighted
    blend of the texture shifted by t M (forward copy) and by -(N - t) M (backward copy)."""
    n, m = 8, torch.tensor([0.6, 0.3])
    image = torch.stack([_noise(7), _noise(8), _noise(9)])
    flow = m.view(2, 1, 1).expand(2, H, W).contiguous()
    scene = _scene(image, torch.full((H, W), 2.0), flow, layered=False, num_frames=n)
    video = _frames(scene, "static", num_frames=n)
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")

    def shifted(dx: float, dy: float) -> torch.Tensor:
        grid = torch.stack([(xs + dx) * 2 / (W - 1) - 1, (ys + dy) * 2 / (H - 1) - 1], -1)[None]
        return F.grid_sample(image[None], grid, align_corners=True)[0]

    inner = (slice(12, H - 12), slice(12, W - 12))
    for t in range(1, n):
        tau = t / n
        fwd = shifted(float(-t * m[0]), float(-t * m[1]))
        bwd = shifted(float((n - t) * m[0]), float((n - t) * m[1]))
        expect = (1 - tau) * fwd + tau * bwd
        assert (video[t][(slice(None),) + inner] - expect[(slice(None),) + inner]).abs().max() < 1e-4, t


def test_fluid_never_drags_static_colour_and_static_content_never_moves(river):
    scene, block = river
    video = _frames(scene, "static", num_frames=8)
    assert torch.equal(video[:, :, block[0], block[1]], scene.image[None, :, block[0], block[1]].expand(8, -1, -1, -1))
    redness = video[:, 0] - video[:, 2]
    away = torch.ones(H, W, dtype=torch.bool)
    away[block[0].start - 2:block[0].stop + 2, block[1].start - 2:block[1].stop + 2] = False
    away[:50] = False
    assert float(redness[:, away].max()) < 0.0  # the water stays blue where the block is not its neighbour
    assert float((video[:, :, 48:] - scene.image[None, :, 48:]).abs().max()) > 0.1  # and it does flow


@pytest.mark.parametrize("camera", ["side-loop", "circle", "zoom-in-loop", "swing"])
def test_near_plane_never_lets_the_far_plane_through_at_three_times_the_amplitude(planes, camera):
    scene, near = planes
    n, amp = 8, 3.0
    video = _frames(scene, camera, amplitude=amp, num_frames=n, border="fill")
    path = preset_path(camera, n, amp)
    f, (cx, cy) = float(max(H, W)), (W // 2, H // 2)
    for t in range(n):
        tx, ty, tz = path.poses[t][:3, 3]
        s = float(path.K_scale[t])
        # a point at depth z maps to u' = c + s (u - c + f t / z) / (1 + t_z / z); the near plane's depths are
        # 1 .. 1.05, so its silhouette holds the intersection of the rectangles at both (2 px in from it)
        def image_of(u: float, c: float, shift: float, first: bool) -> float:
            ends = [c + s * (u - c + f * shift / z) / (1 + tz / z) for z in (1.0, 1.05)]
            return max(ends) if first else min(ends)

        x0, x1 = image_of(near[1].start, cx, tx, True), image_of(near[1].stop - 1, cx, tx, False)
        y0, y1 = image_of(near[0].start, cy, ty, True), image_of(near[0].stop - 1, cy, ty, False)
        rows = slice(max(int(np.ceil(y0)) + 2, 0), min(int(np.floor(y1)) - 1, H))
        cols = slice(max(int(np.ceil(x0)) + 2, 0), min(int(np.floor(x1)) - 1, W))
        inside = video[t][:, rows, cols]
        assert inside.numel() > 0
        assert float((inside[0] - inside[2]).min()) > 0.3, (camera, t)  # red everywhere, never the far blue


def test_border_modes(planes):
    scene, _ = planes
    camera = preset_path("circle", 8)
    assert border_zoom(scene.cloud, preset_path("static", 8)) == 1.0
    zoom = border_zoom(scene.cloud, camera)
    assert 1.0 < zoom < 1.5
    layers = build_warp_layers(scene.cloud, scene.motion)
    textures = FrameTextures(layers)
    still = [None] * layers.num_layers

    def border_coverage(z: float) -> float:
        """The least coverage of the frame's outer 2-px band over the path, zoomed by z."""
        cam = apply_zoom(camera, z)
        worst = 1.0
        for t in range(8):
            cov = composite(layers, still, FrameCamera(layers.K, cam.poses[t], float(cam.K_scale[t]), layers.size,
                                                       layers.device), textures)[3]
            band = torch.cat([cov[:2].flatten(), cov[-2:].flatten(), cov[:, :2].flatten(), cov[:, -2:].flatten()])
            worst = min(worst, float(band.min()))
        return worst

    assert border_coverage(zoom) > 0.99  # the camera uncovers nothing at the border
    assert border_coverage(zoom - 0.03) < 0.5  # and it is the smallest such zoom
    assert tuple(_frames(scene, "circle", border="crop").shape[2:]) == (H - 2 * OFFICIAL_CROP, W - 2 * OFFICIAL_CROP)
    assert tuple(_frames(scene, "circle", border="crop", crop=5).shape[2:]) == (H - 10, W - 10)
    assert tuple(_frames(scene, "circle", border="fill").shape[2:]) == (H, W)
    zoomed, filled = _frames(scene, "circle"), _frames(scene, "circle", border="fill")
    assert zoomed.shape == filled.shape and not torch.equal(zoomed, filled)


def test_forward_only_and_deterministic(river):
    scene, _ = river
    sym = _frames(scene, "swing")
    again = _frames(scene, "swing")
    naive = _frames(scene, "swing", symmetric=False)
    assert torch.equal(sym, again)
    assert torch.equal(sym[0], naive[0]) and not torch.equal(sym[4], naive[4])


def test_jacobian_of_a_uniform_stretch():
    ys, xs = torch.meshgrid(torch.arange(5.0), torch.arange(7.0), indexing="ij")
    grid = torch.stack([1.5 * xs, 0.5 * ys], -1)[None]
    assert torch.allclose(jacobian_det(grid), torch.full((1, 1, 5, 7), 0.75))


def test_bad_inputs_are_refused(river):
    scene, _ = river
    with pytest.raises(CinemagraphError, match="motion field"):
        build_warp_layers(scene.cloud, MotionField(torch.zeros(2, 10, 10)))
    layers = build_warp_layers(scene.cloud, scene.motion)
    with pytest.raises(CinemagraphError, match="pose"):
        FrameCamera(layers.K, np.full((4, 4), np.nan), 1.0, layers.size, layers.device)
    with pytest.raises(CinemagraphError, match="focal scale"):
        FrameCamera(layers.K, np.eye(4), 0.0, layers.size, layers.device)
    with pytest.raises(CinemagraphError, match="border must be one of"):
        _frames(scene, "circle", border="mirror")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_and_cpu_agree(planes, river):
    for scene in (planes[0], river[0]):
        config = pipeline.PipelineConfig(num_frames=8, camera="circle", render=RenderSettings(renderer="warp"))
        frames = pipeline.make_frames(scene, config)
        cpu = torch.stack([rgb for _, rgb in pipeline.iter_rgb(frames, device="cpu")])
        gpu = torch.stack([rgb for _, rgb in pipeline.iter_rgb(frames, device="cuda")])
        assert gpu.device.type == "cpu" and (cpu - gpu).abs().max() < 1e-3

