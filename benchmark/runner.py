"""Runs jobs with joblib (in-process, local processes or a Dask cluster) and stores each row.

Rows are stored by the main process as each job finishes, so whatever happens to a run, the
finished jobs are kept; stored ok/n.a. jobs are skipped when the same run starts again.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Iterator

from joblib import Parallel, delayed

from detectors.progress import epoch_listener

from .jobs import Job, run_job
from .progress import JobBar
from .store import ResultsStore
from .timings import expected_costs, stored_timings


@dataclass
class RunSummary:
    planned: int
    skipped: int
    ok: int = 0
    failed: int = 0
    not_applicable: int = 0


def device_for(index: int, device: str, n_jobs: int) -> str:
    """Pin job ``index`` to one GPU when several are visible and several workers run."""
    if device != "auto" or n_jobs == 1:
        return device
    try:
        import torch

        count = torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable torch CUDA: leave the choice to the detector
        count = 0
    return f"cuda:{index % count}" if count > 1 else device


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None) -> Iterator[None]:
    if backend != "dask":
        yield
        return
    try:
        from dask.distributed import Client
        from joblib import parallel_config
    except ImportError:
        raise RuntimeError("--backend dask needs the 'dask' extra: pip install -e '.[dask]'") from None
    with Client(scheduler) if scheduler else Client(processes=True) as client, parallel_config(backend="dask"):
        del client
        yield


def run_jobs(jobs: list[Job], store: ResultsStore, *, data_dir: str | None, device: str = "auto",
             n_jobs: int = 1, backend: str = "loky", scheduler: str | None = None, progress: bool = True,
             plugins: tuple[str, ...] = ()) -> RunSummary:
    """Run every job not yet stored as done; store one row per job as it finishes."""
    rows = store.latest()
    done = store.done_keys()
    pending = [job for job in jobs if job.key not in done]
    summary = RunSummary(planned=len(jobs), skipped=len(jobs) - len(pending))
    if summary.skipped:
        print(f"resuming: {summary.skipped} stored, skipping; {len(pending)} of {len(jobs)} jobs to run",
              file=sys.stderr)
    costs = expected_costs(pending, device, stored_timings(rows))
    bar = JobBar(pending, costs, enabled=progress)
    arguments = [(job, data_dir, device_for(i, device, n_jobs), plugins) for i, job in enumerate(pending)]
    try:
        if n_jobs == 1 and backend == "loky":
            _consume(_in_process(arguments, bar), store, summary, bar)
        else:
            with _backend(backend, scheduler):
                parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered",
                                    backend=None if backend == "dask" else backend)
                _consume(parallel(delayed(run_job)(*args) for args in arguments), store, summary, bar)
    finally:
        bar.close()
    return summary


def _in_process(arguments, bar: "JobBar") -> Iterator[dict]:
    """Run jobs one by one, showing each one's name and its epochs while it trains."""
    for args in arguments:
        bar.started(args[0])
        with epoch_listener(bar.epoch):
            row = run_job(*args)
        yield row


def _consume(rows, store: ResultsStore, summary: RunSummary, bar: "JobBar") -> None:
    for row in rows:
        store.append(row)
        if row["status"] == "ok":
            summary.ok += 1
        elif row["status"] == "n.a.":
            summary.not_applicable += 1
        else:
            summary.failed += 1
            bar.write(f"FAILED {row['detector']} on {row['dataset']} (key {row['job_key']}): {row['error'][:300]}")
        bar.finished(row["job_key"], summary)
