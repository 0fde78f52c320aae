"""Tables (markdown) and the sheet of side-by-side frames (PNG) of a benchmark run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from .benchmark import Results, Score
from .groundtruth import REGION_NAMES
from .metrics import psnr_from_sse


def _mean(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _pooled_psnr(scores: list[Score], region: int) -> float:
    return psnr_from_sse(sum(s.sse[region] for s in scores), sum(s.count[region] for s in scores))


def summary(results: Results) -> dict[str, dict[str, float]]:
    """Per variant: mean frame PSNR, SSIM, LPIPS, frame count and PSNR per region pooled over all frames."""
    out = {}
    for v in results.variants:
        sc = [s for s in results.scores if s.variant == v.key]
        row = {"psnr": _mean(s.psnr for s in sc), "ssim": _mean(s.ssim for s in sc),
               "lpips": _mean(s.lpips for s in sc), "frames": float(len(sc))}
        row.update({f"psnr_{name}": _pooled_psnr(sc, r) for r, name in enumerate(REGION_NAMES)})
        out[v.key] = row
    return out


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _breakdown(results: Results, field: str, keys: tuple[str, ...]) -> str:
    header = ["variant"] + list(keys)
    rows = []
    for v in results.variants:
        row = [v.key]
        for k in keys:
            sc = [s for s in results.scores if s.variant == v.key and getattr(s, field) == k]
            row.append(f"{_f(_mean(s.psnr for s in sc))} / {_f(_mean(s.ssim for s in sc), 3)}")
        rows.append(row)
    return _table(header, rows)


def _floor_table(results: Results) -> str:
    scenes = results.setup.scenes
    rows = []
    for v in results.variants:
        row = [v.key]
        for name in scenes:
            sc = [s for s in results.floor if s.variant == v.key and s.scene == name]
            row.append(" / ".join(_f(x) for x in (sc[0].psnr, psnr_from_sse(sc[0].sse[1], sc[0].count[1])))
                       if sc else "n/a")
        rows.append(row)
    return _table(["variant", *scenes], rows)


def _region_table(results: Results, key: str) -> str:
    rows = []
    for name in results.setup.scenes:
        sc = [s for s in results.scores if s.variant == key and s.scene == name]
        share = 100.0 * sum(s.count[2] for s in sc) / max(sum(sum(s.count) for s in sc), 1)
        rows.append([name, _f(_mean(s.psnr for s in sc))] + [_f(_pooled_psnr(sc, r)) for r in range(len(REGION_NAMES))]
                    + [f"{share:.1f}"])
    return _table(["scene", "PSNR"] + [f"PSNR {n}" for n in REGION_NAMES] + ["disoccluded %"], rows)


def markdown(results: Results, worst: int = 6) -> str:
    """The result tables: overall (Tables 1/3 style), per scene, per trajectory, hardest frames, timings."""
    st = results.setup
    h, w = st.size
    summ = summary(results)
    ref = summ.get("full", {}).get("psnr", math.nan)
    frames = int(next(iter(summ.values()))["frames"]) if summ else 0
    out = [f"Scenes: {', '.join(st.scenes)}; {w}x{h} px; loop of N = {st.num_frames} frames; trajectories "
           f"{', '.join(st.trajectories)}; times t = {', '.join(map(str, st.times))}; {frames} frames per variant; "
           f"ground truth {st.samples}x{st.samples} rays per pixel.", ""]
    rows = []
    for v in results.variants:
        r = summ[v.key]
        rows.append([v.key, v.label, _f(r["psnr"]), _f(r["ssim"], 4), _f(r["lpips"], 4), _f(r["psnr"] - ref)]
                    + [_f(r[f"psnr_{n}"]) for n in REGION_NAMES])
    out += ["**Mean over all frames** (PSNR dB and SSIM on valid pixels; region columns: PSNR pooled over all "
            "frames on the pixels of that region)", "",
            _table(["key", "variant", "PSNR ↑", "SSIM ↑", "LPIPS ↓", "ΔPSNR vs full"]
                   + [f"PSNR {n}" for n in REGION_NAMES], rows), ""]
    out += ["**Per scene** (PSNR / SSIM)", "", _breakdown(results, "scene", st.scenes), ""]
    out += ["**Per trajectory** (PSNR / SSIM)", "", _breakdown(results, "trajectory", st.trajectories), ""]
    out += ["**Rendering floor**: source pose, t = 0, against the input image (no motion, no camera move; "
            "PSNR / PSNR on the fluid)", "", _floor_table(results), ""]
    key = "full" if "full" in summ else results.variants[-1].key
    out += [f"**Per scene and region, `{key}`** (region PSNR pooled over the scene's frames)", "",
            _region_table(results, key), ""]
    hardest = sorted((s for s in results.scores if s.variant == key), key=lambda s: s.psnr)[:worst]
    rows = [[s.scene, s.trajectory, str(s.t), _f(s.psnr), _f(s.ssim, 3)]
            + [_f(psnr_from_sse(s.sse[r], s.count[r])) for r in range(len(REGION_NAMES))]
            + [f"{100.0 * s.count[2] / max(sum(s.count), 1):.1f}"] for s in hardest]
    out += [f"**Hardest frames of `{key}`**", "",
            _table(["scene", "trajectory", "t", "PSNR", "SSIM"] + [f"PSNR {n}" for n in REGION_NAMES]
                   + ["disoccluded %"], rows), ""]
    rows = []
    for v in results.variants:
        tm = results.timings[v.key]
        rows.append([v.key, _f(tm["prepare_s"] / max(len(st.scenes), 1)), _f(tm["render_s"] / max(tm["frames"], 1), 3)])
    out += ["**Time** (this machine; prepare is shared by variants that differ only in rendering)", "",
            _table(["variant", "prepare s / scene", "render s / frame"], rows), ""]
    out += [f"- {n}" for n in results.notes]
    return "\n".join(out) + "\n"


LABEL_WIDTH, HEADER_HEIGHT = 150, 40
"""Sheet layout: px of the row-label column and of the column-title band."""


def _to_bgr8(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(rgb.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)[:, :, ::-1])


def _error_map(rgb: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    err = np.abs(np.clip(rgb, 0, 1) - np.clip(gt, 0, 1)).mean(0)
    img = cv2.applyColorMap((np.clip(err * 4.0, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    img[~valid] = (128, 128, 128)
    return img


def _label(img: np.ndarray, lines: list[str], scale: float) -> None:
    for i, text in enumerate(lines):
        y = int((14 + 16 * i) * scale)
        cv2.putText(img, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42 * scale, (255, 255, 255), 1, cv2.LINE_AA)


def write_sheet(results: Results, path: Path) -> Path:
    """PNG: rows = input, ground truth (invalid pixels tinted), each variant, |full - GT| x4;
    columns = the setup's sheet picks (scene, trajectory, t)."""
    cols = [results.sheet[k] for k in results.setup.sheet_picks() if k in results.sheet]
    keys = [k for k in results.setup.sheet_picks() if k in results.sheet]
    h, w = results.setup.size
    up = max(1, 256 // w)
    err_key = "full" if any(v.key == "full" for v in results.variants) else results.variants[-1].key
    names = ["input", "ground truth"] + [v.key for v in results.variants] + [f"|{err_key} - GT| x4"]
    label_w, head_h = LABEL_WIDTH, HEADER_HEIGHT
    sheet = np.full((head_h + len(names) * h * up, label_w + len(cols) * w * up, 3), 30, np.uint8)
    for j, (key, col) in enumerate(zip(keys, cols)):
        x0 = label_w + j * w * up
        _label(sheet[:head_h, x0:x0 + w * up], [key[0], f"{key[1]}, t = {key[2]}"], 1.0)
        gt = _to_bgr8(col.gt.rgb)
        gt[~col.gt.valid] = (gt[~col.gt.valid] * 0.4 + np.array([160, 0, 160]) * 0.6).astype(np.uint8)
        cells = [_to_bgr8(col.image), gt] + [_to_bgr8(col.frames[v.key]) for v in results.variants]
        cells.append(_error_map(col.frames[err_key], col.gt.rgb, col.gt.valid))
        for i, cell in enumerate(cells):
            y0 = head_h + i * h * up
            sheet[y0:y0 + h * up, x0:x0 + w * up] = cv2.resize(cell, (w * up, h * up), interpolation=cv2.INTER_NEAREST)
    for i, name in enumerate(names):
        y0 = head_h + i * h * up
        _label(sheet[y0:y0 + h * up, :label_w], [name], 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    return path
