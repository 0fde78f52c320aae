"""A batch run: list the items, skip what is up to date, make the rest on an engine, report every item.

Nothing is lost or half-written: a video is renamed into place only when complete, a video in the output
folder that no batch run wrote is never replaced, each item's report line is on disk as soon as it ends,
and Ctrl-C / SIGTERM (or a progress callback raising ``Interrupted``) stop the run between frames with
no partial file left. Rerunning the same command finishes the rest.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

from .. import __version__
from ..errors import CinemagraphError, Interrupted
from ..progress import ProgressFn
from ..video import FORMATS, partial_path
from .engines import LocalEngine, RayEngine, cpu_count
from .items import BatchItem, input_digest, list_items
from .report import Record, ReportWriter, locked_folder, read_records
from .work import RunOptions, WorkOrder, WorkResult, run_order

log = logging.getLogger("cinemagraph")


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs.

    out: the output folder.  fmt: video format ('.mp4', '.webp', '.gif').  settings: render settings by
    name (``settings.SETTINGS``; a manifest line overrides them).  workers: local processes (default one
    per 2 cores).  threads: torch threads per item (= Ray CPUs per task; default: the cores split between
    the workers, 2 on Ray).  ray: a Ray cluster address, or 'local' to start one here with ``ray_cpus``
    CPUs; None = local processes.  retries: reruns of an item whose worker process died.  device, models,
    precision: as for ``render``.
    """

    out: Path
    fmt: str = ".mp4"
    settings: dict = field(default_factory=dict)
    workers: Optional[int] = None
    threads: Optional[int] = None
    ray: Optional[str] = None
    ray_cpus: Optional[int] = None
    retries: int = 1
    device: str = "auto"
    models: tuple[str, ...] = ()
    precision: str = "fp32"


@dataclass(frozen=True)
class BatchSummary:
    """Counts of the run's items (not_run: left by an interruption; interrupted: stopped before every item
    ended), its seconds and engine."""

    done: int
    failed: int
    skipped: int
    not_run: int
    interrupted: bool
    seconds: float
    engine: str

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.not_run == 0 and not self.interrupted

    @property
    def items_per_hour(self) -> float:
        return 3600.0 * self.done / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return dict(asdict(self), items_per_hour=round(self.items_per_hour, 1), seconds=round(self.seconds, 2))


@dataclass
class _Plan:
    carried: list[Record]
    skipped: list[Record]
    failed: list[Record]
    orders: list[WorkOrder]
    digests: dict[str, tuple[str, str]]


def run_batch(source: Path, options: BatchOptions, progress: Optional[ProgressFn] = None,
              on_record: Optional[Callable[[Record], None]] = None) -> BatchSummary:
    """Make the videos of ``source`` (a folder of images or a JSONL manifest) in ``options.out``.

    progress: called ``(done, total)`` over the items that run (it may raise ``Interrupted`` to stop the
    run cleanly). on_record: called with each item's report line. Returns the summary, also the report's
    last line.
    """
    t0 = time.perf_counter()
    out, source = Path(options.out), Path(source)
    if options.fmt not in FORMATS:
        raise CinemagraphError(f"unknown video format '{options.fmt}': use one of {', '.join(FORMATS)}")
    if source.is_dir() and out.resolve() == source.resolve():
        raise CinemagraphError(f"--out is the image folder {source}: write the videos to another folder")
    items = list_items(source, options.settings, options.fmt)
    engine, run = _engine(options)
    out.mkdir(parents=True, exist_ok=True)
    with locked_folder(out):
        plan = _plan(items, out, options, run)
        report = ReportWriter(out, plan.carried + plan.skipped)
        try:
            for record in plan.skipped + plan.failed:
                if record.status == "failed":
                    report.add(record)
                _note(record, on_record)
            done, failed, interrupted = _run_orders(engine, plan, out, report, progress, on_record)
            not_run = len(plan.orders) - done - failed
            summary = BatchSummary(done=done, failed=failed + len(plan.failed), skipped=len(plan.skipped),
                                   not_run=not_run, interrupted=interrupted and not_run > 0,
                                   seconds=time.perf_counter() - t0, engine=f"{engine.name}, threads={run.threads}")
            report.summary(summary.as_dict())
        finally:
            report.close()
            for order in plan.orders:
                _remove_staged(order.staged)
    return summary


