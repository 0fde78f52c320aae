"""Speed and memory of the pipeline on the procedural demo scene, per size and renderer or splatter.

    python benchmarks/bench_pipeline.py [--sizes 512 768 1280x720] [--frames 30] [--renderers warp splat]
                                        [--camera circle] [--threads 2] [--device cpu|cuda] [--json]
    python benchmarks/bench_pipeline.py --learned [--backends numpy torch] [--sizes 256] [--frames 4] ...

Weight-free (default): each (size, renderer) runs in its own process (so memory peaks do not mix) and
reports the seconds of every stage after depth, the render frames/s, ``s_per_frame`` = end to end after
depth / frames (motion, LDI, features, point cloud and every frame rendered to RGB) and the peak RSS.
``--json`` prints one JSON line per run: size, renderer, device, frames, s_per_frame, peak_rss_mb,
stages_s...

``--learned``: the learned chain (motion net, learned inpainting, feature net, official splats, image
decoder) on the recipe checkpoints the tests generate (``tests/golden.py``, cached in
``tests/.cache``), one process per (size, splat backend), everything on ``--device``. It reports
``prepare_s`` (motion, LDI, features, points; the depth is the scene's own), ``s_per_frame`` (every
frame lifted, splatted and decoded, / frames) and ``splat_s_per_frame`` (the splatting alone).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see cinemagraph_core/__main__.py

from cinemagraph_core.choices import BACKENDS, RENDERERS, concrete  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    """'512' -> (512, 512); '1280x720' -> (1280, 720) (width, height)."""
    w, _, h = text.lower().partition("x")
    return int(w), int(h or w)


def run_one(size: str, renderer: str, frames: int, threads: int, camera: str, device: str) -> dict:
    import torch

    torch.set_num_threads(threads)
    from dataclasses import replace

    from cinemagraph_core import pipeline
    from cinemagraph_core.demo_scene import make_demo_scene
    from cinemagraph_core.depth.prior import prior_depth
    from cinemagraph_core.layers.inpaint import ClassicalInpainter
    from cinemagraph_core.layers.ldi import build_ldi
    from cinemagraph_core.motion.hints import make_hints
    from cinemagraph_core.points import build_point_cloud
    from cinemagraph_core.types import RenderSettings

    w, h = parse_size(size)
    scene = make_demo_scene(w, aspect=h / w)
    h, w = scene.mask.shape
    config = pipeline.PipelineConfig(num_frames=frames, camera=camera,
                                     render=replace(RenderSettings(), renderer=renderer))
    stages = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        stages[name] = time.perf_counter() - t
        return out

    prior_depth(scene.image)  # warm-up of the libraries; depth itself is not counted
    t0 = time.perf_counter()
    hints = make_hints(scene.mask, scene.arrows, sigma=None, size=(h, w))
    motion = timed("motion", lambda: pipeline.resolve_motion(scene.image, hints, None, "hints", speed=config.speed))
    ldi = timed("ldi", lambda: build_ldi(scene.image, scene.depth.depth, ClassicalInpainter()))
    features = timed("features", lambda: pipeline.resolve_features(ldi, config.features))
    cloud = timed("point cloud", lambda: build_point_cloud(ldi, features, scene.depth.K))
    prepared = pipeline.Scene(image=scene.image, depth=scene.depth, motion=motion, ldi=ldi, features=features,
                              cloud=cloud, stages={})
    rendered = pipeline.make_frames(prepared, config)
    t1 = time.perf_counter()
    n = sum(1 for _ in pipeline.iter_rgb(rendered, device=device))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    stages["render (all frames)"] = t2 - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"size": f"{w}x{h}", "renderer": renderer, "device": device, "camera": camera, "frames": n,
            "threads": threads, "layers": ldi.num_layers, "points": sum(int(p.numel()) for p in cloud.pixels),
            "stages_s": stages, "render_fps": n / (t2 - t1), "end_to_end_after_depth_s": t2 - t0,
            "s_per_frame": (t2 - t0) / n, "peak_rss_mb": peak_mb}


def run_learned(size: str, backend: str, frames: int, threads: int, camera: str, device: str) -> dict:
    """The learned chain on the recipe weights with splat ``backend``, on ``device``."""
    import torch

    torch.set_num_threads(threads)
    from dataclasses import replace

    from cinemagraph_core import pipeline
    from cinemagraph_core.demo_scene import make_demo_scene
    from cinemagraph_core.model_files import load_models
    from cinemagraph_core.motion.hints import make_hints
    from cinemagraph_core.render import splat as numpy_splat
    from cinemagraph_core.render import splat_torch
    from cinemagraph_core.types import RenderSettings

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import golden

    models = load_models(golden.recipe_weights(golden.weights_seed("pipeline_setup")), device)
    w, h = parse_size(size)
    scene = make_demo_scene(w, aspect=h / w)
    h, w = scene.mask.shape
    config = pipeline.PipelineConfig(num_frames=frames, camera=camera, motion="learned", inpaint="learned",
                                     features="learned", decoder="learned",
                                     render=replace(RenderSettings(), backend=backend))
    hints = make_hints(scene.mask, scene.arrows, sigma=None, size=(h, w))
    t0 = time.perf_counter()
    prepared = pipeline.prepare_scene(scene.image, depth=scene.depth, hints=hints, config=config, models=models)
    t1 = time.perf_counter()
    splat_s = [0.0]

    def timed(fn):
        def run(*args, **kwargs):
            t = time.perf_counter()
            out = fn(*args, **kwargs)
            if out.is_cuda:
                torch.cuda.synchronize()
            splat_s[0] += time.perf_counter() - t
            return out
        return run

    numpy_splat.splat, splat_torch.splat = timed(numpy_splat.splat), timed(splat_torch.splat)
    rendered = pipeline.make_frames(prepared, config)
    decoder = pipeline.decoder_for(rendered, config.decoder, models.img_decoder)
    t2 = time.perf_counter()
    n = sum(1 for _ in pipeline.iter_rgb(rendered, decoder, device=device))
    t3 = time.perf_counter()
    return {"backend": backend, "device": device, "size": f"{w}x{h}", "frames": n, "threads": threads,
            "points": sum(int(p.numel()) for p in prepared.cloud.pixels), "prepare_s": t1 - t0,
            "s_per_frame": (t3 - t2) / n, "splat_s_per_frame": splat_s[0] / n,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["512", "768"],
                    help="square side (512) or WIDTHxHEIGHT (1280x720) of the demo scene, px")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--renderers", nargs="+", default=list(concrete(RENDERERS)), choices=concrete(RENDERERS))
    ap.add_argument("--camera", default="circle", help="camera preset (default circle)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where the renderer (and with --learned the nets) work: cpu or cuda")
    ap.add_argument("--learned", action="store_true", help="the learned chain on the recipe weights, per --backends")
    ap.add_argument("--backends", nargs="+", default=["numpy", "torch"], choices=concrete(BACKENDS),
                    help="splat backends of --learned")
    ap.add_argument("--json", action="store_true", help="one JSON line per (size, renderer or backend)")
    ap.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one is not None:
        run = run_learned if a.learned else run_one
        print(json.dumps(run(a.one[0], a.one[1], a.frames, a.threads, a.camera, a.device)))
        return
    for size in a.sizes:
        for variant in (a.backends if a.learned else a.renderers):
            out = subprocess.run([sys.executable, __file__, "--one", size, variant, "--frames", str(a.frames),
                                  "--threads", str(a.threads), "--camera", a.camera, "--device", a.device]
                                 + (["--learned"] if a.learned else []), capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"benchmark {size} {variant} failed:\n{out.stderr[-4000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if a.json:
                print(json.dumps(r), flush=True)
                continue
            if a.learned:
                print(f"learned chain {r['size']}, splat backend {variant} on {r['device']}, {r['frames']} frames, "
                      f"{r['points']:,} points: prepare {r['prepare_s']:.2f} s, {r['s_per_frame']:.3f} s/frame "
                      f"(splatting {r['splat_s_per_frame']:.3f}), peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
                continue
            renderer = variant
            print(f"\n== demo scene {r['size']}, renderer {renderer} on {r['device']}, camera {r['camera']}, "
                  f"{r['frames']} frames, {r['layers']} layers, {r['points']:,} points, {a.threads} threads")
            for name, s in r["stages_s"].items():
                print(f"  {name:28s} {s:8.3f} s")
            print(f"  render frames/s              {r['render_fps']:8.2f}")
            print(f"  end to end after depth       {r['end_to_end_after_depth_s']:8.2f} s "
                  f"({r['s_per_frame']:.3f} s/frame)")
            print(f"  peak memory (RSS)            {r['peak_rss_mb']:8.0f} MB", flush=True)


if __name__ == "__main__":
    main()
