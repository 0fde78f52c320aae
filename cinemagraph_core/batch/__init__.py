"""Many cinemagraphs in one resumable run, on local worker processes or a Ray cluster.

``items`` lists what to make (a folder with sidecar files or a JSONL manifest), ``report`` keeps
``batch_report.jsonl``, ``work`` makes one item in a worker, ``engines`` runs the items (local processes
or Ray), ``run`` ties them together: ``run_batch(source, BatchOptions(out=...))``.
"""
from .report import REPORT_NAME
from .run import BatchOptions, BatchSummary, run_batch

__all__ = ["REPORT_NAME", "BatchOptions", "BatchSummary", "run_batch"]
