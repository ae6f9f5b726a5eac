"""A job (one detector on one experiment under one selection policy) and how to run it.

``run_job`` never raises for a detector's failure: it returns a row with status ``failed`` and
the reason, or ``n.a.`` when the detector is undefined for the data, so one bad job never stops
a suite. It runs in whichever process the runner sends it to, so it takes plain arguments.
"""
from __future__ import annotations

import json
import platform
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from . import PROTOCOL_VERSION
from .protocol import Experiment, InfeasibleExperimentError, make_split
from .seeding import stable_hash
from .versions import suite_version


@dataclass(frozen=True)
class Job:
    suite: str
    experiment: Experiment
    detector: str
    params_json: str  # the detector's parameters, canonical JSON (sorted keys)
    selection: str
    # Command-line options that do not define the job but are needed to rerun it (--out, --plugin).
    rerun_options: tuple[str, ...] = field(default=(), compare=False)
    # The run's scale (benchmark.scales): "paper" is the suite's own settings; any other scale is
    # part of the job's identity, so its rows never pass for the paper-size run's.
    scale: str = "paper"

    @property
    def params(self) -> dict[str, Any]:
        return json.loads(self.params_json)

    @property
    def key(self) -> str:
        """Stable id of what defines the result (not the suite, the device or the run order).

        A scale other than ``paper`` is hashed in; the ``paper`` scale adds nothing, so the keys of
        rows stored before scales existed (all of the paper scale) stay valid.
        """
        parts = ("job", PROTOCOL_VERSION, self.experiment.fields(), self.detector, self.params_json, self.selection)
        return stable_hash(*parts, *(() if self.scale == "paper" else (("scale", self.scale),)))

    @property
    def detector_version(self) -> int | None:
        """The computation version this job's detector has in this process's code, for the job's
        network family (:func:`benchmark.versions.detector_version`); None when not registered."""
        from .versions import detector_version

        return detector_version(self.detector, self.params, self.experiment.dataset)

    def describe(self) -> str:
        e = self.experiment
        where = e.dataset if e.normal_class < 0 else f"{e.dataset} normal={e.normal_class} known={e.known_class}"
        scale = "" if self.scale == "paper" else f", {self.scale} scale"
        return (f"{self.detector} on {where} γl={e.gamma_l} γp={e.gamma_p} k_l={e.k_l} seed={e.seed} "
                f"({self.selection}{scale})")

    def rerun_command(self) -> str:
        """One command that reruns this job alone."""
        e = self.experiment
        parts = [python_command(), "run_benchmark.py", "--suite", self.suite, "--detectors", self.detector,
                 "--datasets", e.dataset, "--gamma-l", str(e.gamma_l), "--gamma-p", str(e.gamma_p),
                 "--k-l", str(e.k_l), "--seed-offset", str(e.seed), "--seeds", "1", "--selection", self.selection]
        if self.scale != "paper":
            parts += ["--scale", self.scale]
        if e.normal_class >= 0:
            parts += ["--normal-classes", str(e.normal_class)]
        if e.known_class is not None:
            parts += ["--known-classes", str(e.known_class)]
        if e.max_train_normals is not None:
            parts += ["--max-train-normals", str(e.max_train_normals)]
        if e.max_test is not None:
            parts += ["--max-test", str(e.max_test)]
        for name, value in sorted(self.params.items()):
            parts += ["--param", f"{self.detector}.{name}={json.dumps(value)}"]
        return shlex.join(parts + list(self.rerun_options))


def python_command() -> str:
    """The interpreter to write into commands a user will paste (reruns, report hints).

    ``scripts/setup.sh`` installs into the repository's ``.venv``, which is not activated: a bare
    ``python`` would miss every dependency. When this process runs from that ``.venv``, commands
    say ``.venv/bin/python`` (run from the repository root, like ``run_benchmark.py`` itself);
    in any other environment the user installed into, ``python``.
    """
    venv = Path(__file__).resolve().parents[1] / ".venv"
    return ".venv/bin/python" if Path(sys.prefix).resolve() == venv.resolve() else "python"


