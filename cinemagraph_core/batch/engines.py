"""Where batch items run: local worker processes (``concurrent.futures``) or an existing Ray cluster.

Both take a picklable function and the orders, yield each result as its item finishes, and stop on
``stop()``: nothing new starts and running items end at their next frame (local: a shared event the
item's progress checks; Ray: ``ray.cancel``), their unfinished files removed by the video writer.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from ..errors import CinemagraphError
from .work import WorkOrder, WorkResult, init_worker

log = logging.getLogger("cinemagraph")

WorkFn = Callable[[WorkOrder], WorkResult]
POLL_S = 0.5
"""How often the drivers look for a stop request while waiting for results."""
RAY_INSTALL = "pip install -r requirements-distributed.txt (or: pip install ray)"


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _died(item: str, times: int, detail: str) -> WorkResult:
    return WorkResult(item, False, f"the worker process died {times} time(s) while making it ({detail}); it may "
                                   "need more memory than a worker has: try a smaller --size or fewer --workers")


class LocalEngine:
    """``workers`` spawned processes on this machine, one item each at a time; an item whose process dies
    (killed, out of memory) is run again in a fresh pool up to ``retries`` times."""

    def __init__(self, workers: int, retries: int = 1):
        self.workers, self.retries = int(workers), int(retries)
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self.name = f"workers={self.workers}"

    def stop(self) -> None:
        self._stop.set()

    def run(self, fn: WorkFn, orders: Sequence[WorkOrder]) -> Iterator[WorkResult]:
        queue, deaths = deque(orders), Counter()
        while queue and not self._stop.is_set():
            with ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=init_worker,
                                     initargs=(self._stop,)) as pool:
                running: dict = {}
                broken = False
                while queue or running:
                    while queue and not broken and len(running) < self.workers and not self._stop.is_set():
                        order = queue.popleft()
                        running[pool.submit(fn, order)] = order
                    if not running:
                        break
                    finished, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                    for future in finished:
                        order = running.pop(future)
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            broken = True
                            deaths[order.item.source] += 1
                            if deaths[order.item.source] > self.retries:
                                yield _died(order.item.source, deaths[order.item.source], "local worker")
                            else:
                                queue.appendleft(order)
                    if broken and not running:
                        log.warning("a worker process died; the items it was making run again in a new pool")
                        break


class RayEngine:
    """Each item one Ray task on the cluster at ``address`` (``'local'``: a Ray started here with ``cpus``
    CPUs), with ``threads`` CPUs and, for CUDA, one GPU; Ray runs a task again when its worker dies,
    up to ``retries`` times. The package is shipped to the workers; its requirements must be installed
    there and every path must be readable (and the output folder writable) on every node."""

    def __init__(self, address: str, threads: int, gpu: bool = False, retries: int = 1, cpus: Optional[int] = None):
        self.ray = _import_ray()
        self.address, self.threads, self.gpu, self.retries = address, int(threads), bool(gpu), int(retries)
        self.cpus = cpus
        self._stopped = False
        self.name = f"ray={address}"

    def stop(self) -> None:
        self._stopped = True

    def run(self, fn: WorkFn, orders: Sequence[WorkOrder]) -> Iterator[WorkResult]:
        ray = self.ray
        runtime_env = {"py_modules": [str(Path(__file__).resolve().parents[1])], "excludes": ["__pycache__"],
                       "env_vars": {"OMP_WAIT_POLICY": "PASSIVE"},
                       "worker_process_setup_hook": "cinemagraph_core.batch.work.quiet_worker"}
        sigterm = signal.getsignal(signal.SIGTERM)
        if self.address == "local":
            ray.init(num_cpus=self.cpus or cpu_count(), include_dashboard=False, runtime_env=runtime_env,
                     logging_level=logging.WARNING)
        else:
            ray.init(address=self.address, runtime_env=runtime_env, logging_level=logging.WARNING)
        if sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, sigterm)  # ray.init's handler exits at once; the batch stops cleanly
        try:
            task = ray.remote(fn).options(num_cpus=self.threads, num_gpus=1 if self.gpu else 0,
                                          max_retries=self.retries)
            pending = {task.remote(order): order for order in orders}
            cancelled = False
            while pending:
                if self._stopped and not cancelled:
                    for ref in pending:
                        ray.cancel(ref)
                    cancelled = True
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    yield self._result(ref, pending.pop(ref))
        finally:
            ray.shutdown()

    def _result(self, ref, order: WorkOrder) -> WorkResult:
        errors = self.ray.exceptions
        source = order.item.source
        try:
            return self.ray.get(ref)
        except errors.TaskCancelledError:
            return WorkResult(source, False, "interrupted", interrupted=True)
        except errors.OutOfMemoryError as e:
            return WorkResult(source, False, f"out of memory: Ray's memory monitor stopped it ({_first_line(e)}); "
                                             "use a smaller --size or more memory per task")
        except (errors.WorkerCrashedError, errors.NodeDiedError, errors.LocalRayletDiedError) as e:
            return _died(source, self.retries + 1, f"Ray: {_first_line(e)}")
        except errors.RayError as e:
            return WorkResult(source, False, f"Ray: {_first_line(e)}")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise CinemagraphError(f"--ray needs the optional ray package: {RAY_INSTALL}") from e
    return ray
