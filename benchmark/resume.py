"""What a run on a stored folder skips and what it reruns: planned jobs against their stored rows.

A job is done when its last stored row is ok or n.a. and was made by the detector version the
job gets from this process's code (:mod:`benchmark.versions`); a done row of another (or no
recorded) version is stale, and the job runs again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .versions import DONE_STATUSES, stored_versions

if TYPE_CHECKING:
    from .jobs import Job


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