def canonical_params(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=4)
def _dataset(name: str, data_dir: str | None):
    from datasets import load_dataset

    return load_dataset(name, data_dir)


def package_versions() -> str:
    import pyod
    import sklearn
    import torch

    return json.dumps({"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                       "sklearn": sklearn.__version__, "pyod": pyod.__version__, "protocol": PROTOCOL_VERSION})


def run_job(job: Job, data_dir: str | None, device: str, plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fit and score one job; always returns a complete row.

    ``plugins`` are the user's detector modules: a worker process imports them itself.
    """
    row = _new_row(job, device)
    try:
        detector, split = _prepare(job, row, data_dir, device, plugins)
        start = time.perf_counter()
        detector.fit(split.X_train, split.y_train, eval_set=split.eval_set)
        row["fit_seconds"] = round(time.perf_counter() - start, 3)
        _score_into(row, detector, split)
    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the suite
        _record_failure(row, exc)
    row["timestamp"] = _now()
    return row


def run_group(jobs: list[Job], data_dir: str | None, device: str, plugins: tuple[str, ...] = (),
              _retry_of: int | None = None) -> list[dict[str, Any]]:
    """Fit the jobs of one cell together (the batched trainer of their detector class,
    :func:`detectors.batched.fit_many`) and score each; one row per
    job, as :func:`run_job` would store it, with the flag ``trained_in_group_of=k``.

    ``fit_seconds`` of each row is the group's fitting time divided by the jobs trained in it (the
    job's share, so that time estimates per job stay comparable). A CUDA out-of-memory error in
    a group of several jobs is answered by training each half of the group once more (their rows
    say ``oom_retry_from_group_of=k``); a half that runs out of memory again is stored as failed
    with that reason, and the run goes on.
    """
    if len(jobs) == 1:  # alone: the detector's own fit
        row = run_job(jobs[0], data_dir, device, plugins)
        if _retry_of is not None:
            _add_flag(row, f"oom_retry_from_group_of={_retry_of}")
        return [row]
    rows = [_new_row(job, device) for job in jobs]
    prepared = []
    for job, row in zip(jobs, rows):
        try:
            prepared.append((row, *_prepare(job, row, data_dir, device, plugins)))
        except Exception as exc:  # noqa: BLE001
            _record_failure(row, exc)
    if prepared:
        from detectors.batched import fit_many

        start = time.perf_counter()
        try:
            outcomes = fit_many([d for _, d, _ in prepared],
                                [(split.X_train, split.y_train, split.eval_set) for _, _, split in prepared])
        except Exception as exc:  # noqa: BLE001
            if _is_cuda_oom(exc) and len(jobs) > 1 and _retry_of is None:
                del prepared
                _release_cuda_memory()
                half = (len(jobs) + 1) // 2
                return [row for part in (jobs[:half], jobs[half:])
                        for row in run_group(part, data_dir, device, plugins, _retry_of=len(jobs))]
            outcomes = [exc] * len(prepared)
        share = round((time.perf_counter() - start) / len(prepared), 3)
        for (row, detector, split), outcome in zip(prepared, outcomes):
            _add_flag(row, f"trained_in_group_of={len(prepared)}")
            if _retry_of is not None:
                _add_flag(row, f"oom_retry_from_group_of={_retry_of}")
            if outcome is not None:
                _record_failure(row, outcome)
                continue
            row["fit_seconds"] = share
            try:
                _score_into(row, detector, split)
            except Exception as exc:  # noqa: BLE001
                _record_failure(row, exc)
    for row in rows:
        row["timestamp"] = _now()
    return rows


def _new_row(job: Job, device: str) -> dict[str, Any]:
    e = job.experiment
    return {
        "job_key": job.key, "suite": job.suite, "protocol_version": PROTOCOL_VERSION, "dataset": e.dataset,
        "normal_class": e.normal_class, "known_classes": "", "k_l": e.k_l, "gamma_l": e.gamma_l,
        "gamma_p": e.gamma_p, "seed": e.seed, "selection": job.selection, "scale": job.scale,
        "max_train_normals": e.max_train_normals,
        "max_test": e.max_test, "detector": job.detector, "detector_params": job.params_json,
        "detector_version": None, "status": "failed",
        "error": "", "auroc": None, "auprc": None, "n_train": None, "n_collected": None, "n_test": None,
        "fit_seconds": None, "score_seconds": None, "device": device, "selected_epoch": None, "selected_score": None,
        "flags": "", "suite_version": suite_version(), "versions": package_versions(), "timestamp": "", "rerun": job.rerun_command(),
    }


def _prepare(job: Job, row: dict[str, Any], data_dir: str | None, device: str, plugins: tuple[str, ...]):
    """The job's split and its unfitted detector; the detector's computation version and the split's
    sizes go into ``row``."""
    from detectors import get_detector_class, load_plugin

    e = job.experiment
    for plugin in plugins:
        load_plugin(plugin)
    row["detector_version"] = job.detector_version  # after the plugins: a user's detector is known now
    dataset = _dataset(e.dataset, data_dir)
    split = make_split(dataset, e, job.selection)
    row.update(known_classes=";".join(str(c) for c in split.info["known_classes"]),
               n_train=split.info["n_train"], n_collected=split.info["n_collected"], n_test=split.info["n_test"])
    cls = get_detector_class(job.detector)
    params = dict(job.params)
    accepted = cls().get_params()
    # What the experiment decides, unless the suite or the user fixed it: the network family,
    # the device and a seed shared by every detector of the experiment.
    for name, value in (("arch", dataset.arch), ("device", device), ("random_state", e.split_seed())):
        if name in accepted and name not in params:
            params[name] = value
    return cls(**params), split


def _score_into(row: dict[str, Any], detector: Any, split: Any) -> None:
    """Score the test set with the fitted ``detector``; metrics, timing and status into ``row``."""
    start = time.perf_counter()
    scores = detector.decision_function(split.X_test)
    row["score_seconds"] = round(time.perf_counter() - start, 3)
    info = getattr(detector, "fit_info_", {}) or {}
    row.update(selected_epoch=info.get("selected_epoch"), selected_score=info.get("selected_score"))
    used = getattr(detector, "device_", None)
    if used is not None:
        row["device"] = str(used)
    if np.ptp(scores) == 0:
        _add_flag(row, "constant_scores")
    row["auroc"] = float(roc_auc_score(split.y_test, scores))
    row["auprc"] = float(average_precision_score(split.y_test, scores))
    row["status"] = "ok"


def _record_failure(row: dict[str, Any], exc: BaseException) -> None:
    """Status and reason of a job that did not finish: ``n.a.`` when the detector or split is
    undefined for it, ``failed`` otherwise (a CUDA out-of-memory error says so first)."""
    from detectors import DivergenceError, NotApplicableError

    if isinstance(exc, NotApplicableError):
        row.update(status="n.a.", error=str(exc))
    elif isinstance(exc, InfeasibleExperimentError):
        row.update(status="n.a.", error=f"split not possible: {exc}")
    elif isinstance(exc, DivergenceError):
        row.update(status="failed", error=f"diverged: {exc}")
    elif _is_cuda_oom(exc):
        _release_cuda_memory()
        row.update(status="failed", error=f"CUDA out of memory: {exc}"[:2000])
    else:
        tail = traceback.format_exception(exc, limit=-2)
        tail = "".join(tail).strip().splitlines()[-3:]
        row.update(status="failed", error=f"{type(exc).__name__}: {exc} | {' / '.join(tail)}"[:2000])


def _add_flag(row: dict[str, Any], flag: str) -> None:
    row["flags"] = f"{row['flags']};{flag}" if row["flags"] else flag


def _is_cuda_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError)


def _release_cuda_memory() -> None:
    """Give cached CUDA blocks back so that the next job on this GPU starts from a clean pool."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
