"""The whole weight-free chain: loops without a seam, no empty pixels, determinism, variants, errors."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from cinemagraph_core import pipeline
from cinemagraph_core.camera import PRESETS, preset_at
from cinemagraph_core.demo_scene import make_demo_scene
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion.euler import euler_integrate
from cinemagraph_core.motion.hints import make_hints
from cinemagraph_core.points import lift
from cinemagraph_core.render.advect import FrameTextures, Tracer, flow_fields
from cinemagraph_core.render.blend import blend_sides, finish_rgb
from cinemagraph_core.render.border import effective_crop, zoom_for
from cinemagraph_core.render.parallax import FrameCamera, composite
from cinemagraph_core.render.view import render_sides
from cinemagraph_core.render.warp_layers import build_warp_layers
from cinemagraph_core.types import RenderSettings

N = 8


@pytest.fixture(scope="module")
def demo():
    scene = make_demo_scene(160)
    hints = make_hints(scene.mask, scene.arrows, size=tuple(scene.mask.shape))
    return scene, hints


@pytest.fixture(scope="module")
def prepared(demo):
    scene, hints = demo
    return pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints,
                                  config=pipeline.PipelineConfig(num_frames=N))


def frames_of(prepared, config):
    rendered = pipeline.make_frames(prepared, config)
    return torch.stack([rgb for _, rgb in pipeline.iter_rgb(rendered)])


def wrap_frame(prepared, config):
    """Frame N (time 1) of the renderer ``config`` picks: the forward copy moved N steps (weight 0), the
    backward copy at rest, the camera at phase 1 (with the border zoom of the video)."""
    settings = pipeline.render_settings_for(config.render)
    t, k = preset_at(config.camera, np.array([1.0]), config.amplitude)
    pose = np.eye(4)
    pose[:3, 3] = t[0]
    zoom = zoom_for(settings, prepared.cloud, pipeline.make_camera(config.camera, N, config.amplitude))
    if settings.renderer == "warp":
        layers = build_warp_layers(prepared.cloud, prepared.motion)
        fwd, bwd = Tracer(layers, -1.0), Tracer(layers, +1.0)
        fwd.advance(N)
        camera = FrameCamera(layers.K, pose, float(k[0]) * zoom, layers.size, layers.device)
        rgba = composite(layers, flow_fields(layers, fwd, bwd, 1.0), camera, FrameTextures(layers))
        return finish_rgb(rgba, settings.fill_holes, effective_crop(settings))
    cloud, flow = prepared.cloud, prepared.motion.flow
    fwd = lift(cloud, euler_integrate(flow, N)[0])
    bwd = lift(cloud, torch.zeros_like(flow))
    maps = render_sides(fwd, bwd, cloud.K, torch.as_tensor(pose), 1.0, settings, K_scale=float(k[0]) * zoom)
    return finish_rgb(blend_sides(maps, settings.depth_sharpness), settings.fill_holes, effective_crop(settings))


def test_demo_scene_is_deterministic_and_consistent():
    a, b = make_demo_scene(96), make_demo_scene(96)
    assert torch.equal(a.image, b.image) and torch.equal(a.depth.depth, b.depth.depth)
    h, w = a.mask.shape
    assert a.image.shape == (3, h, w) and h % 16 == 0 and w % 16 == 0
    assert float(a.depth.depth.min()) == 1.0 and torch.isfinite(a.depth.depth).all()
    assert 0.02 < float(a.mask.mean()) < 0.5
    for x0, y0, x1, y1 in a.arrows:
        assert a.mask[int(y0), int(x0)] == 1 and (x1, y1) != (x0, y0)


def test_scene_reports_the_weight_free_path(prepared):
    assert prepared.stages == {"depth": "demo", "motion": "hints", "inpaint": "classical", "features": "rgba"}
    assert prepared.ldi.num_layers >= 2
    assert float(prepared.motion.flow.abs().max()) > 0.1


@pytest.mark.parametrize("renderer", ["warp", "splat"])
@pytest.mark.parametrize("camera", [name for name in PRESETS if name not in ("up-down", "zoom-in", "side")])
def test_looping_video_has_no_seam_and_no_empty_pixels(prepared, camera, renderer):
    config = pipeline.PipelineConfig(num_frames=N, camera=camera, render=RenderSettings(renderer=renderer))
    video = frames_of(prepared, config)
    h, w = prepared.cloud.size
    assert video.shape == (N, 3, h, w)
    assert torch.isfinite(video).all() and video.min() >= 0 and video.max() <= 1
    assert (video.amax(dim=1) > 1 / 255).all(), "a pixel is empty (black)"
    last_to_first = (wrap_frame(prepared, config) - video[0]).abs().max()
    assert last_to_first <= 1 / 255, f"frame N differs from frame 0 by {float(last_to_first):.4f}"
    # Steps are largest next to the wrap (one sharp copy dominates there) and smallest mid-loop, so the
    # wrap step is compared with the steps beside it, the largest ones of the loop.
    steps = (video[1:] - video[:-1]).abs().mean(dim=(1, 2, 3))
    wrap = (video[0] - video[-1]).abs().mean()
    assert wrap <= 1.2 * steps.max(), f"wrap step {float(wrap):.5f} vs steps {steps.tolist()}"


def test_rendering_is_deterministic(prepared):
    config = pipeline.PipelineConfig(num_frames=N, camera="swing")
    assert torch.equal(frames_of(prepared, config), frames_of(prepared, config))


def test_frame_zero_is_the_source_view_when_the_camera_rests(prepared):
    config = pipeline.PipelineConfig(num_frames=N, camera="static")
    first = next(pipeline.iter_rgb(pipeline.make_frames(prepared, config), indices=[0]))[1]
    assert (first - prepared.image).abs().mean() < 0.03


def test_render_settings_for_picks_the_renderer_and_the_compositing(caplog):
    learned = object()  # any decoder object: only None (the weight-free blend) is special
    pick = pipeline.render_settings_for
    assert (pick(RenderSettings()).renderer, pick(RenderSettings()).compositing) == ("warp", "surface")
    assert (pick(RenderSettings(), learned).renderer, pick(RenderSettings(), learned).compositing) == ("splat",
                                                                                                        "official")
    assert pick(RenderSettings(renderer="splat")).renderer == "splat"
    assert pick(RenderSettings(compositing="official")).compositing == "official"
    assert (pick(RenderSettings(backend="pytorch3d")).renderer, pick(RenderSettings(backend="pytorch3d")).compositing
            ) == ("splat", "official")
    with caplog.at_level("WARNING", logger="cinemagraph"):
        assert pick(RenderSettings(compositing="surface"), learned).compositing == "official"
        assert pick(RenderSettings(renderer="warp"), learned).renderer == "splat"
    assert "learned image decoder" in caplog.text and "renderer 'warp'" in caplog.text
    keep = RenderSettings(compositing="surface", radius_px=2.0, renderer="warp")
    assert pick(keep) == keep
    with pytest.raises(CinemagraphError, match="not by pytorch3d"):
        pick(RenderSettings(compositing="surface", backend="pytorch3d"))


def test_weight_free_frame_zero_reproduces_the_nearest_layer(prepared):
    """At the source view, t = 0, the surface splats give back the input wherever layer 0 is visible;
    the official splats (still selectable) are shifted and blurred."""
    layer0 = prepared.ldi.rgba[0, 3] > 0.5
    errors = {}
    for mode in ("auto", "official"):
        config = pipeline.PipelineConfig(num_frames=N, camera="static",
                                         render=RenderSettings(compositing=mode, renderer="splat"))
        first = next(pipeline.iter_rgb(pipeline.make_frames(prepared, config), indices=[0]))[1]
        errors[mode] = (first - prepared.image).abs()
    assert errors["auto"][:, layer0].max() < 1e-5
    assert errors["official"][:, layer0].max() > 0.05
    assert errors["auto"].mean() < 0.5 * errors["official"].mean()


def test_weight_free_frame_zero_is_the_input_with_the_kept_pixels(demo, prepared):
    """The weight-free LDI keeps the visible pixels along layer boundaries (the last row and column too), so
    at the source view, t = 0, the warp renderer gives every pixel back; the official layering
    (keep_visible=False) repaints a band there."""
    scene, hints = demo
    config = pipeline.PipelineConfig(num_frames=N, camera="static")
    official = pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints,
                                      config=replace(config, keep_visible=False))
    errors = {}
    for name, ready in (("kept", prepared), ("official", official)):
        first = next(pipeline.iter_rgb(pipeline.make_frames(ready, config), indices=[0]))[1]
        errors[name] = (first - scene.image).abs()
    assert errors["kept"].max() < 1e-6
    assert errors["official"].max() > 0.1
    assert bool((prepared.ldi.mask >= official.ldi.mask).all()) and prepared.ldi.mask.sum() > official.ldi.mask.sum()


def test_faithful_keeps_the_official_layering(demo, prepared):
    scene, hints = demo
    faithful = pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints,
                                      config=pipeline.PipelineConfig(num_frames=N, faithful=True))
    both = pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints,
                                  config=pipeline.PipelineConfig(num_frames=N, faithful=True, keep_visible=False))
    assert torch.equal(faithful.ldi.rgba, both.ldi.rgba) and torch.equal(faithful.ldi.mask, both.ldi.mask)
    assert not torch.equal(faithful.ldi.rgba, prepared.ldi.rgba)


def test_variants_naive_forward_only_and_crop(demo):
    scene, hints = demo
    config = pipeline.PipelineConfig(num_frames=4, layered=False, inpaint="none",
                                     render=replace(RenderSettings(), symmetric=False, crop=8))
    prepared = pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints, config=config)
    assert prepared.ldi.num_layers == 1 and prepared.stages["inpaint"] == "single-layer"
    video = frames_of(prepared, config)
    h, w = prepared.cloud.size
    assert video.shape == (4, 3, h - 16, w - 16)


def test_explicit_flow_is_used_as_given(demo):
    scene, _ = demo
    h, w = scene.mask.shape
    flow = torch.zeros(2, h, w)
    flow[0] = 0.5
    prepared = pipeline.prepare_scene(scene.image, depth=scene.depth, flow=flow,
                                      config=pipeline.PipelineConfig(num_frames=4, speed=2.0))
    assert prepared.motion.source == "explicit"
    assert torch.allclose(prepared.motion.flow, flow / 2)


def test_render_video_runs_the_whole_chain_from_a_depth_map(demo):
    scene, hints = demo
    disparity = 1.0 / scene.depth.depth
    frames = list(pipeline.render_video(scene.image, depth=disparity, hints=hints,
                                        config=pipeline.PipelineConfig(num_frames=3)))
    assert [t for t, _ in frames] == [0, 1, 2]


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_frames=0), "num_frames"),
    (dict(fps=0), "fps"),
    (dict(speed=-1), "speed"),
    (dict(inpaint="magic"), "inpaint must be one of auto, classical, learned, none, got 'magic'"),
    (dict(features="magic"), "features must be one of auto, rgba, learned"),
    (dict(motion="magic"), "motion must be one of auto, hints, learned"),
    (dict(decoder="magic"), "decoder must be one of auto, blend, learned"),
    (dict(depth_kind="inverse"), "depth_kind must be one of disparity, depth, metric"),
    (dict(max_side=4), "max_side"),
    (dict(motion_size=0), "motion_size"),
    (dict(keep_visible="yes"), "keep_visible"),
])
def test_bad_configuration_is_refused(kwargs, message):
    with pytest.raises(CinemagraphError, match=message):
        pipeline.PipelineConfig(**kwargs).validate()


def test_resolvers_take_the_choice_and_the_network(prepared):
    """Each resolver gets its stage's choice and loaded network (None = no file): 'auto' = the network when
    there is one, 'learned' without it names the files it needs."""
    net = object()
    assert pipeline.resolve_inpainter("none", net).name == "none"
    assert pipeline.resolve_inpainter("auto").name == "classical" and pipeline.resolve_inpainter("auto", net) is net
    assert pipeline.resolve_inpainter("classical", net).name == "classical"
    with pytest.raises(CinemagraphError, match=r"inpaint='learned' needs depth-model.pth \(.*\) and color-model.pth"):
        pipeline.resolve_inpainter("learned")
    assert pipeline.resolve_features(prepared.ldi, "auto").source == "rgba"
    with pytest.raises(CinemagraphError, match=r"features='learned' needs model_150000.pth \(ResUNet feature"):
        pipeline.resolve_features(prepared.ldi, "learned")
    rgba = pipeline.make_frames(prepared, pipeline.PipelineConfig(num_frames=2))
    cloud = rgba.animation.cloud
    learned = replace(rgba, animation=replace(rgba.animation, cloud=replace(
        cloud, attrs=[torch.cat([a, torch.zeros(len(a), 32)], 1) for a in cloud.attrs])))
    assert pipeline.decoder_for(rgba, "auto", net) is None and pipeline.decoder_for(rgba, "blend", net) is None
    assert pipeline.decoder_for(learned, "auto", net) is net and pipeline.decoder_for(learned, "auto") is None
    with pytest.raises(CinemagraphError, match="needs points with learned features"):
        pipeline.decoder_for(rgba, "learned", net)
    with pytest.raises(CinemagraphError, match=r"decoder='learned' needs model_150000.pth \(image decoder\)"):
        pipeline.decoder_for(learned, "learned")


def test_bad_inputs_are_refused_clearly(demo, prepared):
    scene, hints = demo
    with pytest.raises(CinemagraphError, match="nothing to animate.*draw the motion yourself"):
        pipeline.prepare_scene(torch.full_like(scene.image, 0.5), depth=scene.depth)
    with pytest.raises(CinemagraphError, match="depth is"):
        small = make_demo_scene(96)
        pipeline.prepare_scene(scene.image, depth=small.depth, hints=hints)
    with pytest.raises(CinemagraphError, match="camera|preset"):
        pipeline.make_frames(prepared, pipeline.PipelineConfig(num_frames=N, camera="spiral"))
    with pytest.raises(CinemagraphError, match="learned"):
        pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints,
                               config=pipeline.PipelineConfig(num_frames=N, inpaint="learned"))
    with pytest.raises(CinemagraphError, match="0..7"):
        list(pipeline.iter_rgb(pipeline.make_frames(prepared, pipeline.PipelineConfig(num_frames=N)), indices=[8]))


def test_no_hints_and_no_flow_propose_the_motion(demo):
    """Without hints or a flow the motion is proposed from the image (with its depth): the demo's river and sky."""
    scene, hints = demo
    ready = pipeline.prepare_scene(scene.image, depth=scene.depth, config=pipeline.PipelineConfig(num_frames=N))
    assert ready.stages["motion"] == "proposed" and ready.proposal is not None
    moving = ready.motion.flow.norm(dim=0) > 0
    river = scene.mask > 0.5
    assert float((moving & river).sum()) > 0.7 * float(river.sum()), "the river moves (its far end stays)"
    speed = ready.motion.flow.norm(dim=0)
    rows = [y for y in range(speed.shape[0]) if bool(river[y].any())]
    assert float(speed[rows[-1]][river[rows[-1]]].mean()) > 2 * float(speed[rows[len(rows) // 2]][river[rows[len(rows) // 2]]].mean()), \
        "the river comes towards the viewer: faster near"
    assert {r.kind for r in ready.proposal.regions} >= {"clouds"}


def test_fit_image_bounds_the_working_resolution():
    image = torch.rand(3, 300, 500)
    out = pipeline.fit_image(image, 250, multiple=16)
    assert out.shape == (3, 144, 240)
    assert pipeline.fit_image(image, 600) is image
