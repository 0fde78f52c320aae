"""Command line: ``python -m cinemagraph_core COMMAND``, COMMAND one of demo, render, propose-motion, batch,
check-weights, convert-weights, list-cameras."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

from .choices import BACKENDS, BORDERS, COMPOSITINGS, DEPTH_KINDS, INPAINTS, PRECISIONS, RENDERERS
from .errors import CinemagraphError, Interrupted
from .job import resolve_device
from .settings import SETTINGS, camera_text, config_from_settings
from .video import FORMATS, check_output_path, check_writable_folder

log = logging.getLogger("cinemagraph")

DEMO_SCENES = ("photo", "procedural")


def _bar(desc: str, unit: str):
    """A tqdm progress callback ``(done, total)`` on stderr, shown from its first call and closed when
    done reaches total; returns (callback, close)."""
    from tqdm import tqdm

    bars = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, leave=True, dynamic_ncols=True))
        bar = bars[0]
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close() -> None:
        if bars:
            bars[0].close()

    return update, close


def _add_settings(p: argparse.ArgumentParser) -> None:
    """The per-video settings (``settings.SETTINGS``; a batch manifest line may override each)."""
    d = SETTINGS
    p.add_argument("--frames", type=int, default=d["frames"], help="frames in the loop (default 60)")
    p.add_argument("--fps", type=float, default=d["fps"], help="frames per second (default 25, as the official demo)")
    p.add_argument("--size", type=int, default=d["size"], help="longer side of the working resolution in px")
    p.add_argument("--camera", default=d["camera"],
                   help="camera preset (see --list-cameras) or a keyframe .json file (default: circle)")
    p.add_argument("--amplitude", type=float, default=d["amplitude"], help="camera move scale (1 = official magnitude)")
    p.add_argument("--speed", type=float, default=d["speed"], help="divides the fluid motion (official flow_scale)")
    p.add_argument("--crop", type=int, default=d["crop"], help="px cropped from every side (official: 32)")
    p.add_argument("--inpaint", default=d["inpaint"], choices=INPAINTS)
    p.add_argument("--forward-only", action="store_true", help="naive animation: no symmetric blending")
    p.add_argument("--renderer", default=d["renderer"], choices=RENDERERS,
                   help="warp (weight-free default: layers warped as textured height fields, clean moving water and "
                        "edges) or splat (point splatting; the learned decoder always uses it); auto picks per decoder")
    p.add_argument("--border", default=d["border"], choices=BORDERS,
                   help="what the camera uncovers at the frame border: zoom (default: the smallest zoom that hides "
                        "it, logged), crop (--crop px, 32 when --crop is 0, as the official demo) or fill (filled in)")
    p.add_argument("--compositing", default=d["compositing"], choices=COMPOSITINGS,
                   help="splat renderer: surface (weight-free: an unmoved view comes back exactly) or official "
                        "(pytorch3d-style, what the learned decoder needs); auto picks per decoder")
    p.add_argument("--backend", default=d["backend"], choices=BACKENDS,
                   help="splat renderer's splatter: auto (torch ops on a GPU, NumPy on the CPU), numpy, torch (torch "
                        "ops on --device) or pytorch3d (if installed); all give the same frames")


def _add_depth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", help="depth or disparity image (default: DPT if its file is present, else a prior)")


def _add_depth_kind(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth-kind", default=SETTINGS["depth_kind"], choices=DEPTH_KINDS,
                   help="disparity: near = bright (default); depth: bright = far; metric: values are depths")


def _add_input_settings(p: argparse.ArgumentParser) -> None:
    """The settings of how an image's inputs are read (render and batch)."""
    _add_depth_kind(p)
    p.add_argument("--sigma", type=float, default=SETTINGS["sigma"],
                   help="hint map width in px (default: documented value)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Where and with which networks the work runs."""
    p.add_argument("--models", action="append", default=[], help="folder with official model files (repeatable)")
    p.add_argument("--no-models", action="store_true", help="ignore model files: weight-free path only")
    p.add_argument("--device", default="auto", help="where the learned networks and the renderer run: auto "
                   "(CUDA when available), cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="learned networks: fp32 (faithful) or fp16/bf16 autocast (CUDA only, faster)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output video: .mp4, .webp or .gif")
    p.add_argument("--frames-dir", default=None, help="also write numbered PNG frames here")
    _add_settings(p)
    _add_run_options(p)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m cinemagraph_core",
                                 description="3D cinemagraphs from a single image (Li et al., CVPR 2023).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="animate a photograph with the proposed motion, or the procedural scene "
                                    "(needs no files)")
    d.add_argument("--scene", default="photo", choices=DEMO_SCENES,
                   help="photo: scikit-learn's china.jpg, motion proposed from the image (default); procedural: the "
                        "built-in river scene with its exact depth, mask and arrows")
    _add_render_options(d)
    d.set_defaults(size=512)
    r = sub.add_parser("render", help="render a cinemagraph from an image (or an official demo folder); with no "
                                      "mask and no arrows the motion is proposed from the image")
    r.add_argument("image", help="image file, or a folder with image.png/jpg, image.json, image_json/mask.png")
    _add_depth(r)
    r.add_argument("--mask", help="fluid mask image (white = moves), or the .json of a mask painted in MaskHints' "
                   "editor (its mask_strokes)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--hints", help="arrows as JSON text or a .json file: [[x0,y0,x1,y1], ...] in px of the input "
                   "image (scaled with --size)")
    g.add_argument("--labelme", help="labelme JSON with 'hint*' lines (and mask polygons)")
    _add_input_settings(r)
    _add_render_options(r)
    p = sub.add_parser("propose-motion", help="propose the fluid mask and arrows from the image alone and print "
                                              "the regions found")
    p.add_argument("image", help="image file")
    _add_depth(p)
    _add_depth_kind(p)
    p.add_argument("--mask-out", help="write the proposed mask here (PNG, white = moves; render's --mask)")
    p.add_argument("--hints-out", help="write the proposed arrows here (JSON [[x0, y0, x1, y1], ...] in px of the "
                                       "image; render's --hints)")
    p.add_argument("--picture-out", help="write the image with the proposal drawn over it here (PNG)")
    b = sub.add_parser("batch", help="make the cinemagraphs of a folder of images or a JSONL manifest (resumable; "
                       "local worker processes or a Ray cluster)")
    b.add_argument("source", help="folder of images (sidecars NAME.mask.png, NAME.hints.json, NAME.json labelme, "
                   "NAME.depth.png) or a .jsonl manifest (one {\"image\": ...} a line)")
    b.add_argument("--out", required=True, help="output folder: NAME.mp4 per item and batch_report.jsonl")
    b.add_argument("--format", default="mp4", choices=tuple(f[1:] for f in FORMATS), help="video format (default mp4)")
    b.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per 2 cores)")
    b.add_argument("--threads", type=int, default=None, help="torch threads per item = Ray CPUs per task (default: "
                   "the cores split between the local workers; 2 on Ray)")
    b.add_argument("--ray", default=None, metavar="ADDRESS", help="run each item as a task on the Ray cluster at "
                   "ADDRESS (e.g. auto, ray://head:10001); 'local' starts a Ray on this machine")
    b.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the Ray started by --ray local (default: all)")
    b.add_argument("--retries", type=int, default=1, help="runs again an item whose worker process died (default 1)")
    _add_settings(b)
    _add_input_settings(b)
    _add_run_options(b)
    c = sub.add_parser("check-weights", help="report which official model files are present and valid")
    c.add_argument("dirs", nargs="+", help="folders to search")
    v = sub.add_parser("convert-weights", help="convert an official .pt/.pth file to .safetensors")
    v.add_argument("src")
    v.add_argument("dst")
    sub.add_parser("list-cameras", help="list the camera presets")
    return ap


