"""``python -m benchmarks.quality``: run the quality benchmark, print the markdown table, write the sheet.

Run from the repository root. Writes ``<out>/results.md``, ``<out>/results.json`` and
``<out>/sheet.png`` (default ``out/quality``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .benchmark import FULL, QUICK, RENDERERS, TRAJECTORIES, frame_times, run_benchmark
from .report import amplitude_summary, markdown, renderer_summary, write_sheet
from .scenes import SCENES
from .variants import VARIANTS, WEIGHT_FREE


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        return int(h), int(w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 256x192 (width x height), got '{text}'") from None


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="the small CI configuration (3 scenes, 192x144, N = 24, 2 times)")
    ap.add_argument("--scenes", nargs="+", choices=tuple(SCENES), help="scenes (default: all six)")
    ap.add_argument("--size", type=_size, help="input size WxH (default 256x192)")
    ap.add_argument("--frames", type=int, help="loop length N (default 60)")
    ap.add_argument("--times", type=int, help="frames measured per trajectory (default 5)")
    ap.add_argument("--trajectories", nargs="+", choices=TRAJECTORIES)
    ap.add_argument("--variants", nargs="+", choices=tuple(VARIANTS),
                    help=f"default: {' '.join(WEIGHT_FREE)} (+ learned with --models)")
    ap.add_argument("--models", action="append", default=[], help="folder with the five official files (repeatable)")
    ap.add_argument("--samples", type=int, help="ground-truth rays per pixel side (odd, default 3)")
    ap.add_argument("--renderers", nargs="+", choices=RENDERERS, help="weight-free renderers (default: warp splat)")
    ap.add_argument("--amplitudes", nargs="+", type=float,
                    help="camera-move scales, 1 included (default: 1 2 3; --quick: 1)")
    ap.add_argument("--out", type=Path, default=Path("out/quality"), help="output folder (default out/quality)")
    ap.add_argument("--proposals", action="store_true",
                    help="score the zero-click motion proposal instead (per scene: mask IoU, direction error, PSNR "
                         "of the pipeline driven by it vs by exact hints; with --models: the motion net with and "
                         "without the proposed arrows); writes <out>/proposals.md and .json")
    ap.add_argument("--no-psnr", action="store_true", help="with --proposals: only the mask and the direction")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: the tensors are small, and on a shared machine more "
                         "threads spin-wait)")
    return ap


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    torch.set_num_threads(a.threads)
    setup = QUICK if a.quick else FULL
    frames = a.frames or setup.num_frames
    times = frame_times(frames, a.times) if a.times else (setup.times if frames == setup.num_frames
                                                          else frame_times(frames, len(setup.times)))
    variants = tuple(a.variants) if a.variants else setup.variants + (("learned",) if a.models else ())
    setup = replace(setup, scenes=tuple(a.scenes or setup.scenes), size=a.size or setup.size, num_frames=frames,
                    times=times, trajectories=tuple(a.trajectories or setup.trajectories), variants=variants,
                    samples=a.samples or setup.samples, models=tuple(a.models),
                    renderers=tuple(a.renderers or setup.renderers),
                    amplitudes=tuple(a.amplitudes or setup.amplitudes))
    try:
        setup.validate()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    if a.proposals:
        return _proposals(a, setup)
    bar = tqdm(desc="quality", unit="frame", file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    t0 = time.perf_counter()
    try:
        results = run_benchmark(setup, progress)
    finally:
        bar.close()
    text = markdown(results)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.md").write_text(text)
    (a.out / "results.json").write_text(json.dumps({
        "setup": asdict(setup), "notes": results.notes, "timings": results.timings,
        "renderers": renderer_summary(results), "amplitudes": amplitude_summary(results),
        "scores": [asdict(s) for s in results.scores], "floor": [asdict(s) for s in results.floor]},
        indent=1, default=float))
    sheet = write_sheet(results, a.out / "sheet.png")
    print(text)
    print(f"wrote {a.out / 'results.md'}, {a.out / 'results.json'}, {sheet} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return 0


def _proposals(a: argparse.Namespace, setup) -> int:
    from cinemagraph_core.model_files import load_models

    from .proposals import markdown as proposals_markdown, run_proposals

    net = load_models(list(a.models)).motion if a.models else None
    if a.models and net is None:
        print(f"error: no sceneflow_model.pth in {', '.join(a.models)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    scores = run_proposals(setup, psnr=not a.no_psnr, net=net)
    text = proposals_markdown(scores)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "proposals.md").write_text(text + "\n")
    (a.out / "proposals.json").write_text(json.dumps({"setup": asdict(setup), "scores": [asdict(s) for s in scores]},
                                                     indent=1, default=float))
    print(text)
    print(f"wrote {a.out / 'proposals.md'}, {a.out / 'proposals.json'} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
