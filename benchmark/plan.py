"""What a run will do and cost, for ``--dry-run``, before anything is trained."""
from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from .jobs import Job
from .store import ResultsStore


MAX_LISTED_JOBS = 100  # a dry run lists each job up to this many, then only the summary


def describe_plan(jobs: list[Job], store: ResultsStore) -> str:
    """Jobs per detector and dataset, how many are stored already, and the time the rest will take.

    Time comes from the runs already stored in the same folder (median seconds of a job of that
    detector and dataset); without them the estimate is left blank rather than guessed.
    """
    done = store.done_keys()
    stored = store.latest()
    timing = {}
    if len(stored):
        ok = stored[stored["status"] == "ok"].copy()
        ok["seconds"] = ok["fit_seconds"].astype(float) + ok["score_seconds"].astype(float)
        timing = ok.groupby(["detector", "dataset"])["seconds"].median().to_dict()
    frame = pd.DataFrame({
        "detector": [j.detector for j in jobs],
        "dataset": [j.experiment.dataset for j in jobs],
        "pending": [j.key not in done for j in jobs],
    })
    rows, total, known = [], 0.0, True
    for (detector, dataset), group in frame.groupby(["detector", "dataset"], sort=False):
        pending = int(group["pending"].sum())
        per_job = timing.get((detector, dataset))
        estimate = "" if per_job is None else f"{per_job * pending / 60:.1f} min"
        if per_job is None and pending:
            known = False
        total += (per_job or 0.0) * pending
        rows.append([detector, dataset, len(group), len(group) - pending, pending, estimate])
    listed = [f"{'stored ' if job.key in done else 'to run '} {job.key}  {job.describe()}" for job in jobs[:MAX_LISTED_JOBS]]
    if len(jobs) > MAX_LISTED_JOBS:
        listed.append(f"... and {len(jobs) - MAX_LISTED_JOBS} more")
    table = tabulate(rows, headers=["detector", "dataset", "jobs", "stored", "to run", "estimated time"], tablefmt="github")
    n_pending = int(frame["pending"].sum())
    footer = f"\n{len(jobs)} jobs, {len(jobs) - n_pending} already stored in {store.path}, {n_pending} to run"
    if n_pending:
        if not timing:
            footer += "; no stored timings in this folder to estimate the time from"
        else:
            footer += f"; estimated {total / 3600:.2f} h" + ("" if known else " for those with stored timings (others unknown)")
    return "\n".join(listed) + "\n\n" + table + footer
