"""A real photograph, weight-free: scikit-learn's ``china.jpg`` (a pagoda before a lake under a hazy sky).

    python benchmarks/photo.py [--size 640] [--frames 24] [--json] [--crops DIR] [--quick]

The lake (and, in a second run, the sky) is masked by colour and position (``photo_masks``: fixed
thresholds, deterministic) and given fixed arrows; the depth is the weight-free prior. Every run
renders the camera paths static, circle and swing at amplitudes 1-3 with the warp renderer (border
zoom, the default) and with the splat renderer (border fill, the behaviour before the warp renderer)
and prints, per run:

* ``border``: the border sharpness: mean gradient magnitude in the outer 24 px columns (left and
  right) over the mean gradient between them, its minimum over the frames divided by its value in
  frame 0 (1 = the borders stay as sharp as the picture; smeared fill bands lower it), next to the
  sharpness itself in frame 0 (``border_first``) and at its minimum (``border_min``): a path that is
  already off the source pose at t = 0 (circle) has fill bands in frame 0 too, and strong parallax
  moves textured near content (trees) out of the bands, which lowers the ratio without any smear;
* ``seam_ssim``: SSIM of the last frame against the first (the loop's seam), next to
  ``step_ssim``, the mean SSIM of consecutive frames (a seam shows as a lower value at the wrap);
* ``malf``: the motion-aware loop measure (OuroWorld 2026): over K sample times t_i, the mean of
  SSIM(I(t_i), I(t_i + T)) minus the mean over j != i of SSIM(I(t_i), I(t_j + T)), T = N (the loop
  period; I(t + N) is rendered as frame t, which the renderers guarantee equals it): 0 for a still
  picture, higher when the loop both closes and moves;
* ``s_per_frame``: rendering time.

``--crops DIR`` writes the before/after crops of the README (frame N/2 of the lake with the static
camera; the pagoda's edge with the swing camera at amplitude 2), enlarged 3x.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see cinemagraph_core/__main__.py

from benchmarks.quality.metrics import ssim  # noqa: E402

LAKE_ARROWS = ((360, 250, 420, 256), (450, 235, 510, 238), (20, 290, 70, 294), (380, 300, 440, 308),
               (420, 275, 480, 280))
"""Arrows on the lake, px of the 640x427 photograph: the water drifts right, slightly towards the shore."""
SKY_ARROWS = ((330, 60, 400, 52), (480, 120, 550, 112), (60, 40, 130, 34), (420, 180, 490, 176))
"""Arrows in the sky: haze and clouds drift right and a little up."""
RUNS = (("static", 1.0), ("circle", 1.0), ("circle", 2.0), ("circle", 3.0), ("swing", 1.0), ("swing", 2.0),
        ("swing", 3.0))
RENDERINGS = (("warp", "zoom"), ("splat", "fill"))
"""(renderer, border): the warp renderer as shipped, and the splat renderer as it was before it."""
BAND_PX = 24
MALF_TIMES = 6


def photo() -> np.ndarray:
    """The photograph ``(427,640,3)`` uint8 RGB (installed with scikit-learn)."""
    from sklearn.datasets import load_sample_image

    return load_sample_image("china.jpg")


def photo_masks(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """``{'lake': (H,W) bool, 'sky': (H,W) bool}`` of the photograph, from colour and position alone.

    Lake: bright, unsaturated, blue-leaning pixels in the band between the horizon and the trees,
    without the reddish pagoda and a margin around it; sky: bright unsaturated pixels above the
    horizon. Both opened/closed and cleared of specks (components under 400 / 2000 px).
    """
    img = rgb.astype(np.float32)
    r, b = img[..., 0], img[..., 2]
    sat = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32)
    h, w = r.shape
    yy, xx = np.mgrid[0:h, 0:w]
    red = cv2.dilate(((r > b + 25) | (sat > 100)).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    lake = (b > 150) & (b >= r - 5) & (sat < 90) & (yy > 222) & (yy < 335) & (xx < 560) & ~red
    lake = _clean(lake, 3, 7, 400)
    sky = (b > 170) & (yy < 215) & (sat < 80)
    sky = _clean(sky, 5, 1, 2000)
    return {"lake": lake, "sky": sky}


def _clean(mask: np.ndarray, opening: int, closing: int, least: int) -> np.ndarray:
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((opening, opening), np.uint8))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((closing, closing), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= least
    return keep[labels]


def border_sharpness(frame: np.ndarray, band: int = BAND_PX) -> float:
    """Mean gradient magnitude of the outer ``band`` px columns (left and right) over that of the columns
    between them, of a ``(3,H,W)`` frame."""
    grey = frame.mean(0).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    mag = np.sqrt(gx * gx + gy * gy)[2:-2]
    edge = np.concatenate([mag[:, 2:band], mag[:, -band:-2]], axis=1).mean()
    return float(edge / max(mag[:, band:-band].mean(), 1e-9))


def loop_scores(frames: np.ndarray) -> dict[str, float]:
    """Border sharpness ratio, seam and step SSIM, MALF of ``frames (N,3,H,W)`` (module docstring)."""
    n = len(frames)
    valid = np.ones(frames.shape[2:], bool)
    sharp = [border_sharpness(f) for f in frames]
    steps = [ssim(frames[t + 1], frames[t], valid) for t in range(n - 1)]
    times = [int(k * n / MALF_TIMES) for k in range(MALF_TIMES)]
    same = np.mean([ssim(frames[t], frames[t % n], valid) for t in times])
    cross = np.mean([ssim(frames[t], frames[u % n], valid) for t in times for u in times if u != t])
    return {"border": min(sharp) / sharp[0], "border_first": sharp[0], "border_min": min(sharp),
            "seam_ssim": ssim(frames[-1], frames[0], valid),
            "step_ssim": float(np.mean(steps)), "malf": float(same - cross)}


def render(scene, camera: str, amplitude: float, frames: int, renderer: str, border: str) -> tuple[np.ndarray, float]:
    from cinemagraph_core import pipeline
    from cinemagraph_core.types import RenderSettings

    config = pipeline.PipelineConfig(num_frames=frames, camera=camera, amplitude=amplitude,
                                     render=RenderSettings(renderer=renderer, border=border))
    t0 = time.perf_counter()
    out = np.stack([rgb.numpy() for _, rgb in pipeline.iter_rgb(pipeline.make_frames(scene, config))])
    return out, (time.perf_counter() - t0) / frames


def prepare(rgb: np.ndarray, mask: np.ndarray, arrows, size: int):
    import torch

    from cinemagraph_core import pipeline
    from cinemagraph_core.motion.hints import make_hints, scale_arrows

    image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0
    work = pipeline.fit_image(image, size)
    hw = (int(work.shape[1]), int(work.shape[2]))
    hints = make_hints(torch.from_numpy(mask.astype(np.float32)), scale_arrows(arrows, rgb.shape[:2], hw), size=hw)
    return pipeline.prepare_scene(work, hints=hints, config=pipeline.PipelineConfig())


def crops(scenes: dict, frames: int, out: Path) -> list[Path]:
    """Before/after crops (3x) of frame N/2: the lake (static camera) and the pagoda's edge (swing, x2)."""
    out.mkdir(parents=True, exist_ok=True)
    lake = scenes["lake"]
    h, w = lake.image.shape[1:]
    sy, sx = h / 427.0, w / 640.0
    boxes = {"lake": (int(220 * sy), int(330 * sy), int(330 * sx), int(560 * sx)),
             "pagoda": (int(150 * sy), int(330 * sy), int(230 * sx), int(400 * sx))}
    written = []
    for name, camera, amp in (("lake", "static", 1.0), ("pagoda", "swing", 2.0)):
        y0, y1, x0, x1 = boxes[name]
        cells = []
        for renderer, border in RENDERINGS:
            video, _ = render(lake, camera, amp, frames, renderer, border)
            cell = np.clip(video[frames // 2][:, y0:y1, x0:x1].transpose(1, 2, 0), 0, 1)
            cells.append(cv2.resize((cell * 255 + 0.5).astype(np.uint8), None, fx=3, fy=3,
                                    interpolation=cv2.INTER_NEAREST))
        path = out / f"photo_{name}_before_after.png"
        gap = np.full((cells[0].shape[0], 6, 3), 255, np.uint8)
        cv2.imwrite(str(path), cv2.cvtColor(np.hstack([cells[1], gap, cells[0]]), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=640, help="longer side of the working resolution (default 640)")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="one JSON line per run")
    ap.add_argument("--crops", type=Path, default=None, help="write the before/after crops here")
    ap.add_argument("--quick", action="store_true", help="the lake only, amplitude 1")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    rgb = photo()
    masks = photo_masks(rgb)
    arrows = {"lake": LAKE_ARROWS, "sky": SKY_ARROWS}
    names = ("lake",) if a.quick else ("lake", "sky")
    scenes = {n: prepare(rgb, masks[n], arrows[n], a.size) for n in names}
    runs = RUNS[:2] + RUNS[4:5] if a.quick else RUNS
    for name in names:
        for camera, amp in runs:
            for renderer, border in RENDERINGS:
                video, s_frame = render(scenes[name], camera, amp, a.frames, renderer, border)
                row = {"mask": name, "camera": camera, "amplitude": amp, "renderer": renderer, "border": border,
                       **loop_scores(video), "s_per_frame": s_frame}
                if a.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{name:5s} {camera:7s} x{amp:g} {renderer:5s}/{border:4s}  border {row['border']:.3f} "
                          f"({row['border_first']:.2f} -> {row['border_min']:.2f})  "
                          f"seam SSIM {row['seam_ssim']:.3f} (steps {row['step_ssim']:.3f})  MALF {row['malf']:.3f}  "
                          f"{s_frame:.3f} s/frame", flush=True)
    if a.crops is not None:
        for path in crops(scenes, a.frames, a.crops):
            print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
