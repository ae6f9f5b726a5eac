"""The run's progress bar: which job is running, its epochs, and an ETA weighted by expected cost.

A plain count of jobs makes a poor ETA: in a suite where one GAN job costs as much as fifty
isolation forests, the first estimate would be a multiple of the truth. The bar therefore counts
expected seconds (:func:`benchmark.timings.expected_costs`: comparable stored timings, else a
per-detector prior) and derives the ETA from the average rate over the whole run (tqdm's
``smoothing=0``), so the first finished job calibrates the priors instead of dictating the total.

The running job and its epoch counter are shown only for in-process runs (``--jobs 1``): worker
processes cannot reach the bar, so with ``--jobs N`` the bar names the job that finished last.
"""
from __future__ import annotations

from typing import Any, Sequence, TextIO

from tqdm.auto import tqdm

from .jobs import Job


class JobBar:
    """tqdm over expected seconds, with ``done/total jobs``, status counts and the current job."""

    def __init__(self, jobs: Sequence[Job], costs: Sequence[float], *, enabled: bool = True,
                 file: TextIO | None = None):
        self._cost = {job.key: float(c) for job, c in zip(jobs, costs)}
        self._label = {job.key: job.describe() for job in jobs}
        self._n_jobs, self._done = len(jobs), 0
        self._counts = ""
        self._current = ""
        self._bar = tqdm(total=round(sum(self._cost.values()), 3) or None, disable=not enabled, dynamic_ncols=True,
                         smoothing=0.0, desc="jobs", file=file,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]{postfix}")
        self._show()

    def started(self, job: Job) -> None:
        self._current = "now: " + self._label.get(job.key, job.describe())
        self._show()

    def epoch(self, stage: str, epoch: int, total: int) -> None:
        self._show(f" · {stage} epoch {epoch}/{total}")

    def finished(self, key: str, summary: Any) -> None:
        self._done += 1
        self._counts = f"ok={summary.ok} failed={summary.failed} n.a.={summary.not_applicable}"
        self._current = "last: " + self._label.get(key, key)
        self._bar.update(self._cost.get(key, 0.0))
        self._show()

    def write(self, text: str) -> None:
        self._bar.write(text)

    def close(self) -> None:
        self._bar.close()

    def _show(self, extra: str = "") -> None:
        counts = f" {self._counts}" if self._counts else ""
        self._bar.set_postfix_str(f"{self._done}/{self._n_jobs} jobs{counts} | {self._current}{extra}", refresh=True)
