"""Speed and memory of the weight-free pipeline on the procedural demo scene.

    python benchmarks/bench_pipeline.py [--sizes 512 768] [--frames 60] [--threads 2]

Prints, per size: seconds per stage, render frames/s, end-to-end seconds after depth, per-frame seconds
end to end after depth, and peak memory (each size runs in its own process so peaks do not mix).
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


def run_one(size: int, frames: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from cinemagraph_core import pipeline
    from cinemagraph_core.demo_scene import make_demo_scene
    from cinemagraph_core.depth.prior import prior_depth
    from cinemagraph_core.layers.inpaint import ClassicalInpainter
    from cinemagraph_core.layers.ldi import build_ldi
    from cinemagraph_core.models import Models
    from cinemagraph_core.motion.hints import make_hints
    from cinemagraph_core.points import build_point_cloud

    scene = make_demo_scene(size, aspect=1.0)
    h, w = scene.mask.shape
    config = pipeline.PipelineConfig(num_frames=frames)
    stages = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        stages[name] = time.perf_counter() - t
        return out

    timed("depth prior (not counted)", lambda: prior_depth(scene.image))
    t0 = time.perf_counter()
    hints = make_hints(scene.mask, scene.arrows, sigma=None, size=(h, w))
    motion = timed("motion", lambda: pipeline.resolve_motion(scene.image, hints, None, config, Models()))
    ldi = timed("ldi", lambda: build_ldi(scene.image, scene.depth.depth, ClassicalInpainter()))
    features = timed("features", lambda: pipeline.resolve_features(ldi, config, Models()))
    cloud = timed("point cloud", lambda: build_point_cloud(ldi, features, scene.depth.K))
    prepared = pipeline.Scene(image=scene.image, depth=scene.depth, motion=motion, ldi=ldi, features=features,
                              cloud=cloud, stages={})
    rendered = pipeline.make_frames(prepared, config)
    t1 = time.perf_counter()
    n = sum(1 for _ in pipeline.iter_rgb(rendered))
    t2 = time.perf_counter()
    stages["render (all frames)"] = t2 - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"size": f"{w}x{h}", "frames": n, "layers": ldi.num_layers,
            "points": sum(int(p.numel()) for p in cloud.pixels), "stages_s": stages,
            "render_fps": n / (t2 - t1), "end_to_end_after_depth_s": t2 - t0,
            "per_frame_after_depth_s": (t2 - t0) / n, "peak_rss_mb": peak_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 768], help="side of the square demo scene, px")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one is not None:
        print(json.dumps(run_one(a.one, a.frames, a.threads)))
        return
    for size in a.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--frames", str(a.frames),
                              "--threads", str(a.threads)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n== demo scene {r['size']}, {r['frames']} frames, {r['layers']} layers, {r['points']:,} points, "
              f"{a.threads} threads")
        for name, s in r["stages_s"].items():
            print(f"  {name:28s} {s:8.3f} s")
        print(f"  render frames/s              {r['render_fps']:8.2f}")
        print(f"  end to end after depth       {r['end_to_end_after_depth_s']:8.2f} s "
              f"({r['per_frame_after_depth_s']:.3f} s/frame)")
        print(f"  peak memory (RSS)            {r['peak_rss_mb']:8.0f} MB")


if __name__ == "__main__":
    main()
