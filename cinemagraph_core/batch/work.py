"""One batch item in a worker (a local pool process or a Ray task): load its files, render, write the video.

The video goes to a hidden staged file in the output folder that the driver renames into place; a
problem with the item becomes a failed ``WorkResult`` with its reason, never an exception, so one item
cannot stop the others. Each item starts from the same state (threads, seeds), so every engine makes
the same bytes.
"""
from __future__ import annotations

import functools
import logging
import random
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import CinemagraphError, Interrupted
from ..job import load_job, render_job, resolve_device
from ..models import Models
from ..settings import config_from_settings
from .items import BatchItem

log = logging.getLogger("cinemagraph")


@dataclass(frozen=True)
class RunOptions:
    """What every item of a run shares: torch threads per item, device, model folders, precision."""

    threads: int = 1
    device: str = "auto"
    models: tuple[str, ...] = ()
    precision: str = "fp32"


@dataclass(frozen=True)
class WorkOrder:
    """One item to make: its files and settings, where the finished video goes, the run's options."""

    item: BatchItem
    staged: Path
    options: RunOptions


@dataclass(frozen=True)
class WorkResult:
    """How an item ended: ok, or its failure reason; interrupted when the run was stopped during it.
    timings: seconds to load its files, prepare the scene, render and write the frames."""

    item: str
    ok: bool
    reason: str = ""
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)
    frames: int = 0
    size: tuple[int, int] = (0, 0)
    timings: dict = field(default_factory=dict)
    interrupted: bool = False


_stop_event = None


def quiet_worker() -> None:
    """Set-up of every worker process: only errors are logged (the driver logs a line per item and the
    report names the path every stage took) and Python's notes are not repeated in every process."""
    log.setLevel(logging.ERROR)
    warnings.simplefilter("ignore", UserWarning)


def init_worker(stop_event) -> None:
    """Set-up of a local pool process: quiet, and Ctrl-C is left to the driver, which stops items
    through ``stop_event`` (checked between frames and stages)."""
    import signal

    global _stop_event
    _stop_event = stop_event
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet_worker()


def run_order(order: WorkOrder) -> WorkResult:
    """Make ``order``'s video at ``order.staged``; every problem with the item is a failed result."""
    t0 = time.perf_counter()
    source = order.item.source
    try:
        _fresh_state(order.options.threads)
        done, load_s = _make(order)
        timings = {"load": round(load_s, 3), "prepare": round(done.prepare_s, 3), "render": round(done.render_s, 3)}
        return WorkResult(source, True, seconds=time.perf_counter() - t0, stages=done.stages, frames=done.frames,
                          size=(done.size[1], done.size[0]), timings=timings)
    except (Interrupted, KeyboardInterrupt):
        return WorkResult(source, False, "interrupted", seconds=time.perf_counter() - t0, interrupted=True)
    except CinemagraphError as e:
        reason = str(e)
    except MemoryError:
        reason = "out of memory: use a smaller --size, fewer --workers or a machine with more memory"
    except Exception as e:  # any other failure of this item must not stop the others
        reason = f"{type(e).__name__}: {e}"
        if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
            reason = f"out of memory ({e}): use a smaller --size, fewer --workers or a machine with more memory"
        log.error("%s failed:\n%s", source, traceback.format_exc())
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return WorkResult(source, False, reason, seconds=time.perf_counter() - t0)


def _make(order: WorkOrder):
    """The item's JobResult and the seconds spent loading its files (and the networks)."""
    t0 = time.perf_counter()
    item = order.item
    config = config_from_settings(item.settings)
    device = resolve_device(order.options.device)
    models = _models(order.options.models, device, order.options.precision)
    job = load_job(item.inputs, config)
    load_s = time.perf_counter() - t0
    return render_job(job, config, models, order.staged, device, prepare_progress=_check_stop,
                      render_progress=_check_stop), load_s


def _check_stop(done: int, total: int) -> None:
    if _stop_event is not None and _stop_event.is_set():
        raise Interrupted("batch stopped")


def _fresh_state(threads: int) -> None:
    """The same starting state for every item on every engine: thread counts and seeds."""
    import cv2

    torch.set_num_threads(max(1, int(threads)))
    cv2.setNumThreads(max(1, int(threads)))
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@functools.lru_cache(maxsize=1)
def _models(dirs: tuple[str, ...], device: str, precision: str) -> Models:
    """The networks of ``dirs`` on ``device``, loaded once per worker process."""
    if not dirs:
        return Models(precision=precision)
    from ..model_files import load_models

    models = load_models(list(dirs), device)
    models.precision = precision
    return models
