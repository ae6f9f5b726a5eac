"""What a run will do and cost, for ``--dry-run``, before anything is trained."""
from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from .jobs import Job
from .store import ResultsStore
from .timings import PerfTimings, estimate, perf_estimate, stored_timings

MAX_LISTED_JOBS = 100  # a dry run lists each job up to this many, then only the summary

NO_TIMINGS = ("no stored timings of comparable jobs (same detector, parameters, dataset, subsampling, γl, γp, "
              "selection and device kind) in this folder, so no time estimate")
NO_PERF_HINT = ("`python -m benchmark.perf` times every deep detector on MNIST (`--datasets` for the others); "
                "with its CSVs in results/perf/ a dry run estimates those datasets' jobs from them")
SOURCE_STORED, SOURCE_PERF = "stored jobs", "perf benchmark"


def duration(seconds: float) -> str:
    """A time a reader takes in at a glance: seconds, minutes or hours."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def describe_plan(jobs: list[Job], store: ResultsStore, device: str = "auto", perf: PerfTimings | None = None,
                  batch_experiments: int = 1) -> str:
    """Jobs per detector and dataset, how many are stored already, and the time the rest will take.

    A stored row counts only when it comes from the detector's current computation version; the
    footer says how many stored rows of another version are to be rerun, per detector.

    Time comes from stored runs of comparable jobs in the same folder (see
    :mod:`benchmark.timings`), else, when ``perf`` is given, from the perf benchmark's per-epoch
    timings (:func:`benchmark.timings.perf_estimate`); a job covered by neither is counted as
    unknown rather than guessed. The table names the source of each estimate and the footer
    says how many pending jobs each source covers.

    ``batch_experiments`` K > 1 (the run's ``--batch-experiments``): the jobs the perf figures
    estimate are grouped as the runner would group them (:func:`benchmark.runner.group_jobs`) and
    each group costs the perf figures of its size (measured, interpolated or extrapolated, as the
    source says), shared equally by its jobs. The estimate is the sum over tasks: what one worker
    takes, one task after another.
    """
    from .runner import group_jobs

    state = store.resume(jobs)
    done = state.done
    timings = stored_timings(store.latest())
    seconds: list[float | None] = [estimate(job, device, timings) for job in jobs]
    sources = [SOURCE_STORED if value is not None else "" for value in seconds]
    perf_files: set[str] = set()
    group_notes: dict[int, str] = {}  # group size -> how the perf figures covered it
    index = {id(job): i for i, job in enumerate(jobs)}
    rest = [job for job, value in zip(jobs, seconds) if value is None and job.key not in done]
    for group in group_jobs(rest, max(int(batch_experiments), 1), device):
        from_perf = perf_estimate(group[0], perf, len(group))
        if from_perf is None:
            continue
        perf_files.add(from_perf.source)
        if from_perf.group:
            group_notes[len(group)] = from_perf.group
        for job in group:
            seconds[index[id(job)]] = from_perf.seconds / len(group)
            sources[index[id(job)]] = SOURCE_PERF
    frame = pd.DataFrame({
        "detector": [j.detector for j in jobs],
        "dataset": [j.experiment.dataset for j in jobs],
        "pending": [j.key not in done for j in jobs],
        "seconds": seconds,
        "source": sources,
    })
    rows = []
    for (detector, dataset), group in frame.groupby(["detector", "dataset"], sort=False):
        todo = group[group["pending"]]
        known = todo["seconds"].notna()
        if not len(todo) or not known.any():
            text, source = "", ""
        else:
            text = duration(todo["seconds"].sum()) + ("" if known.all() else f" for {int(known.sum())} of {len(todo)}")
            source = " + ".join(dict.fromkeys(todo.loc[known, "source"]))
        rows.append([detector, dataset, len(group), len(group) - len(todo), len(todo), text, source])
    listed = [f"{'stored ' if job.key in done else 'to run '} {job.key}  {job.describe()}" for job in jobs[:MAX_LISTED_JOBS]]
    if len(jobs) > MAX_LISTED_JOBS:
        listed.append(f"... and {len(jobs) - MAX_LISTED_JOBS} more")
    table = tabulate(rows, headers=["detector", "dataset", "jobs", "stored", "to run", "estimated time", "source"],
                     tablefmt="github")
    todo = frame[frame["pending"]]
    footer = f"\n{len(jobs)} jobs, {len(jobs) - len(todo)} already stored in {store.path}, {len(todo)} to run"
    if not state.stale.empty:
        footer += f" ({state.describe()})"
    if len(todo):
        known = todo["seconds"].notna()
        n_perf = int((todo["source"] == SOURCE_PERF).sum())
        if not known.any():
            footer += f"; {NO_TIMINGS}"
            if perf is None:
                footer += f" ({NO_PERF_HINT})"
        elif not n_perf and known.all():
            footer += f"; estimated {duration(todo['seconds'].sum())} from comparable stored jobs"
        elif not n_perf:
            footer += (f"; estimated {duration(todo['seconds'].sum())} for the {int(known.sum())} of {len(todo)} "
                       "with comparable stored jobs, the others unknown")
        else:
            n_stored = int(known.sum()) - n_perf
            footer += (f"; estimated {duration(todo['seconds'].sum())} for {int(known.sum())} of {len(todo)}: "
                       f"{n_stored} from comparable stored jobs, {n_perf} from the perf benchmark's seconds per epoch"
                       + (f" in groups of up to {batch_experiments} trained together" if batch_experiments > 1 else "")
                       + f" ({'; '.join(sorted(perf_files))})" + ("" if known.all() else ", the others unknown"))
            if group_notes:
                footer += "; group sizes: " + ", ".join(note for _, note in sorted(group_notes.items()))
    return "\n".join(listed) + "\n\n" + table + footer
