"""The batch report ``DIR/batch_report.jsonl``: one JSON line per item, then a summary line.

A run reads the previous report (to skip what is up to date and to know which videos in DIR it wrote),
starts a new one holding the lines it carries over, and appends each item's line, flushed to disk, as
soon as the item ends, so an interruption at any point leaves a report the next run can resume from.
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import CinemagraphError

log = logging.getLogger("cinemagraph")

REPORT_NAME = "batch_report.jsonl"
STATUSES = ("done", "failed", "skipped")


@dataclass(frozen=True)
class Record:
    """One item's line.

    item: where it came from ('river.png', 'list.jsonl:3').  status: done, failed or skipped (up to date).
    reason: why it failed or was skipped.  output: its video's file name in DIR (None when it has none).
    seconds: time it took.  stages: the path each stage took ({'depth': 'prior', ..., 'renderer': 'warp'}).
    frames, size: frame count and [width, height] of the video.  timings: seconds to load the files,
    prepare the scene (depth, motion, layers, points) and render and write the frames.
    input_digest, settings_digest: SHA-256 of its input files and of everything that decides its video
    (what resuming compares).
    """

    item: str
    status: str
    reason: str = ""
    output: Optional[str] = None
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)
    frames: Optional[int] = None
    size: Optional[list] = None
    timings: dict = field(default_factory=dict)
    input_digest: Optional[str] = None
    settings_digest: Optional[str] = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Record":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def read_records(folder: Path) -> list[Record]:
    """The item lines of ``folder``'s report in file order (none when there is no report); a line that is
    not a record (a summary, a line cut short by a crash) is passed over."""
    path = Path(folder) / REPORT_NAME
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        try:
            data = json.loads(line)
            if isinstance(data, dict) and data.get("status") in STATUSES and isinstance(data.get("item"), str):
                records.append(Record.from_json(data))
            elif not (isinstance(data, dict) and "summary" in data):
                raise ValueError("not a record")
        except (ValueError, TypeError):
            log.info("%s line %d is not a report line; passed over", REPORT_NAME, number)
    return records


class ReportWriter:
    """Writes a new report: ``first`` lines at once (replacing the old report atomically), then one line
    per ``add``, each flushed to disk."""

    def __init__(self, folder: Path, first: list[Record]):
        self.path = Path(folder) / REPORT_NAME
        tmp = self.path.with_name(f".{REPORT_NAME}.partial")
        with open(tmp, "w") as f:
            f.writelines(r.to_json() + "\n" for r in first)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._file = open(self.path, "a")

    def add(self, record: Record) -> None:
        self._line(record.to_json())

    def summary(self, summary: dict[str, Any]) -> None:
        self._line(json.dumps({"summary": summary}))

    def _line(self, text: str) -> None:
        self._file.write(text + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


@contextmanager
def locked_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (flock on the folder itself): one batch run per output folder.
    Where locks are not available (no fcntl, some network file systems) the run goes on with a note."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise CinemagraphError(f"another batch run is writing to {folder}: wait for it or use another --out") from e
        except OSError as e:
            log.info("cannot lock %s (%s): make sure no other batch run writes there", folder, e)
        yield
    finally:
        os.close(fd)
