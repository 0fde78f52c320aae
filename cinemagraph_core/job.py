"""One cinemagraph from files: an image and its motion and depth inputs loaded at the working resolution,
rendered, and written to a video file that appears only when it is complete.

Used by the ``render`` command and by every batch item, so both read the same files the same way.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch

from .errors import CinemagraphError
from .models import Models
from .progress import ProgressFn
from .types import Depth, MotionHints

log = logging.getLogger("cinemagraph")

Text = Union[Path, str]
"""JSON given as a file (Path) or as the text itself (str)."""


@dataclass(frozen=True)
class JobInputs:
    """The files of one cinemagraph.

    image: the picture.  mask: fluid mask image (white = moves), or the JSON of a mask painted in
    MaskHints' editor (its ``mask_strokes``, ``motion.strokes``).  depth: depth/disparity map.
    hints: arrows ``[[x0, y0, x1, y1], ...]`` in px of the image.  labelme: labelme JSON ('hint*' lines
    are arrows, other shapes form the mask). hints and labelme are files (Path) or JSON text (str).
    """

    image: Path
    mask: Optional[Path] = None
    depth: Optional[Path] = None
    hints: Optional[Text] = None
    labelme: Optional[Text] = None


@dataclass(frozen=True)
class LoadedJob:
    """An image at the working resolution with its hints and (optional) depth map; hints None: nothing
    was drawn, the motion is proposed from the image (and its depth) when the scene is prepared."""

    image: torch.Tensor
    hints: Optional[MotionHints]
    depth: Optional[Union[torch.Tensor, Depth]]


@dataclass(frozen=True)
class JobResult:
    """What ``render_job`` wrote: frame count, frame size (h, w), seconds, and the path of every stage."""

    path: Path
    frames: int
    size: tuple[int, int]
    prepare_s: float
    render_s: float
    stages: dict


def resolve_device(name: str) -> str:
    """The device to work on for ``--device`` ``name`` (auto: CUDA when available)."""
    device = ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name
    try:
        torch.device(device)
    except RuntimeError as e:
        raise CinemagraphError(f"unknown device '{name}': use auto, cpu, cuda or cuda:N") from e
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CinemagraphError(f"--device {name}: this torch has no CUDA device; use --device cpu or auto")
    return device


def read_text(value: Text) -> str:
    """The JSON text of a file (Path) or the text itself (str)."""
    if not isinstance(value, Path):
        return value
    try:
        return value.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise CinemagraphError(f"cannot read {value} ({e})") from e


def load_job(inputs: JobInputs, config) -> LoadedJob:
    """Read ``inputs`` at ``config``'s working resolution (arrows scaled from the image's own px).

    With no mask and no arrows (hints, labelme) the job's hints are None (the motion is proposed);
    a mask without arrows gives hints without arrows (only the learned motion net works from that).
    """
    from .image_io import load_image, load_map, resize_map
    from .motion.hints import make_hints, parse_arrows, parse_labelme, scale_arrows
    from .motion.strokes import strokes_mask
    from .pipeline import fit_image

    original = load_image(inputs.image)
    image = fit_image(original, config.max_side)
    size = (int(image.shape[1]), int(image.shape[2]))
    source = (int(original.shape[1]), int(original.shape[2]))
    del original
    mask = None
    if inputs.mask is not None and inputs.mask.suffix.lower() == ".json":
        mask = _parsed(inputs.mask, lambda text: strokes_mask(text, size))
    elif inputs.mask is not None:
        mask = (resize_map(load_map(inputs.mask), size, "mask", "nearest") > 0.5).float()
    if inputs.labelme is not None:
        arrows, poly_mask = _parsed(inputs.labelme, lambda text: parse_labelme(text, size=size))
        hints = make_hints(poly_mask if mask is None else mask, arrows, sigma=config.sigma, size=size)
    elif inputs.hints is not None:
        arrows = scale_arrows(_parsed(inputs.hints, parse_arrows), source, size)
        hints = make_hints(mask, arrows, sigma=config.sigma, size=size)
    elif mask is not None:
        hints = make_hints(mask, (), sigma=config.sigma, size=size)
    else:
        log.info("no mask and no arrows given: the motion is proposed from the image")
        hints = None
    depth = load_map(inputs.depth) if inputs.depth is not None else None
    return LoadedJob(image=image, hints=hints, depth=depth)


def _parsed(value: Text, parse):
    """``parse`` of the JSON in ``value``; an error names the file it came from."""
    try:
        return parse(read_text(value))
    except CinemagraphError as e:
        if isinstance(value, Path):
            raise CinemagraphError(f"{value.name}: {e}") from e
        raise


def render_job(job: LoadedJob, config, models: Models, out: Union[str, Path], device: str,
               frames_dir: Optional[Union[str, Path]] = None, prepare_progress: Optional[ProgressFn] = None,
               render_progress: Optional[ProgressFn] = None) -> JobResult:
    """Render ``job`` with ``config`` and ``models`` on ``device`` into the video file ``out``.

    The file appears only when every frame is written (an error or an interruption raised by a progress
    callback leaves no file and keeps an existing one). Logs one line naming the stages.
    """
    from .pipeline import decoder_for, iter_rgb, make_frames, prepare_scene, render_settings_for
    from .render.view import resolve_backend
    from .video import VideoWriter, check_output_path

    check_output_path(out)
    t0 = time.perf_counter()
    scene = prepare_scene(job.image, depth=job.depth, hints=job.hints, config=config, models=models,
                          progress=prepare_progress)
    frames = make_frames(scene, config)
    decoder = decoder_for(frames, config.decoder, models.img_decoder)
    t1 = time.perf_counter()
    size = (0, 0)
    with VideoWriter(out, config.fps, frames_dir) as writer:
        for _, rgb in iter_rgb(frames, decoder, progress=render_progress, precision=models.precision, device=device):
            writer.write(rgb)
            size = (int(rgb.shape[1]), int(rgb.shape[2]))
    t2 = time.perf_counter()
    settings = render_settings_for(config.render, decoder)
    stages = dict(scene.stages, renderer=settings.renderer)
    if settings.renderer == "splat":
        stages["splatter"] = resolve_backend(settings.backend, device)
    log.info("wrote %s: %d frames, %dx%d, prepare %.1f s, render %.2f s/frame; stages: %s", out, writer.count,
             size[1], size[0], t1 - t0, (t2 - t1) / max(writer.count, 1),
             ", ".join(f"{k}={v}" for k, v in stages.items()))
    return JobResult(path=Path(out), frames=writer.count, size=size, prepare_s=t1 - t0, render_s=t2 - t1,
                     stages=stages)