def _settings(a: argparse.Namespace) -> dict:
    """The per-video settings given on the command line (a keyframe camera file read)."""
    values = {name: getattr(a, name) for name in SETTINGS if hasattr(a, name)}
    values["camera"] = camera_text(a.camera)
    return values


def _models(a: argparse.Namespace):
    from .model_files import load_models
    from .models import Models

    if a.no_models or not a.models:
        return Models()
    models = load_models(a.models, resolve_device(a.device))
    models.precision = a.precision
    return models


def _official_folder(folder: Path) -> tuple[Path, Optional[Path], Optional[Path]]:
    """image, labelme JSON and mask of an official demo folder (image.png|jpg, image.json, image_json/mask.png)."""
    image = next((folder / n for n in ("image.png", "image.jpg") if (folder / n).is_file()), None)
    if image is None:
        raise CinemagraphError(f"{folder} has no image.png or image.jpg")
    labelme = folder / "image.json"
    mask = folder / "image_json" / "mask.png"
    return image, labelme if labelme.is_file() else None, mask if mask.is_file() else None


def _run(a: argparse.Namespace, job, config, models) -> int:
    from .job import render_job

    device = resolve_device(a.device)
    prep, close_prep = _bar("prepare", "stage") if not a.quiet else (None, lambda: None)
    upd, close = _bar("render", "frame") if not a.quiet else (None, lambda: None)
    try:
        render_job(job, config, models, a.out, device, a.frames_dir, prepare_progress=prep, render_progress=upd)
    finally:
        close_prep()
        close()
    return 0


def _text_arg(value) -> Optional[Union[Path, str]]:
    """A JSON option: a file when one has that name, else the JSON text itself."""
    if value is None:
        return None
    return Path(value) if Path(value).is_file() else value


def _check_outputs(a: argparse.Namespace) -> None:
    """Refuse an unknown video suffix or a folder that cannot be written before anything is loaded."""
    check_output_path(a.out)
    if a.frames_dir:
        check_writable_folder(a.frames_dir)


