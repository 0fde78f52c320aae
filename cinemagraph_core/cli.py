"""Command line: ``python -m cinemagraph_core demo|render|propose-motion|check-weights|convert-weights``."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .errors import CinemagraphError, Interrupted
from .pipeline import RENDERERS
from .render.border import BORDERS

log = logging.getLogger("cinemagraph")

DEMO_SCENES = ("photo", "procedural")


def _bar(desc: str, unit: str):
    """A tqdm progress callback ``(done, total)`` on stderr; returns (callback, close)."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, leave=True, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output video: .mp4, .webp or .gif")
    p.add_argument("--frames", type=int, default=60, help="frames in the loop (default 60)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25, as the official demo)")
    p.add_argument("--size", type=int, default=None, help="longer side of the working resolution in px")
    p.add_argument("--camera", default="circle",
                   help="camera preset (see --list-cameras) or a keyframe .json file (default: circle)")
    p.add_argument("--amplitude", type=float, default=1.0, help="camera move scale (1 = official magnitude)")
    p.add_argument("--speed", type=float, default=1.0, help="divides the fluid motion (official flow_scale)")
    p.add_argument("--crop", type=int, default=0, help="px cropped from every side (official: 32)")
    p.add_argument("--frames-dir", default=None, help="also write numbered PNG frames here")
    p.add_argument("--models", action="append", default=[], help="folder with official model files (repeatable)")
    p.add_argument("--no-models", action="store_true", help="ignore model files: weight-free path only")
    p.add_argument("--device", default="auto", help="where the learned networks and the warp renderer run: auto "
                   "(CUDA when available), cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"),
                   help="learned networks: fp32 (faithful) or fp16/bf16 autocast (CUDA only, faster)")
    p.add_argument("--inpaint", default="auto", choices=("auto", "classical", "learned", "none"))
    p.add_argument("--forward-only", action="store_true", help="naive animation: no symmetric blending")
    p.add_argument("--renderer", default="auto", choices=RENDERERS,
                   help="warp (weight-free default: layers warped as textured height fields, clean moving water and "
                        "edges) or splat (point splatting; the learned decoder always uses it); auto picks per decoder")
    p.add_argument("--border", default="zoom", choices=BORDERS,
                   help="what the camera uncovers at the frame border: zoom (default: the smallest zoom that hides "
                        "it, logged), crop (--crop px, 32 when --crop is 0, as the official demo) or fill (filled in)")
    p.add_argument("--compositing", default="auto", choices=("auto", "official", "surface"),
                   help="splat renderer: surface (weight-free: an unmoved view comes back exactly) or official "
                        "(pytorch3d-style, what the learned decoder needs); auto picks per decoder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")


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
    _add_depth_options(r)
    r.add_argument("--mask", help="fluid mask image: white = moves")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--hints", help="arrows as JSON text or a .json file: [[x0,y0,x1,y1], ...] in px of the input "
                   "image (scaled with --size)")
    g.add_argument("--labelme", help="labelme JSON with 'hint*' lines (and mask polygons)")
    r.add_argument("--sigma", type=float, default=None, help="hint map width in px (default: documented value)")
    _add_render_options(r)
    p = sub.add_parser("propose-motion", help="propose the fluid mask and arrows from the image alone and print "
                                              "the regions found")
    p.add_argument("image", help="image file")
    _add_depth_options(p)
    p.add_argument("--mask-out", help="write the proposed mask here (PNG, white = moves; render's --mask)")
    p.add_argument("--hints-out", help="write the proposed arrows here (JSON [[x0, y0, x1, y1], ...] in px of the "
                                       "image; render's --hints)")
    p.add_argument("--picture-out", help="write the image with the proposal drawn over it here (PNG)")
    c = sub.add_parser("check-weights", help="report which official model files are present and valid")
    c.add_argument("dirs", nargs="+", help="folders to search")
    v = sub.add_parser("convert-weights", help="convert an official .pt/.pth file to .safetensors")
    v.add_argument("src")
    v.add_argument("dst")
    sub.add_parser("list-cameras", help="list the camera presets")
    return ap


def _add_depth_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", help="depth or disparity image (default: DPT if its file is present, else a prior)")
    p.add_argument("--depth-kind", default="disparity", choices=("disparity", "depth", "metric"),
                   help="disparity: near = bright (default); depth: bright = far; metric: values are depths")


def _config(a: argparse.Namespace):
    from dataclasses import replace

    from .pipeline import MAX_SIDE, PipelineConfig
    from .types import RenderSettings

    camera = a.camera
    if camera.lower().endswith(".json"):
        path = Path(camera)
        if not path.is_file():
            raise CinemagraphError(f"camera keyframe file not found: {path}")
        camera = path.read_text()
    return PipelineConfig(num_frames=a.frames, fps=a.fps, speed=a.speed, camera=camera, amplitude=a.amplitude,
                          sigma=getattr(a, "sigma", None), depth_kind=getattr(a, "depth_kind", "disparity"),
                          max_side=a.size or MAX_SIDE, inpaint=a.inpaint,
                          render=replace(RenderSettings(), crop=a.crop, symmetric=not a.forward_only,
                                         compositing=a.compositing, renderer=a.renderer,
                                         border=a.border)).validate()


