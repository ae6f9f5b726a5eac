"""What a run will do and cost, for ``--dry-run``, before anything is trained."""
from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from .jobs import Job
from .store import ResultsStore
from .timings import estimate, stored_timings

MAX_LISTED_JOBS = 100  # a dry run lists each job up to this many, then only the summary

NO_TIMINGS = ("no stored timings of comparable jobs (same detector, parameters, dataset, subsampling, γl, γp, "
              "selection and device kind) in this folder, so no time estimate")


def duration(seconds: float) -> str:
    """A time a reader takes in at a glance: seconds, minutes or hours."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def describe_plan(jobs: list[Job], store: ResultsStore, device: str = "auto") -> str:
    """Jobs per detector and dataset, how many are stored already, and the time the rest will take.

    Time comes only from stored runs of comparable jobs in the same folder (see
    :mod:`benchmark.timings`); a job without one is counted as unknown rather than guessed, and
    the footer says how many pending jobs the estimate covers.
    """
    done = store.done_keys()
    timings = stored_timings(store.latest())
    frame = pd.DataFrame({
        "detector": [j.detector for j in jobs],
        "dataset": [j.experiment.dataset for j in jobs],
        "pending": [j.key not in done for j in jobs],
        "seconds": [estimate(j, device, timings) for j in jobs],
    })
    rows = []
    for (detector, dataset), group in frame.groupby(["detector", "dataset"], sort=False):
        todo = group[group["pending"]]
        known = todo["seconds"].notna()
        if not len(todo) or not known.any():
            text = ""
        else:
            text = duration(todo["seconds"].sum()) + ("" if known.all() else f" for {int(known.sum())} of {len(todo)}")
        rows.append([detector, dataset, len(group), len(group) - len(todo), len(todo), text])
    listed = [f"{'stored ' if job.key in done else 'to run '} {job.key}  {job.describe()}" for job in jobs[:MAX_LISTED_JOBS]]
    if len(jobs) > MAX_LISTED_JOBS:
        listed.append(f"... and {len(jobs) - MAX_LISTED_JOBS} more")
    table = tabulate(rows, headers=["detector", "dataset", "jobs", "stored", "to run", "estimated time"], tablefmt="github")
    todo = frame[frame["pending"]]
    footer = f"\n{len(jobs)} jobs, {len(jobs) - len(todo)} already stored in {store.path}, {len(todo)} to run"
    if len(todo):
        known = todo["seconds"].notna()
        if not known.any():
            footer += f"; {NO_TIMINGS}"
        elif known.all():
            footer += f"; estimated {duration(todo['seconds'].sum())} from comparable stored jobs"
        else:
            footer += (f"; estimated {duration(todo['seconds'].sum())} for the {int(known.sum())} of {len(todo)} "
                       "with comparable stored jobs, the others unknown")
    return "\n".join(listed) + "\n\n" + table + footer
