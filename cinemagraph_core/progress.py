"""Progress reporting and interruption for long loops.

Long functions take ``progress: ProgressFn | None``. They call it as ``progress(done, total)``
after each unit of work (a frame, a layer, a chunk). The callback may raise (for example
``errors.Interrupted`` or ComfyUI's interruption exception) to stop the work between units; the
functions never swallow that exception.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional, TypeVar

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")


def track(items: Iterable[T], total: int, progress: Optional[ProgressFn]) -> Iterator[T]:
    """Yield ``items``; report ``progress(0, total)`` first, then ``(i + 1, total)`` after item i."""
    if progress is not None:
        progress(0, total)
    for i, item in enumerate(items):
        yield item
        if progress is not None:
            progress(i + 1, total)


def scaled(progress: Optional[ProgressFn], start: int, span: int, total: int) -> Optional[ProgressFn]:
    """A callback that maps a sub-step's (done, sub_total) onto [start, start + span] of ``total``."""
    if progress is None:
        return None

    def report(done: int, sub_total: int) -> None:
        progress(start + (span * done) // max(sub_total, 1), total)

    return report