def _device(a: argparse.Namespace) -> str:
    """The ``--device`` to work on (auto: CUDA when available)."""
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    try:
        torch.device(device)
    except RuntimeError as e:
        raise CinemagraphError(f"unknown device '{a.device}': use auto, cpu, cuda or cuda:N") from e
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CinemagraphError(f"--device {a.device}: this torch has no CUDA device; use --device cpu or auto")
    return device


def _models(a: argparse.Namespace):
    from .model_files import load_models
    from .models import Models

    if a.no_models or not a.models:
        return Models()
    models = load_models(a.models, _device(a))
    models.precision = a.precision
    return models


def _read_hints(a: argparse.Namespace, size: tuple[int, int], mask, source: tuple[int, int]):
    """MotionHints at the working ``size`` (h, w); arrows are given in px of the ``source`` (h, w) image."""
    from .motion.hints import make_hints, parse_arrows, parse_labelme, scale_arrows

    arrows = ()
    if a.labelme:
        arrows, poly_mask = parse_labelme(Path(a.labelme).read_text() if Path(a.labelme).is_file() else a.labelme,
                                          size=size)
        mask = poly_mask if mask is None else mask
    elif a.hints:
        text = Path(a.hints).read_text() if Path(a.hints).is_file() else a.hints
        arrows = scale_arrows(parse_arrows(text), source, size)
    return make_hints(mask, arrows, sigma=a.sigma, size=size)


def _official_folder(folder: Path) -> tuple[Path, Optional[Path], Optional[Path]]:
    """image, labelme JSON and mask of an official demo folder (image.png|jpg, image.json, image_json/mask.png)."""
    image = next((folder / n for n in ("image.png", "image.jpg") if (folder / n).is_file()), None)
    if image is None:
        raise CinemagraphError(f"{folder} has no image.png or image.jpg")
    labelme = folder / "image.json"
    mask = folder / "image_json" / "mask.png"
    return image, labelme if labelme.is_file() else None, mask if mask.is_file() else None


def _run(a: argparse.Namespace, image, depth, hints, config, models) -> int:
    from .pipeline import decoder_for, iter_rgb, make_frames, prepare_scene, render_settings_for
    from .video import VideoWriter, check_output_path

    check_output_path(a.out)
    device = _device(a)
    t0 = time.perf_counter()
    prep, close_prep = _bar("prepare", "stage") if not a.quiet else (None, lambda: None)
    try:
        scene = prepare_scene(image, depth=depth, hints=hints, config=config, models=models, progress=prep)
    finally:
        close_prep()
    frames = make_frames(scene, config)
    decoder = decoder_for(frames, config, models)
    t1 = time.perf_counter()
    upd, close = _bar("render", "frame") if not a.quiet else (None, lambda: None)
    try:
        with VideoWriter(a.out, config.fps, a.frames_dir) as writer:
            for _, rgb in iter_rgb(frames, decoder, progress=upd, precision=models.precision, device=device):
                writer.write(rgb)
                size = tuple(rgb.shape[1:])
    finally:
        close()
    t2 = time.perf_counter()
    stages = dict(scene.stages, renderer=render_settings_for(config.render, decoder).renderer)
    log.info("wrote %s: %d frames, %dx%d, prepare %.1f s, render %.2f s/frame; stages: %s", a.out, writer.count,
             size[1], size[0], t1 - t0, (t2 - t1) / max(writer.count, 1),
             ", ".join(f"{k}={v}" for k, v in stages.items()))
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from .demo_scene import demo_photo, make_demo_scene
    from .motion.hints import make_hints
    from .pipeline import fit_image

    config = _config(a)
    if a.scene == "photo":
        return _run(a, fit_image(demo_photo(), config.max_side), None, None, config, _models(a))
    scene = make_demo_scene(config.max_side)
    hints = make_hints(scene.mask, scene.arrows, sigma=None, size=tuple(scene.mask.shape))
    return _run(a, scene.image, scene.depth, hints, config, _models(a))


def _cmd_render(a: argparse.Namespace) -> int:
    from .image_io import load_image, load_map
    from .pipeline import fit_image

    src = Path(a.image)
    labelme_default = mask_path = None
    if src.is_dir():
        src, labelme_default, mask_path = _official_folder(src)
    config = _config(a)
    original = load_image(src)
    image = fit_image(original, config.max_side)
    size = (int(image.shape[1]), int(image.shape[2]))
    if a.labelme is None and a.hints is None and labelme_default is not None:
        a.labelme = str(labelme_default)
    mask_file = a.mask or mask_path
    mask = load_map(mask_file) if mask_file else None
    if mask is not None:
        from .image_io import resize_map

        mask = (resize_map(mask, size, "mask", "nearest") > 0.5).float()
    if mask is None and a.hints is None and a.labelme is None:
        log.info("no mask and no arrows given: the motion is proposed from the image")
        hints = None
    else:
        hints = _read_hints(a, size, mask, (int(original.shape[1]), int(original.shape[2])))
    del original
    depth = load_map(a.depth) if a.depth else None
    return _run(a, image, depth, hints, config, _models(a))


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
    commands = {"demo": _cmd_demo, "render": _cmd_render, "propose-motion": _cmd_propose, "check-weights": _cmd_check,
                "convert-weights": _cmd_convert, "list-cameras": _cmd_cameras}
    try:
        return commands[a.cmd](a)
    except CinemagraphError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("interrupted: no output file was written", file=sys.stderr)
        return 130
