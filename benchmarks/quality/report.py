"""Tables (markdown) and the sheet of side-by-side frames (PNG) of a benchmark run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np

from .benchmark import Results, Score, runs, sheet_label
from .groundtruth import REGION_NAMES
from .metrics import psnr_from_sse


def _mean(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _pooled_psnr(scores: list[Score], region: int) -> float:
    return psnr_from_sse(sum(s.sse[region] for s in scores), sum(s.count[region] for s in scores))


def _detail_ratio(scores: list[Score]) -> float:
    """Pooled fluid detail energy of the frames over that of the ground truth (``metrics.fluid_detail``)."""
    gt = sum(s.hf[1] for s in scores)
    return sum(s.hf[0] for s in scores) / gt if gt > 0 else math.nan


def _select(results: Results, renderer: str, variant: str, amplitude: Optional[float] = 1.0, **match) -> list[Score]:
    """The scores of ``variant`` rendered by ``renderer`` (the learned variant: always its splats) at
    ``amplitude`` (None: every amplitude), matching the other fields given."""
    learned = any(v.key == variant and v.learned for v in results.variants)
    return [s for s in results.scores if s.variant == variant and (learned or s.renderer == renderer)
            and (amplitude is None or s.amplitude == amplitude) and all(getattr(s, k) == x for k, x in match.items())]


def _row(sc: list[Score]) -> dict[str, float]:
    row = {"psnr": _mean(s.psnr for s in sc), "ssim": _mean(s.ssim for s in sc), "lpips": _mean(s.lpips for s in sc),
           "frames": float(len(sc)), "fluid_detail": _detail_ratio(sc)}
    row.update({f"psnr_{name}": _pooled_psnr(sc, r) for r, name in enumerate(REGION_NAMES)})
    return row


def summary(results: Results, renderer: Optional[str] = None) -> dict[str, dict[str, float]]:
    """Per variant, rendered by ``renderer`` (default: the setup's first) at amplitude 1: mean frame PSNR,
    SSIM, LPIPS, frame count, fluid detail ratio and PSNR per region pooled over all frames."""
    renderer = renderer or results.setup.renderers[0]
    return {v.key: _row(_select(results, renderer, v.key)) for v in results.variants}


def renderer_summary(results: Results) -> dict[str, dict[str, dict[str, float]]]:
    """``{renderer: {variant: summary row}}`` at amplitude 1 (the paper's protocol)."""
    return {r: summary(results, r) for r in results.setup.renderers}


def amplitude_summary(results: Results) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """``{renderer: {variant: {amplitude: summary row}}}`` (amplitudes as text keys, e.g. ``"2.0"``)."""
    return {r: {v.key: {str(a): _row(_select(results, r, v.key, a)) for a in results.setup.amplitudes}
                for v in results.variants} for r in results.setup.renderers}


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _breakdown(results: Results, renderer: str, field: str, keys: tuple[str, ...]) -> str:
    header = ["variant"] + list(keys)
    rows = []
    for v in results.variants:
        row = [v.key]
        for k in keys:
            sc = _select(results, renderer, v.key, **{field: k})
            row.append(f"{_f(_mean(s.psnr for s in sc))} / {_f(_mean(s.ssim for s in sc), 3)}")
        rows.append(row)
    return _table(header, rows)


def _versus(results: Results, key: str) -> str:
    """PSNR of ``key`` per scene and trajectory for every renderer (amplitude 1), and the difference of the
    first two."""
    st = results.setup
    rs = st.renderers
    rows = []
    for scene in st.scenes:
        row = [scene]
        for name in st.trajectories:
            vals = [_mean(s.psnr for s in _select(results, r, key, scene=scene, trajectory=name)) for r in rs]
            text = " / ".join(_f(x) for x in vals)
            if len(vals) > 1:
                text += f" ({vals[0] - vals[1]:+.2f})"
            row.append(text)
        rows.append(row)
    return _table(["scene"] + list(st.trajectories), rows)


def _floor_table(results: Results) -> str:
    scenes = results.setup.scenes
    rows = []
    for r, v in runs(results.setup, results.variants):
        row = [f"{v.key} ({r})"]
        for name in scenes:
            sc = [s for s in results.floor if s.variant == v.key and s.renderer == r and s.scene == name]
            row.append(" / ".join(_f(x) for x in (sc[0].psnr, psnr_from_sse(sc[0].sse[1], sc[0].count[1])))
                       if sc else "n/a")
        rows.append(row)
    return _table(["variant (renderer)", *scenes], rows)


def _region_table(results: Results, renderer: str, key: str) -> str:
    rows = []
    for name in results.setup.scenes:
        sc = _select(results, renderer, key, scene=name)
        share = 100.0 * sum(s.count[2] for s in sc) / max(sum(sum(s.count) for s in sc), 1)
        rows.append([name, _f(_mean(s.psnr for s in sc))] + [_f(_pooled_psnr(sc, r)) for r in range(len(REGION_NAMES))]
                    + [f"{share:.1f}"])
    return _table(["scene", "PSNR"] + [f"PSNR {n}" for n in REGION_NAMES] + ["disoccluded %"], rows)


def markdown(results: Results, worst: int = 6) -> str:
    """The result tables: per renderer overall (Tables 1/3 style), the renderers side by side, camera
    amplitudes, per scene and per trajectory, the floor, regions, hardest frames, timings."""
    st = results.setup
    h, w = st.size
    first = st.renderers[0]
    summ = summary(results, first)
    frames = int(next(iter(summ.values()))["frames"]) if summ else 0
    out = [f"Scenes: {', '.join(st.scenes)}; {w}x{h} px; loop of N = {st.num_frames} frames; trajectories "
           f"{', '.join(st.trajectories)} at amplitude {', '.join(f'{a:g}' for a in st.amplitudes)}; times t = "
           f"{', '.join(map(str, st.times))}; renderers {', '.join(st.renderers)}; {frames} frames per variant "
           f"and renderer at amplitude 1; ground truth {st.samples}x{st.samples} rays per pixel.", ""]
    for r in st.renderers:
        summ = summary(results, r)
        ref = summ.get("full", {}).get("psnr", math.nan)
        rows = []
        for v in results.variants:
            row = summ[v.key]
            rows.append([v.key, v.label, _f(row["psnr"]), _f(row["ssim"], 4), _f(row["lpips"], 4),
                         _f(row["psnr"] - ref)] + [_f(row[f"psnr_{n}"]) for n in REGION_NAMES]
                        + [_f(row["fluid_detail"])])
        out += [f"**Renderer `{r}`: mean over all frames at amplitude 1** (PSNR dB and SSIM on valid pixels; region "
                "columns: PSNR pooled over all frames on the pixels of that region; fluid detail: the frames' "
                "high-frequency energy on the inner fluid over the ground truth's, 1 = the texture's own detail, "
                "> 1 = added structure such as a dot grid, < 1 = washed out)", "",
                _table(["key", "variant", "PSNR ↑", "SSIM ↑", "LPIPS ↓", "ΔPSNR vs full"]
                       + [f"PSNR {n}" for n in REGION_NAMES] + ["fluid detail"], rows), ""]
        if "full" in summ and "naive_sym" in summ:
            out += [f"`full` vs `naive_sym` ({r}): {summ['full']['psnr'] - summ['naive_sym']['psnr']:+.2f} dB PSNR, "
                    f"{summ['full']['ssim'] - summ['naive_sym']['ssim']:+.4f} SSIM.", ""]
    key = "full" if any(v.key == "full" for v in results.variants) else results.variants[-1].key
    if len(st.renderers) > 1:
        out += [f"**`{key}` per scene and trajectory, renderers {' / '.join(st.renderers)}** (PSNR at amplitude 1; in "
                "brackets the difference of the first two)", "", _versus(results, key), ""]
    if len(st.amplitudes) > 1:
        rows = []
        amps = amplitude_summary(results)
        for r in st.renderers:
            for v in results.variants:
                cells = amps[r][v.key]
                rows.append([f"{v.key} ({r})"] + [f"{_f(c['psnr'])} / {_f(c['ssim'], 3)} / {_f(c['fluid_detail'])}"
                                                  for c in (cells[str(a)] for a in st.amplitudes)])
        out += ["**Camera amplitude** (every trajectory's translation times the amplitude; PSNR / SSIM / fluid "
                "detail)", "", _table(["variant (renderer)"] + [f"x{a:g}" for a in st.amplitudes], rows), ""]
    out += [f"**Per scene, `{first}`** (PSNR / SSIM)", "", _breakdown(results, first, "scene", st.scenes), ""]
    out += [f"**Per trajectory, `{first}`** (PSNR / SSIM)", "", _breakdown(results, first, "trajectory",
                                                                           st.trajectories), ""]
    out += ["**Rendering floor**: source pose, t = 0, against the input image (no motion, no camera move; "
            "PSNR / PSNR on the fluid)", "", _floor_table(results), ""]
    out += [f"**Per scene and region, `{key}` ({first})** (region PSNR pooled over the scene's frames)", "",
            _region_table(results, first, key), ""]
    hardest = sorted(_select(results, first, key), key=lambda s: s.psnr)[:worst]
    rows = [[s.scene, s.trajectory, str(s.t), _f(s.psnr), _f(s.ssim, 3)]
            + [_f(psnr_from_sse(s.sse[r], s.count[r])) for r in range(len(REGION_NAMES))]
            + [f"{100.0 * s.count[2] / max(sum(s.count), 1):.1f}"] for s in hardest]
    out += [f"**Hardest frames of `{key}` ({first})**", "",
            _table(["scene", "trajectory", "t", "PSNR", "SSIM"] + [f"PSNR {n}" for n in REGION_NAMES]
                   + ["disoccluded %"], rows), ""]
    rows = []
    for r, v in runs(st, results.variants):
        tm = results.timings.get(f"{r}/{v.key}")
        if tm:
            rows.append([v.key, r, _f(tm["prepare_s"] / max(len(st.scenes), 1)),
                         _f(tm["render_s"] / max(tm["frames"], 1), 3)])
    out += ["**Time** (this machine; prepare is shared by variants that differ only in rendering)", "",
            _table(["variant", "renderer", "prepare s / scene", "render s / frame"], rows), ""]
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
    """PNG: rows = input, ground truth (invalid pixels tinted), each variant with each renderer
    (``sheet_label``), |full - GT| x4 (first renderer); columns = the setup's sheet picks (scene,
    trajectory, t) at amplitude 1."""
    st = results.setup
    cols = [results.sheet[k] for k in st.sheet_picks() if k in results.sheet]
    keys = [k for k in st.sheet_picks() if k in results.sheet]
    h, w = st.size
    up = max(1, 256 // w)
    err_key = "full" if any(v.key == "full" for v in results.variants) else results.variants[-1].key
    labels = [sheet_label(r, v.key, st) for r, v in runs(st, results.variants)]
    names = ["input", "ground truth"] + labels + [f"|{err_key} - GT| x4"]
    label_w, head_h = LABEL_WIDTH, HEADER_HEIGHT
    sheet = np.full((head_h + len(names) * h * up, label_w + len(cols) * w * up, 3), 30, np.uint8)
    for j, (key, col) in enumerate(zip(keys, cols)):
        x0 = label_w + j * w * up
        _label(sheet[:head_h, x0:x0 + w * up], [key[0], f"{key[1]}, t = {key[2]}"], 1.0)
        gt = _to_bgr8(col.gt.rgb)
        gt[~col.gt.valid] = (gt[~col.gt.valid] * 0.4 + np.array([160, 0, 160]) * 0.6).astype(np.uint8)
        cells = [_to_bgr8(col.image), gt] + [_to_bgr8(col.frames[label]) for label in labels]
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
