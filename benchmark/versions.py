"""Which version of the code made a row: the detector's computation version and the suite's own.

Every stored row records ``detector_version`` (the detector class's ``computation_version`` for
the job's network family, see :func:`detector_version`) and ``suite_version`` (the installed
package's version). A job key names what a job computes on (data, detector, parameters, policy),
not the code that computed it, so the version is what tells a current row from one that a later
change of the detector made stale:

- a resumed run treats a stored row of another version as not done and reruns it, saying how
  many and why (:func:`resume_state`);
- the reports use, per detector and dataset, the rows of the newest version only, and list the
  others (:mod:`benchmark.reports.load`).

A row without a version (written before rows recorded one) is of an unknown version: it is never
taken for the current one. :mod:`benchmark.migrate` marks such rows explicitly.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import pandas as pd

DONE_STATUSES = ("ok", "n.a.")  # stored rows that a resumed run does not repeat

if TYPE_CHECKING:
    from .jobs import Job

PACKAGE = "aabench"
VERSION_COLUMNS = ("detector_version", "suite_version")


@lru_cache(maxsize=1)
def suite_version() -> str:
    """The installed package's version (``pyproject.toml``), or "unknown" when it is not installed."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


def version_of_class(cls: type, arch: str | None) -> int:
    """The computation version of ``cls`` on network family ``arch``.

    ``computation_version`` is the newest; walking down from it, a raise listed in
    ``computation_changes`` that did not touch ``arch`` gives way to the version before it. A class
    without these attributes (a user's detector of the same API) is at version 1.
    """
    current = int(getattr(cls, "computation_version", 1))
    changes = getattr(cls, "computation_changes", {}) or {}
    while current > 1 and current in changes and arch not in changes[current]:
        current -= 1
    return current


def detector_version(detector: str, params: dict[str, Any] | str, dataset: str) -> int | None:
    """The computation version a job of ``detector`` with ``params`` on ``dataset`` gets from the
    code of this process; None when the detector is not registered here (e.g. a plugin not loaded).

    The network family is the ``arch`` parameter when the job sets one, else the dataset's.
    """
    from datasets import DATASETS
    from detectors import get_detector_class

    try:
        cls = get_detector_class(detector)
    except KeyError:
        return None
    if isinstance(params, str):
        try:
            params = json.loads(params) if params else {}
        except json.JSONDecodeError:
            params = {}
    arch = params.get("arch") if isinstance(params, dict) else None
    if arch in (None, "auto"):
        info = DATASETS.get(dataset)
        arch = info.arch if info is not None else None
    return version_of_class(cls, arch)


def stored_versions(rows: pd.DataFrame) -> pd.Series:
    """The ``detector_version`` of each row as a nullable integer; missing (no column, empty
    field, not a number) where the row does not say."""
    if "detector_version" not in rows:
        return pd.Series(pd.NA, index=rows.index, dtype="Int64")
    return pd.to_numeric(rows["detector_version"], errors="coerce").astype("Int64")


@dataclass
class ResumeState:
    """What a run on a stored folder will skip and what it will rerun.

    ``done``: keys of planned jobs whose last row is ok or n.a. and of the job's current detector
    version. ``stale``: planned jobs whose last row is done but of another (or no recorded)
    version, one row each with ``job_key``, ``detector``, ``stored`` and ``current``.
    """

    done: set[str]
    stale: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["job_key", "detector", "stored",
                                                                             "current"]))

    def describe(self) -> str:
        """One sentence: how many stored rows are rerun and why, per detector; "" when none."""
        if self.stale.empty:
            return ""
        parts = []
        for (detector, current), rows in self.stale.groupby(["detector", "current"], sort=True):
            stored = rows["stored"].map(lambda v: "no recorded version" if pd.isna(v) else f"version {int(v)}")
            counts = ", ".join(f"{n} of {what}" for what, n in stored.value_counts(sort=False).items())
            parts.append(f"{detector} {len(rows)} ({counts}; the code is at version {current})")
        return (f"{len(self.stale)} stored rows come from another version of their detector and are rerun: "
                + "; ".join(parts))


def resume_state(jobs: list[Job], rows: pd.DataFrame) -> ResumeState:
    """Split the planned ``jobs`` into done and stale against the stored ``rows`` (the last row of
    each job, as :meth:`benchmark.store.ResultsStore.latest` gives them)."""
    if rows.empty:
        return ResumeState(done=set())
    done_rows = rows[rows["status"].isin(DONE_STATUSES)]
    stored = dict(zip(done_rows["job_key"], stored_versions(done_rows)))
    done, stale = set(), []
    for job in jobs:
        if job.key not in stored:
            continue
        current = job.detector_version
        have = stored[job.key]
        if current is not None and not pd.isna(have) and int(have) == current:
            done.add(job.key)
        elif current is None and not pd.isna(have):  # detector not registered here: cannot tell, keep
            done.add(job.key)
        else:
            stale.append({"job_key": job.key, "detector": job.detector, "stored": have,
                          "current": "unknown" if current is None else current})
    frame = pd.DataFrame(stale, columns=["job_key", "detector", "stored", "current"])
    return ResumeState(done=done, stale=frame)
