"""Runs jobs with joblib (in-process, local processes or a Dask cluster) and stores each row.

Rows are stored by the main process as each task finishes, so whatever happens to a run, the
finished jobs are kept; stored ok/n.a. jobs are skipped when the same run starts again, unless
their row comes from another computation version of the detector (:mod:`benchmark.versions`).

A task is one job, or, with ``batch_experiments=K``, a group of at most K pending jobs of one
cell (same detector, parameters, selection, dataset, γl, γp, k_l and subsampling) that the
detector trains as one model (the batched trainer registered for its class, see
:mod:`detectors.batched`). Resume stays per job: only pending jobs are grouped, and every job gets
its own row. Detectors without a batched trainer run one by one, and so do image cells on CPU
(:func:`detectors.batched.stacking_pays`). ``workers_per_gpu=N`` runs N tasks per GPU at a time
(:mod:`benchmark.devices`).
"""
from __future__ import annotations

import contextlib
import sys
import uuid
from dataclasses import dataclass
from typing import Iterator

from joblib import Parallel, delayed

from detectors.progress import epoch_listener

from .devices import gpu_slot, remove_slots, visible_gpus
from .jobs import Job, run_group
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
             plugins: tuple[str, ...] = (), batch_experiments: int = 1,
             workers_per_gpu: int | None = None) -> RunSummary:
    """Run every job not yet stored as done; store one row per job as its task finishes.

    ``batch_experiments``: the largest group of one cell's jobs trained together (1: none).
    ``workers_per_gpu``: run that many tasks on each visible GPU at a time (instead of
    ``n_jobs``), each task on a GPU slot it holds while it runs.
    """
    rows = store.latest()
    state = store.resume(jobs)
    pending = [job for job in jobs if job.key not in state.done]
    summary = RunSummary(planned=len(jobs), skipped=len(jobs) - len(pending))
    if summary.skipped or not state.stale.empty:
        print(f"resuming: {summary.skipped} stored, skipping; {len(pending)} of {len(jobs)} jobs to run",
              file=sys.stderr)
    if not state.stale.empty:
        print(f"note: {state.describe()}", file=sys.stderr)
    groups = group_jobs(pending, max(batch_experiments, 1), device)
    costs = expected_costs(pending, device, stored_timings(rows))
    bar = JobBar(pending, costs, enabled=progress)
    run_id = uuid.uuid4().hex
    slots = None
    if workers_per_gpu is not None:
        n_jobs, slots = _gpu_workers(workers_per_gpu, device, run_id)
    arguments = [(group, data_dir, device_for(i, device, n_jobs) if slots is None else device, plugins, slots)
                 for i, group in enumerate(groups)]
    try:
        if n_jobs == 1 and backend == "loky":
            _consume(_in_process(arguments, bar), store, summary, bar)
        else:
            with _backend(backend, scheduler):
                parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered",
                                    backend=None if backend == "dask" else backend)
                _consume(parallel(delayed(run_task)(*args) for args in arguments), store, summary, bar)
    finally:
        bar.close()
        if slots is not None:
            remove_slots(run_id)
    return summary


def run_task(jobs: list[Job], data_dir: str | None, device: str, plugins: tuple[str, ...] = (),
             slots: tuple[str, int, int] | None = None) -> list[dict]:
    """One task (a job or a group) in whichever process runs it; with ``slots`` (run id, workers
    per GPU, number of GPUs) on a GPU slot held for the task's duration."""
    if slots is None:
        return run_group(jobs, data_dir, device, plugins)
    with gpu_slot(*slots) as gpu:
        return run_group(jobs, data_dir, gpu, plugins)


def batch_key(job: Job) -> tuple:
    """What the jobs of one group share: everything but the normal/known classes and the seed."""
    e = job.experiment
    return (job.detector, job.params_json, job.selection, e.dataset, e.gamma_l, e.gamma_p, e.k_l,
            e.max_train_normals, e.max_test)


def group_jobs(jobs: list[Job], size: int, device: str = "auto") -> list[list[Job]]:
    """Tasks: groups of at most ``size`` jobs with one :func:`batch_key` whose detector can train
    them together where stacking pays on ``device`` (:func:`detectors.batched.stacking_pays`: not
    image sets on CPU), in the order of their first job; every other job alone."""
    from datasets import DATASETS
    from detectors import get_detector_class
    from detectors.batched import stacking_pays, supports_batching

    def batchable(name: str) -> bool:
        try:
            return supports_batching(get_detector_class(name))
        except Exception:  # noqa: BLE001 - an unknown name fails in its own job, with its message
            return False

    groups: list[list[Job]] = []
    open_group: dict[tuple, list[Job]] = {}
    for job in jobs:
        info = DATASETS.get(job.experiment.dataset)
        images = info is not None and info.kind == "image"
        if size <= 1 or not batchable(job.detector) or not stacking_pays(device, images):
            groups.append([job])
            continue
        key = batch_key(job)
        group = open_group.get(key)
        if group is None or len(group) >= size:
            group = open_group[key] = []
            groups.append(group)
        group.append(job)
    return groups


def _gpu_workers(workers_per_gpu: int, device: str, run_id: str) -> tuple[int, tuple[str, int, int] | None]:
    """Workers and slot settings for ``workers_per_gpu``: N per GPU visible where the run starts,
    with slots, or N on the one GPU that ``device`` names."""
    if device.startswith("cuda:"):
        return workers_per_gpu, None
    count = visible_gpus()
    if device == "cpu" or count == 0:
        raise ValueError(f"workers_per_gpu needs a visible CUDA GPU (device {device!r}, {count} GPUs seen)")
    return workers_per_gpu * count, (run_id, workers_per_gpu, count)


def _in_process(arguments, bar: "JobBar") -> Iterator[list[dict]]:
    """Run tasks one by one, showing each one's (first) job and its epochs while it trains."""
    for args in arguments:
        bar.started(args[0][0])
        with epoch_listener(bar.epoch):
            rows = run_task(*args)
        yield rows


def _consume(tasks, store: ResultsStore, summary: RunSummary, bar: "JobBar") -> None:
    for row in (row for rows in tasks for row in rows):
        store.append(row)
        if row["status"] == "ok":
            summary.ok += 1
        elif row["status"] == "n.a.":
            summary.not_applicable += 1
        else:
            summary.failed += 1
            bar.write(f"FAILED {row['detector']} on {row['dataset']} (key {row['job_key']}): {row['error'][:300]}")
        bar.finished(row["job_key"], summary)
