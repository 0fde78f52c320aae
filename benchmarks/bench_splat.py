"""Speed and memory of the built-in splatters: NumPy (``render.splat``) and torch ops (``render.splat_torch``).

Scene: an LDI-like cloud of ``layers`` pixel grids at different depths (a full first layer, 60 % of
the pixels on the others: about ``(1 + 0.6 (layers - 1)) H W`` points), each moved by a smooth
sub-pixel motion, seen from a slightly moved camera with the official adaptive radius (1.5 px at
the source view). For each size it prints the time of one ``splat`` call (one side of a frame) for
5 channels (RGBA + disparity: the weight-free path) and 37 channels (the learned decoder's input),
and the memory the first call needs on top of its inputs and output: the growth of the peak RSS
(``VmHWM``, reset before the call through ``/proc/self/clear_refs``) and the peak of NumPy's traced
allocations (``tracemalloc``; the NumPy splatter's temporaries are NumPy arrays, the torch one's are
not traced). With ``--device cuda`` (torch backend) the time includes a synchronisation and the memory
column is the CUDA allocator's peak. Each (backend, size, channels) runs in a fresh subprocess.

Usage: ``python benchmarks/bench_splat.py [--backends numpy torch] [--device cpu|cuda] [--threads 2]
[--repeat 3] [--sizes 256 512 768 1080p 4k] [--channels 5 37] [--chunk N]``
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cinemagraph_core.camera import default_intrinsics  # noqa: E402
from cinemagraph_core.choices import BACKENDS, concrete  # noqa: E402
from cinemagraph_core.render.splat import DEFAULT_CHUNK  # noqa: E402
from cinemagraph_core.render.view import splat_backend  # noqa: E402

SIZES = {"256": (256, 256), "512": (512, 512), "768": (768, 768), "1080p": (1080, 1920),
         "4k": (2160, 3840)}


def make_scene(h: int, w: int, layers: int, seed: int = 0):
    """``(xyz (P,3), K, radius_px (P,))`` of an LDI-like cloud moved by a camera translation."""
    g = torch.Generator().manual_seed(seed)
    K = default_intrinsics(h, w)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    clouds = []
    for i in range(layers):
        depth = (1.0 + 0.6 * i) + 0.3 * torch.sin(xs / w * 6.0 + i) * torch.cos(ys / h * 4.0)
        flow = 0.7 * torch.stack([torch.sin(ys / 17.0 + i), torch.cos(xs / 23.0)])
        px, py = xs + flow[0], ys + flow[1]
        keep = torch.rand(h, w, generator=g) < (1.0 if i == 0 else 0.6)
        x = (px - K[0, 2]) / K[0, 0] * depth
        y = (py - K[1, 2]) / K[1, 1] * depth
        clouds.append(torch.stack([x, y, depth], -1)[keep])
    src = torch.cat(clouds)
    moved = src + torch.tensor([0.02, -0.01, -0.05])
    radius = 1.5 * src[:, 2] / moved[:, 2].clamp(min=1e-6)
    return moved, K, radius


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_one(size: str, channels: int, threads: int, repeat: int, chunk: int, backend: str = "numpy",
            device: str = "cpu") -> dict:
    """Memory of the first call (fresh process, nothing cached), then the best of ``repeat`` timings."""
    torch.set_num_threads(threads)
    h, w = SIZES[size]
    layers = 3 if h * w <= 1024 * 1024 else 2
    xyz, K, radius = make_scene(h, w, layers)
    attrs = torch.rand(xyz.shape[0], channels)
    xyz, attrs, radius = xyz.to(device), attrs.to(device), radius.to(device)
    splat = splat_backend(backend, device)
    cuda = torch.device(device).type == "cuda"

    def call():
        splat(xyz, attrs, K, (h, w), radius, chunk=chunk)
        if cuda:
            torch.cuda.synchronize()

    out_mb = channels * h * w * 4 / 2**20
    rss0, reset = _status_kb("VmRSS"), _reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tracemalloc.start()
    call()
    traced = tracemalloc.get_traced_memory()[1] / 2**20 - out_mb
    tracemalloc.stop()
    rss = (_status_kb("VmHWM") - rss0) / 1024 - out_mb if reset else float("nan")
    if cuda:
        rss = torch.cuda.max_memory_allocated() / 2**20 - out_mb
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"points": int(xyz.shape[0]), "ms": round(1000 * min(times), 1), "cpu_ms": round(1000 * min(cpu), 1),
            "rss_mb": round(rss, 1), "traced_mb": round(traced, 1),
            "inputs_mb": round(xyz.shape[0] * (3 + 1 + channels) * 4 / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["256", "512", "768", "1080p"], choices=list(SIZES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    ap.add_argument("--channels", nargs="+", type=int, default=[5, 37])
    ap.add_argument("--backends", nargs="+", default=["numpy", "torch"], choices=concrete(BACKENDS))
    ap.add_argument("--device", default="cpu", help="where the points live: cpu or cuda (numpy works on the CPU)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[1], int(args.one[2]), args.threads, args.repeat, args.chunk, args.one[0],
                                 args.device)))
        return
    print(f"splat: best of {args.repeat} calls, {args.threads} threads, chunk {args.chunk} slots, points on "
          f"{args.device}. Memory of a first call beyond its inputs and output: peak RSS growth (CUDA: the "
          f"allocator's peak) and peak traced NumPy allocations.")
    print(f"{'backend':>8} {'size':>6} {'points':>9} {'ch':>3} {'ms/side':>8} {'cpu ms':>7} {'RSS MB':>7} "
          f"{'traced MB':>9} {'inputs MB':>9}")
    for backend in args.backends:
        for size in args.sizes:
            for ch in args.channels:
                cmd = [sys.executable, __file__, "--one", backend, size, str(ch), "--threads", str(args.threads),
                       "--repeat", str(args.repeat), "--chunk", str(args.chunk), "--device", args.device]
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                print(f"{backend:>8} {size:>6} {r['points']:>9} {ch:>3} {r['ms']:>8} {r['cpu_ms']:>7} "
                      f"{r['rss_mb']:>7} {r['traced_mb']:>9} {r['inputs_mb']:>9}", flush=True)


if __name__ == "__main__":
    main()
