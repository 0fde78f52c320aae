"""Throughput of the batch command: items/hour of each engine on the same items.

    python benchmarks/bench_batch.py [--items 8] [--size 256] [--frames 24] [--engines workers1 workers2 ray]
                                     [--ray-cpus 2] [--json]

The items are the procedural demo scene, square, ``--size`` px (image, mask, arrows; weight-free, depth
from the prior), every other one mirrored, written as a folder with sidecar files. Each engine makes them into a fresh output
folder with ``run_batch``; the time includes starting the workers (process spawn, or Ray itself for
``ray``). ``--json`` prints one JSON line per engine: engine, items, size, frames, seconds, items_per_hour,
item_s (mean seconds of one item in its worker) and its load / prepare / render split (render: every
frame rendered and encoded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see cinemagraph_core/__main__.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENGINES = {"workers1": {"workers": 1}, "workers2": {"workers": 2}, "ray": {"ray": "local"}}


def make_items(folder: Path, count: int, size: int) -> None:
    """``count`` square ``size`` px images of the demo scene (every other one mirrored) with mask and arrows."""
    import numpy as np
    from PIL import Image

    from cinemagraph_core.demo_scene import make_demo_scene

    scene = make_demo_scene(size, aspect=1.0)
    rgb = (scene.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    mask = (scene.mask.numpy() * 255).astype(np.uint8)
    w = rgb.shape[1]
    for i in range(count):
        mirrored = i % 2 == 1
        arrows = [[w - x0, y0, w - x1, y1] if mirrored else [x0, y0, x1, y1] for x0, y0, x1, y1 in scene.arrows]
        Image.fromarray(rgb[:, ::-1] if mirrored else rgb).save(folder / f"item{i}.png")
        Image.fromarray(mask[:, ::-1] if mirrored else mask).save(folder / f"item{i}.mask.png")
        (folder / f"item{i}.hints.json").write_text(json.dumps(arrows))


def run_engine(name: str, source: Path, out: Path, size: int, frames: int, ray_cpus: int) -> dict:
    from cinemagraph_core.batch import REPORT_NAME, BatchOptions, run_batch

    options = BatchOptions(out=out, settings={"size": size, "frames": frames}, ray_cpus=ray_cpus, device="cpu",
                           **ENGINES[name])
    summary = run_batch(source, options)
    records = [json.loads(line) for line in (out / REPORT_NAME).read_text().splitlines()]
    done = [r for r in records if r.get("status") == "done"]
    if summary.failed or len(done) != summary.done:
        raise SystemExit(f"{name}: {summary.failed} item(s) failed; see {out / REPORT_NAME}")
    mean = {k: sum(r["timings"][k] for r in done) / len(done) for k in ("load", "prepare", "render")}
    return {"engine": summary.engine, "items": summary.done, "size": size, "frames": frames,
            "seconds": round(summary.seconds, 2), "items_per_hour": round(summary.items_per_hour, 1),
            "item_s": round(sum(r["seconds"] for r in done) / len(done), 3),
            "item_split_s": {k: round(v, 3) for k, v in mean.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--size", type=int, default=256, help="side of the square items in px (default 256)")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    ap.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray (default 2)")
    ap.add_argument("--json", action="store_true", help="one JSON line per engine")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        source = Path(tmp) / "items"
        source.mkdir()
        make_items(source, a.items, a.size)
        for name in a.engines:
            row = run_engine(name, source, Path(tmp) / name, a.size, a.frames, a.ray_cpus)
            if a.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"{row['engine']:>12s}: {row['items']} items of {a.size} px x {a.frames} frames in "
                      f"{row['seconds']:.1f} s = {row['items_per_hour']:.0f} items/hour (one item "
                      f"{row['item_s']:.2f} s "
                      f"in its worker: {row['item_split_s']})", flush=True)


if __name__ == "__main__":
    main()
