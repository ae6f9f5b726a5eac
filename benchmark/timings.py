"""Expected job cost: from stored timings of comparable jobs, else a rough per-detector prior.

A stored timing predicts a job only when the job is comparable: the same detector with the same
parameters, on the same dataset with the same subsampling, γl, γp and selection policy (they set
the data sizes and the validation work), on the same kind of device. A smoke job (10 epochs, 600
images) says nothing about a 200-epoch full-data job, so it is never used for one.

The priors only weight the progress bar, whose rate the run itself calibrates: they are measured
seconds of ``smoke`` jobs, so that the bar's first ETA does not treat a GAN job
and an isolation forest as the same amount of work. They never appear as an estimate in
``--dry-run``.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd

from .jobs import Job

#: Median seconds of one ``smoke`` job per detector, from a smoke run on a busy 2-core CPU (only
#: their ratios matter: the bar's rate rescales them); unknown detectors get the default.
PRIOR_SECONDS: dict[str, float] = {
    "aa-bigan": 111.0, "nda": 22.0, "deep-sad": 22.0, "ssad-hybrid": 9.0, "pyod-kde": 4.0, "supervised": 3.0,
    "aad": 2.3, "ssad-raw": 2.2, "ss-dgm": 2.2, "pyod-deepsvdd": 0.5, "pyod-ecod": 0.6, "pyod-iforest": 0.4,
    "pyod-ocsvm": 0.6,
}
DEFAULT_PRIOR_SECONDS = 10.0

#: What makes two jobs comparable for timing (besides the device kind).
COMPARABLE_FIELDS = ("detector", "detector_params", "dataset", "max_train_normals", "max_test", "gamma_l",
                     "gamma_p", "selection")


def device_kind(device: Any) -> str:
    """'cuda' or 'cpu'; 'auto' is resolved the way a detector would resolve it here."""
    text = str(device or "")
    if text == "auto":
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except Exception:  # noqa: BLE001 - no torch: CPU
            return "cpu"
    return "cuda" if text.startswith("cuda") else "cpu"


def _norm(value: Any) -> str:
    """One spelling per value, whether it comes from a Job or from the CSV (ints as floats, NaN as '')."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return ""
    try:
        return repr(round(float(value), 6))
    except (TypeError, ValueError):
        return str(value)


def job_timing_key(job: Job, device: str) -> tuple[str, ...]:
    e = job.experiment
    values = (job.detector, job.params_json, e.dataset, e.max_train_normals, e.max_test, e.gamma_l, e.gamma_p,
              job.selection)
    return tuple(_norm(v) for v in values) + (device_kind(device),)


def stored_timings(rows: pd.DataFrame) -> dict[tuple[str, ...], float]:
    """Median seconds (fit + score) of the ok rows, per comparable group."""
    if rows.empty:
        return {}
    ok = rows[rows["status"] == "ok"]
    out: dict[tuple[str, ...], list[float]] = {}
    for row in ok.to_dict("records"):
        try:
            seconds = float(row["fit_seconds"]) + float(row["score_seconds"])
        except (TypeError, ValueError):
            continue
        if not math.isfinite(seconds):
            continue
        key = tuple(_norm(row[f]) for f in COMPARABLE_FIELDS) + (device_kind(row["device"]),)
        out.setdefault(key, []).append(seconds)
    return {key: float(pd.Series(values).median()) for key, values in out.items()}


def estimate(job: Job, device: str, timings: dict[tuple[str, ...], float]) -> float | None:
    """Seconds a job is expected to take from comparable stored timings, None without any."""
    return timings.get(job_timing_key(job, device))


def expected_costs(jobs: Iterable[Job], device: str, timings: dict[tuple[str, ...], float]) -> list[float]:
    """Cost of each job for the progress bar: its comparable stored timing, else the detector's prior."""
    return [estimate(job, device, timings) or PRIOR_SECONDS.get(job.detector, DEFAULT_PRIOR_SECONDS)
            for job in jobs]