def _cmd_demo(a: argparse.Namespace) -> int:
    from .demo_scene import demo_photo, make_demo_scene
    from .job import LoadedJob
    from .motion.hints import make_hints
    from .pipeline import fit_image

    config = config_from_settings(_settings(a))
    _check_outputs(a)
    if a.scene == "photo":
        return _run(a, LoadedJob(image=fit_image(demo_photo(), config.max_side), hints=None, depth=None), config,
                    _models(a))
    scene = make_demo_scene(config.max_side)
    hints = make_hints(scene.mask, scene.arrows, sigma=None, size=tuple(scene.mask.shape))
    return _run(a, LoadedJob(image=scene.image, hints=hints, depth=scene.depth), config, _models(a))


def _cmd_render(a: argparse.Namespace) -> int:
    from .job import JobInputs, load_job

    src, labelme, mask = Path(a.image), a.labelme, a.mask
    if src.is_dir():
        src, labelme_default, mask_default = _official_folder(src)
        if a.labelme is None and a.hints is None:
            labelme = labelme_default
        mask = mask or mask_default
    config = config_from_settings(_settings(a))
    _check_outputs(a)
    inputs = JobInputs(image=src, mask=Path(mask) if mask else None, depth=Path(a.depth) if a.depth else None,
                       hints=_text_arg(a.hints), labelme=_text_arg(labelme))
    return _run(a, load_job(inputs, config), config, _models(a))


def _cmd_batch(a: argparse.Namespace) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from .batch import REPORT_NAME, BatchOptions, run_batch

    options = BatchOptions(out=Path(a.out), fmt="." + a.format, settings=_settings(a), workers=a.workers,
                           threads=a.threads, ray=a.ray, ray_cpus=a.ray_cpus, retries=a.retries, device=a.device,
                           models=() if a.no_models else tuple(a.models), precision=a.precision)
    update, close = _bar("batch", "item") if not a.quiet else (None, lambda: None)
    try:
        with logging_redirect_tqdm():
            summary = run_batch(Path(a.source), options, progress=update)
    finally:
        close()
    s = summary
    print(f"batch: {s.done} done, {s.failed} failed, {s.skipped} skipped (up to date), {s.not_run} not run, in "
          f"{s.seconds:.1f} s ({s.items_per_hour:.0f} items/hour, {s.engine}); report: {Path(a.out) / REPORT_NAME}")
    if s.interrupted:
        print("interrupted: finished videos are in place, no partial file was left; run the same command again "
              "to make the rest", file=sys.stderr)
        return 130
    return 0 if s.ok else 1


def _cmd_propose(a: argparse.Namespace) -> int:
    import json

    import numpy as np
    from PIL import Image

    from .image_io import load_image, load_map
    from .motion.propose import describe, propose_motion
    from .motion.proposal_picture import proposal_picture

    image = load_image(a.image)
    depth = None
    if a.depth:
        from .depth.convert import depth_from_map

        depth = depth_from_map(load_map(a.depth), kind=a.depth_kind, size=tuple(image.shape[1:]))
    proposal = propose_motion(image, depth)
    print(describe(proposal))
    if not proposal.regions:
        raise CinemagraphError(f"{proposal.note}; nothing was written")
    if a.mask_out:
        Image.fromarray((proposal.mask.numpy() * 255).astype(np.uint8)).save(a.mask_out)
    if a.hints_out:
        Path(a.hints_out).write_text(json.dumps([list(arrow) for arrow in proposal.arrows]) + "\n")
    if a.picture_out:
        Image.fromarray(proposal_picture(image, proposal)).save(a.picture_out)
    print(proposal.note)
    return 0


def _cmd_check(a: argparse.Namespace) -> int:
    from .model_files import check_models

    report = check_models(a.dirs)
    print(report)
    return 0


def _cmd_convert(a: argparse.Namespace) -> int:
    from .weights import identify, load_file, save_safetensors

    dst = Path(a.dst)
    if dst.suffix != ".safetensors":
        raise CinemagraphError(f"the destination must end in .safetensors, got {dst.name}")
    if dst.exists():
        raise CinemagraphError(f"{dst} exists; remove it first (nothing was overwritten)")
    obj = load_file(a.src)
    n = save_safetensors(obj, dst)
    kinds = ", ".join(identify(obj)) or "unknown network"
    print(f"wrote {dst}: {n} tensors ({kinds})")
    return 0


def _cmd_cameras(a: argparse.Namespace) -> int:
    from .camera import PRESETS

    for name, desc in PRESETS.items():
        print(f"{name:16s} {desc}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if getattr(a, "quiet", False) else logging.INFO,
                        format="cinemagraph: %(message)s")
    commands = {"demo": _cmd_demo, "render": _cmd_render, "propose-motion": _cmd_propose, "batch": _cmd_batch,
                "check-weights": _cmd_check,
                "convert-weights": _cmd_convert, "list-cameras": _cmd_cameras}
    try:
        return commands[a.cmd](a)
    except CinemagraphError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("interrupted: no output file was written", file=sys.stderr)
        return 130
