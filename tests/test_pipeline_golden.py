"""The full learned pipeline against the official demo's outputs (pipeline_setup, pipeline_frames_*).

Weights: the recipe checkpoints of the golden set's seed, in the official formats, found and loaded
through ``model_files.load_models`` exactly as a user's files would be. Every parameter (sigma, flow
scale, motion size, camera path, frame count, frame indices, crop) is read from the golden files.
"""
from dataclasses import replace

import numpy as np
import pytest
import torch

import golden
from cinemagraph_core import pipeline
from cinemagraph_core.camera import official_camera
from cinemagraph_core.model_files import load_models
from cinemagraph_core.motion.hints import make_hints, parse_labelme
from cinemagraph_core.types import Depth, RenderSettings

PATHS = ("up-down", "zoom-in", "side", "circle")


@pytest.fixture(scope="module")
def learned():
    setup = golden.load("pipeline_setup")
    models = load_models(golden.recipe_weights(golden.weights_seed("pipeline_setup")))
    assert None not in (models.motion, models.feature_net, models.img_decoder, models.inpainter)
    image = torch.from_numpy(setup["image_uint8"]).permute(2, 0, 1).float() / 255.0
    h, w = image.shape[1:]
    arrows, _ = parse_labelme(str(setup["image_json"]), size=(h, w))
    mask = torch.from_numpy((setup["mask_png"] != 0).astype(np.float32))
    hints = make_hints(mask, arrows, sigma=float(setup["sigma"]), size=(h, w))
    depth = Depth(depth=torch.from_numpy(setup["src_depth"][0, 0]), K=torch.from_numpy(setup["intrinsic"][0]),
                  source="golden")
    assert not bool(setup["vary_pts_radius"]) and int(setup["ds_factor"]) == 1
    config = pipeline.PipelineConfig(speed=float(setup["flow_scale"]), motion_size=int(setup["motion_size"]),
                                     motion="learned", inpaint="learned", features="learned", decoder="learned",
                                     render=replace(RenderSettings(), crop=0, border="fill"), faithful=True)
    scene = pipeline.prepare_scene(image, depth=depth, hints=hints, config=config, models=models)
    return scene, config, models


def stored_camera(ref: dict):
    """The camera path a ``pipeline_frames_*`` file was rendered with, from its stored parameters."""
    assert not bool(ref["vary_pts_radius"])
    camera = official_camera(int(ref["num_frames"]), ref["xyz"], str(ref["path_type"]))
    assert camera.num_frames == int(ref["num_frames"]), "an official circle with an extra pose (SPEC k)"
    return camera


def test_setup_matches_the_official_demo(learned):
    scene, _, _ = learned
    assert scene.stages == {"depth": "golden", "motion": "learned", "inpaint": "learned", "features": "learned"}
    golden.assert_matches("pipeline_setup", "flow", scene.motion.flow[None])
    golden.assert_matches("pipeline_setup", "depth_bins", scene.ldi.bins)
    golden.assert_matches("pipeline_setup", "rgba_layers_src", scene.ldi.rgba[:, None])
    golden.assert_matches("pipeline_setup", "mask_layers_src", scene.ldi.mask[:, None])
    golden.assert_matches("pipeline_setup", "featmaps_src", scene.features.maps)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("path", PATHS)
def test_frames_match_the_official_demo(learned, path, backend):
    scene, config, models = learned
    ref = golden.load(f"pipeline_frames_{path}")
    camera = stored_camera(ref)
    config = replace(config, num_frames=camera.num_frames, render=replace(config.render, backend=backend))
    frames = pipeline.make_frames(scene, config, camera)
    decoder = pipeline.decoder_for(frames, config.decoder, models.img_decoder)
    indices = [int(t) for t in ref["frame_indices"]]
    assert np.allclose(camera.poses[indices, :3, 3], ref["camera_t"], atol=1e-6)
    assert np.allclose(np.asarray(indices) / camera.num_frames, ref["times"], atol=1e-7)
    rgb = torch.stack([x for _, x in pipeline.iter_rgb(frames, decoder, indices=indices)])
    golden.assert_matches(f"pipeline_frames_{path}", "pred_rgb", rgb)
    c = int(ref["crop"])
    uint8 = (rgb.permute(0, 2, 3, 1) * 255).to(torch.uint8)[:, c:-c, c:-c]
    golden.assert_matches(f"pipeline_frames_{path}", "frames_uint8_cropped", uint8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_learned_chain_on_cuda_matches_the_official_demo(learned):
    """Nets, per-frame lifting, torch-ops splatting (backend auto) and the decoder on the GPU."""
    scene, config, _ = learned
    models = load_models(golden.recipe_weights(golden.weights_seed("pipeline_setup")), "cuda")
    ref = golden.load("pipeline_frames_circle")
    camera = stored_camera(ref)
    config = replace(config, num_frames=camera.num_frames, render=replace(config.render, backend="auto"))
    frames = pipeline.make_frames(scene, config, camera)
    indices = [int(t) for t in ref["frame_indices"]]
    decoder = pipeline.decoder_for(frames, config.decoder, models.img_decoder)
    rgb = torch.stack([x for _, x in pipeline.iter_rgb(frames, decoder,
                                                       indices=indices, device="cuda")])
    assert rgb.device.type == "cpu"
    golden.assert_matches("pipeline_frames_circle", "pred_rgb", rgb)