def _engine(options: BatchOptions):
    """The engine of ``options`` and the options every item runs with (threads split between local workers)."""
    for name in ("workers", "threads", "ray_cpus"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise CinemagraphError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if options.retries < 0:
        raise CinemagraphError(f"--retries must be 0 or more, got {options.retries}")
    if options.ray:
        threads = options.threads or 2
        engine = RayEngine(options.ray, threads, gpu=options.device.startswith("cuda"), retries=options.retries,
                           cpus=options.ray_cpus)
    else:
        cores = cpu_count()
        workers = options.workers or max(1, cores // 2)
        threads = options.threads or max(1, cores // workers)
        engine = LocalEngine(workers, retries=options.retries)
    run = RunOptions(threads=threads, device=options.device, models=tuple(options.models),
                     precision=options.precision)
    return engine, run


def _plan(items: list[BatchItem], out: Path, options: BatchOptions, run: RunOptions) -> _Plan:
    """What each item needs: skipped (up to date), failed now (found while listing, or its video name is
    taken by a file no batch wrote), or an order to run. The old lines of videos still in ``out`` whose items
    are no longer listed are carried over (so those videos stay known as written by a batch run)."""
    previous = {r.output: r for r in read_records(out) if r.output}
    run_key = _run_key(options)
    listed = {i.output for i in items}
    plan = _Plan([r for name, r in previous.items() if name not in listed and (out / name).is_file()], [], [], [], {})
    for item in items:
        target = out / item.output if item.output else None
        ours = item.output in previous or (target is not None and not target.exists())
        reason = item.error or (None if ours else f"{target} exists and no batch run wrote it: move it away to "
                                                  "make this item (nothing was overwritten)")
        if reason is None:
            try:
                digests = (input_digest(item.inputs), _settings_digest(item.settings, run_key))
            except CinemagraphError as e:
                reason = str(e)
        if reason is not None:
            plan.failed.append(Record(item.source, "failed", reason, output=item.output if ours else None))
            continue
        before = previous.get(item.output)
        if (before is not None and before.status in ("done", "skipped") and target.is_file()
                and (before.input_digest, before.settings_digest) == digests):
            plan.skipped.append(replace(before, item=item.source, status="skipped",
                                        reason="up to date: its video, inputs and settings match the report"))
            continue
        staged = out / f".{Path(item.output).stem}.batch{Path(item.output).suffix}"
        _remove_staged(staged)
        plan.orders.append(WorkOrder(item, staged, run))
        plan.digests[item.source] = digests
    return plan


def _run_orders(engine, plan: _Plan, out: Path, report: ReportWriter, progress: Optional[ProgressFn],
                on_record) -> tuple[int, int, bool]:
    """Run the plan's orders on ``engine``, publishing and reporting each as it ends; (done, failed, interrupted)."""
    orders = {o.item.source: o for o in plan.orders}
    total, done, failed = len(orders), 0, 0
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            log.warning("stopping: running items end at their next frame, nothing new starts (rerun to finish)")
        stopped.set()
        engine.stop()

    with _on_signals(stop):
        _progress(progress, 0, total, stop)
        if orders:
            log.info("%d item(s) to make on %s", total, engine.name)
            for result in engine.run(run_order, list(orders.values())):
                if result.interrupted:
                    continue
                record = _publish(orders[result.item], result, out, plan.digests[result.item])
                report.add(record)
                done, failed = done + (record.status == "done"), failed + (record.status == "failed")
                _note(record, on_record, f"[{done + failed}/{total}] ")
                _progress(progress, done + failed, total, stop)
    return done, failed, stopped.is_set()


def _publish(order: WorkOrder, result: WorkResult, out: Path, digests: tuple[str, str]) -> Record:
    """Rename a finished video into place; the item's report line."""
    record = Record(item=order.item.source, status="done" if result.ok else "failed", reason=result.reason,
                    output=order.item.output, seconds=round(result.seconds, 3), stages=result.stages,
                    frames=result.frames or None, size=list(result.size) if result.ok else None,
                    timings=result.timings, input_digest=digests[0], settings_digest=digests[1])
    if result.ok:
        try:
            os.replace(order.staged, out / order.item.output)
        except OSError as e:
            return replace(record, status="failed", reason=f"could not move the finished video into place ({e})")
    return record


def _note(record: Record, on_record, prefix: str = "") -> None:
    """One log line per item."""
    if record.status == "done":
        stages = ", ".join(f"{k}={v}" for k, v in record.stages.items())
        log.info("%sdone %s -> %s in %.1f s (%s)", prefix, record.item, record.output, record.seconds, stages)
    elif record.status == "failed":
        log.warning("%sfailed %s: %s", prefix, record.item, record.reason)
    else:
        log.info("%sskipped %s: %s", prefix, record.item, record.reason)
    if on_record is not None:
        on_record(record)


def _progress(progress: Optional[ProgressFn], done: int, total: int, stop: Callable[[], None]) -> None:
    if progress is None:
        return
    try:
        progress(done, total)
    except (Interrupted, KeyboardInterrupt):
        stop()


@contextmanager
def _on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` while the run lasts (from the main thread only; elsewhere the
    caller stops the run through the progress callback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = lambda signum, frame: stop()  # noqa: E731
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run_key(options: BatchOptions) -> dict:
    """What besides an item's own settings decides its video: format, precision, the model files used, the
    package version."""
    models = {}
    if options.models:
        from ..model_files import SearchPath, find_model
        from ..weights import KINDS

        search = SearchPath.of(list(options.models))
        for kind in KINDS:
            path = find_model(kind, search)
            if path is not None:
                models[kind] = [path.name, path.stat().st_size]
    return {"format": options.fmt, "precision": options.precision, "models": models, "version": __version__}


def _settings_digest(settings: dict, run_key: dict) -> str:
    text = json.dumps({"settings": settings, "run": run_key}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _remove_staged(staged: Path) -> None:
    """Remove an item's staged video and the writer's temporary file (left by a killed worker)."""
    for p in (staged, partial_path(staged)):
        p.unlink(missing_ok=True)


