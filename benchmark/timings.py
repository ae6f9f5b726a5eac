"""Expected job cost: from stored timings of comparable jobs, else a rough per-detector prior.

A stored timing predicts a job only when the job is comparable: the same detector with the same
parameters, on the same dataset with the same subsampling, γl, γp and selection policy (they set
the data sizes and the validation work), on the same kind of device. A smoke job (10 epochs, 600
images) says nothing about a 200-epoch full-data job, so it is never used for one.

Without a comparable stored job, ``--dry-run`` falls back on the per-epoch timings of
``python -m benchmark.perf`` for the device kind at hand (:func:`load_perf_timings`,
:func:`perf_estimate`): setup + epochs × seconds per epoch for every training stage + scoring
the test set + one scoring of the validation set per evaluation. They cover only jobs on the
datasets the perf benchmark timed (MNIST by default, others with its ``--datasets``) with its
number of training normals (other normal classes are taken to be of the same size: MNIST's
classes hold 5,421 to 6,742 training images), and they were measured with the perf run's thread
count; the dry run names the file they came from. With ``--batch-experiments K`` a group of the
runner's is costed from the perf rows of groups (:meth:`PerfTimings.at`).

The priors only weight the progress bar, whose rate the run itself calibrates: they are measured
seconds of ``smoke`` jobs, so that the bar's first ETA does not treat a GAN job
and an isolation forest as the same amount of work. They never appear as an estimate in
``--dry-run``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pandas as pd

from .devices import cpu_description, device_kind
from .jobs import Job

#: Median seconds of one ``smoke`` job per detector on a 2-core CPU (only
#: their ratios matter: the bar's rate rescales them); unknown detectors get the default.
PRIOR_SECONDS: dict[str, float] = {
    "aa-bigan": 6.6, "nda": 2.2, "deep-sad": 2.0, "ssad-hybrid": 1.2, "supervised": 0.7, "ssad-raw": 0.5,
    "ss-dgm": 0.4,
}
DEFAULT_PRIOR_SECONDS = 1.0

#: What makes two jobs comparable for timing (besides the device kind).
COMPARABLE_FIELDS = ("detector", "detector_params", "dataset", "max_train_normals", "max_test", "gamma_l",
                     "gamma_p", "selection")


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


# -- estimates from the perf benchmark (benchmark.perf) -------------------------------------------
@dataclass(frozen=True)
class PerfEntry:
    """One detector's timings in a perf CSV at one K (experiments trained together): seconds per
    epoch of each stage and the rest, for the whole group of K."""

    stages: dict[str, float]  # stage -> wall seconds per epoch
    setup_seconds: float
    score_seconds: float  # scoring the perf run's test set (K times at K > 1)
    n_test: int
    n_val: int
    source: str  # the CSV it came from, with its thread count
    k: int = 1


@dataclass
class PerfTimings:
    """Per (dataset, detector, max_train_normals) timings from the perf CSVs of one device kind:
    ``entries`` at K = 1, ``groups`` at every K measured (K = 1 included)."""

    entries: dict[tuple[str, str, str], PerfEntry] = field(default_factory=dict)
    groups: dict[tuple[str, str, str], dict[int, PerfEntry]] = field(default_factory=dict)

    def at(self, key: tuple[str, str, str], k: int) -> tuple[PerfEntry, str] | None:
        """The timings of a group of ``k`` experiments and how they were obtained: measured at
        that K; linearly interpolated between the two measured K around it; beyond the largest
        measured K, that group's cost per experiment times ``k`` (on a GPU, where larger groups
        share the device better, an upper bound); with only K = 1 measured, ``k`` times it (one
        after another). None without K = 1 timings."""
        measured = self.groups.get(key, {})
        if 1 not in measured:
            return None
        if k in measured:
            return measured[k], f"K = {k} measured" if k > 1 else ""
        ks = sorted(measured)
        below = max(m for m in ks if m < k)
        above = [m for m in ks if m > k]
        if above:
            t = (k - below) / (above[0] - below)
            how = f"K = {k} interpolated between K = {below} and {above[0]}"
            return _blend(measured[below], measured[above[0]], t, k), how
        how = (f"K = {k} as {k} experiments one by one (only K = 1 measured)" if below == 1 else
               f"K = {k} as {k}/{below} of the measured K = {below} group")
        return _scale(measured[below], k / below, k), how


def _blend(a: PerfEntry, b: PerfEntry, t: float, k: int) -> PerfEntry:
    """``a + t (b - a)`` for every time of two entries of one detector (stages of both)."""
    stages = {s: a.stages.get(s, 0.0) + t * (b.stages.get(s, 0.0) - a.stages.get(s, 0.0))
              for s in dict.fromkeys([*a.stages, *b.stages])}
    return PerfEntry(stages=stages, setup_seconds=a.setup_seconds + t * (b.setup_seconds - a.setup_seconds),
                     score_seconds=a.score_seconds + t * (b.score_seconds - a.score_seconds), n_test=a.n_test,
                     n_val=a.n_val, source=b.source, k=k)


def _scale(a: PerfEntry, factor: float, k: int) -> PerfEntry:
    return PerfEntry(stages={s: v * factor for s, v in a.stages.items()}, setup_seconds=a.setup_seconds * factor,
                     score_seconds=a.score_seconds * factor, n_test=a.n_test, n_val=a.n_val, source=a.source, k=k)


def load_perf_timings(device: str, root: Path | None = None) -> PerfTimings | None:
    """The perf benchmark's timings for this device kind (``perf_<kind>*.csv`` under ``root``,
    by default ``benchmark.perf.PERF_DIR``), or None when there are none."""
    from .perf import PERF_DIR

    folder = PERF_DIR if root is None else Path(root)
    files = sorted(folder.glob(f"perf_{device_kind(device)}*.csv")) if folder.is_dir() else []
    timings = PerfTimings()
    for path in files:
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError):
            continue
        if not {"detector", "stage", "wall_s_per_epoch", "k"} <= set(frame.columns):
            continue
        for (dataset, detector, max_train, k), group in frame.groupby(
                [frame["dataset"], frame["detector"], frame["max_train_normals"].map(_norm), frame["k"]], sort=False):
            first = group.iloc[0]
            entry = PerfEntry(
                stages={str(r.stage): float(r.wall_s_per_epoch) for r in group.itertuples()},
                setup_seconds=float(first["setup_wall_s"]), score_seconds=float(first["score_wall_s"]),
                n_test=int(first["n_test"]), n_val=int(first["n_val"]), k=int(k),
                source=f"{path}, measured with {int(first['threads'])} thread(s)" + _machine_note(first, device)
                + (" on synthetic pixels of the dataset's sizes" if first.get("data") == "synthetic" else ""))
            key = (str(dataset), str(detector), max_train)
            timings.groups.setdefault(key, {})[int(k)] = entry
            if int(k) == 1:
                timings.entries[key] = entry
    return timings if timings.entries else None


def _machine_note(row: pd.Series, device: str) -> str:
    """For CPU figures: the processor they were measured on, and a warning when it is not this one
    (CPU times move with the processor; GPU rows name no CPU)."""
    if device_kind(device) != "cpu":
        return ""
    measured = row.get("cpu")
    if not isinstance(measured, str) or not measured:
        return " on an unrecorded CPU (perf CSV written before rows named it)"
    here = cpu_description()
    return f" on {measured}" if measured == here else f" on {measured}, not this machine's {here}: expect other times"


class PerfEstimate(NamedTuple):
    """What :func:`perf_estimate` returns."""

    seconds: float
    source: str  # the CSV, threads, machine
    group: str  # for a group: how its K was covered (:meth:`PerfTimings.at`); '' for one job


def perf_estimate(job: Job, perf: PerfTimings | None, group_size: int = 1) -> PerfEstimate | None:
    """Seconds a job, or a group of ``group_size`` jobs of its cell trained together (the runner's
    ``--batch-experiments``), is expected to take from the perf benchmark's timings, with their
    source; None when they do not cover it (other dataset or subsampling, a stage never timed)."""
    if perf is None:
        return None
    e = job.experiment
    found = perf.at((e.dataset, job.detector, _norm(e.max_train_normals)), max(int(group_size), 1))
    if found is None:
        return None
    entry, how = found
    try:
        from datasets import DATASETS
        from detectors import make_detector

        detector = make_detector(job.detector, **job.params)
        plan = detector.epoch_plan(DATASETS[e.dataset].arch)
        eval_every = detector._eval_interval(plan.get(type(detector).TRAIN_STAGE, 0))  # the loop's own rule
    except Exception:  # noqa: BLE001 - no estimate is better than a wrong one; the run itself will say why
        return None
    if getattr(detector, "requires_labels", False) and e.gamma_l == 0:
        return PerfEstimate(0.0, entry.source, how)  # no collected anomalies: the job ends at once as n.a.
    seconds = entry.setup_seconds
    for stage, epochs in plan.items():
        if epochs and stage not in entry.stages:
            return None
        seconds += epochs * entry.stages.get(stage, 0.0)
    test_share = 1.0 if e.max_test is None else min(1.0, e.max_test / max(entry.n_test, 1))
    seconds += entry.score_seconds * test_share
    train_epochs = plan.get(type(detector).TRAIN_STAGE, 0)
    if eval_every:  # one scoring of the validation set per evaluation
        seconds += math.ceil(train_epochs / int(eval_every)) * entry.score_seconds * entry.n_val / max(entry.n_test, 1)
    return PerfEstimate(seconds, entry.source, how)
