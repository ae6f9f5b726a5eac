"""Cost of every deep detector on one fixed MNIST experiment: ``python -m benchmark.perf``.

What it measures, per registered torch detector (every subclass of
:class:`detectors.torch_base.TorchDetector`) and per training stage (``train``, and
``autoencoder`` for the detectors that pretrain one): seconds per epoch, wall clock and process
CPU time, after a warm-up epoch (the mean over the timed epochs, and the CPU time of the fastest,
``cpu_s_fastest_epoch``: on a shared machine whose speed drifts, the least disturbed epoch; run
more than two ``--epochs`` to have more than one); the rest of the fit (building the nets, moving the data,
centre initialisation, the warm-up's extra cost) as ``setup_wall_s``; the time to score the
test set; the peak memory. The experiment is fixed (:data:`PERF_EXPERIMENT`: MNIST, normal
digit 0, known anomaly digit 1, γl .05, the ``paper`` split; ``--datasets`` times the same
experiment on other image sets, e.g. ``fashion-mnist,cifar10-jpeg``, so that a dry run can
estimate every dataset of the ``images`` suite; ``--synthetic-data`` replaces the pixels by seeded
noise of the dataset's exact sizes, for a machine that cannot hold the files, and every row says
which it was), the detectors run with their
defaults except the number of epochs (``--epochs`` for every epoch parameter) and without an
``eval_set`` (training only; validation passes cost about one scoring of the validation set
each).

Memory. CPU: the growth of the process's peak resident set (``resource.getrusage``
``ru_maxrss``) over the fit and the scoring, beyond what the process held after loading the
data; absolute peak too, for comparison with figures measured the same way. Each detector runs
in its own child process, so that every peak is its own. GPU: ``torch.cuda.max_memory_allocated``
(reset before the fit).

Output: a table on stdout (with ratios against reference figures where they exist: the public
codes' epochs in :data:`REFERENCES_CSV`, read by :func:`references`) and a long-format CSV, by default
``results/perf/perf_<device kind>.csv`` (``perf_cpu.csv`` or ``perf_cuda.csv``) for MNIST and
``perf_<kind>_<dataset>.csv`` for another dataset (one file per dataset); ``--synthetic-data``
adds ``_synthetic`` and ``--max-train-normals N`` adds ``_max-train-normals-N``, so that neither
replaces a full run on the files. ``run_benchmark.py --dry-run`` reads these files to estimate
jobs that have no comparable stored timing (:func:`benchmark.timings.perf_estimate`), and with
``--batch-experiments K`` uses the rows of groups (below).

Column ``k``: how many experiments were trained together (``--k 1,9``; default 1). With k > 1
the detectors with a batched trainer (:mod:`detectors.batched`) fit k copies of the experiment
with k seeds in one :func:`detectors.batched.fit_many`; the per-epoch and scoring times are
those of the whole group (all k), and the table adds the group's CPU time over k times the
k = 1 figure of the same detector and stage (CPU time on a CPU, wall time on a GPU: on a CPU the
copies share the cores, so no overhead is the goal; on a GPU they run at once, and the group's
epoch against one experiment's, column "vs K=1", is what a batched run saves). Detectors without
a batched trainer are timed at k = 1 only.

The CSV is rewritten after every detector and K, so that a run cut short (a time limit on a lent
GPU machine) keeps what it timed. Timings are a script run on purpose: no test asserts a duration. Example:
``python -m benchmark.perf --device cpu --threads 1 --epochs 2``.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .devices import cpu_description, device_kind
from .protocol import Experiment

#: The fixed experiment of every measurement and its split policy.
PERF_EXPERIMENT = Experiment("mnist", 0, 1, 1, 0.05, 0.0, 0)
DEFAULT_DATASET = PERF_EXPERIMENT.dataset
DATA_FILES, DATA_SYNTHETIC = "files", "synthetic"  # column ``data``: what the timed pixels were
#: Image sizes, for ``--synthetic-data``: (channels, height, width), training and test images per
#: class, as the loaders return them (tests/test_perf.py checks them against the files).
IMAGE_SIZES: dict[str, tuple[tuple[int, int, int], tuple[int, ...], tuple[int, ...]]] = {
    "mnist": ((1, 28, 28), (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
              (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)),
    "fashion-mnist": ((1, 28, 28), (6000,) * 10, (1000,) * 10),
    "cifar10": ((3, 32, 32), (5000,) * 10, (1000,) * 10),
    "cifar10-jpeg": ((3, 32, 32), (5000,) * 10, (1000,) * 10),
}
PERF_SELECTION = "paper"
#: Where the CSVs go and where ``--dry-run`` looks for them (relative to the working directory,
#: like the default output folders of ``run_benchmark.py``).
PERF_DIR = Path("results") / "perf"
DEFAULT_EPOCHS = 2  # per stage: one warm-up epoch and one timed epoch
DEFAULT_THREADS = 1
CHILD_TIMEOUT_S = 900  # seconds for one detector's child process
#: Detector parameters that set a stage's number of epochs; each gets ``--epochs``.
EPOCH_PARAMS = ("epochs", "ae_epochs")
MEMORY_METHOD_CPU = "ru_maxrss growth (resource.getrusage), own child process"
MEMORY_METHOD_CUDA = "torch.cuda.max_memory_allocated"

COLUMNS = (
    "detector", "stage", "k", "epochs_timed", "wall_s_per_epoch", "cpu_s_per_epoch", "cpu_s_fastest_epoch",
    "epochs_run", "setup_wall_s",
    "fit_wall_s", "score_wall_s", "score_cpu_s", "peak_rss_growth_mib", "peak_rss_mib", "peak_cuda_mib",
    "memory_method", "device", "device_kind", "threads", "dataset", "data", "normal_class", "known_class", "gamma_l",
    "selection", "max_train_normals", "n_train", "n_val", "n_test", "batch_size", "torch", "cpu", "timestamp",
)


#: The reference figures, one row per detector and stage, with what was measured, on which
#: machine and in which commit the figure was recorded.
REFERENCES_CSV = Path(__file__).resolve().parent / "speed" / "references.csv"
CLOCKS = ("cpu", "wall")  # process CPU-seconds or wall seconds


@dataclass(frozen=True)
class Reference:
    """A measured figure to compare one stage with: seconds per epoch on ``clock`` with ``threads``
    torch threads and batches of ``batch_size``, optionally a peak resident set."""

    seconds_per_epoch: float
    clock: str
    threads: int
    batch_size: int
    what: str  # the code and stage measured
    machine: str
    recorded_in: str  # the commit of this project that recorded the figure
    peak_rss_gib: float | None = None


@functools.cache
def references(path: Path = REFERENCES_CSV) -> dict[tuple[str, str], Reference]:
    """The reference figures of ``path`` by (detector, stage)."""
    import csv

    out = {}
    with Path(path).open(newline="") as f:
        for row in csv.DictReader(f):
            if row["clock"] not in CLOCKS:
                raise ValueError(f"{path}: clock must be one of {', '.join(CLOCKS)}; got {row['clock']!r}")
            out[(row["detector"], row["stage"])] = Reference(
                seconds_per_epoch=float(row["seconds_per_epoch"]), clock=row["clock"], threads=int(row["threads"]),
                batch_size=int(row["batch_size"]), what=row["what"], machine=row["machine"],
                recorded_in=row["recorded_in"], peak_rss_gib=float(row["peak_rss_gib"]) if row["peak_rss_gib"] else None)
    return out


def perf_csv_path(device_kind: str, max_train_normals: int | None = None, root: Path = PERF_DIR,
                  dataset: str = DEFAULT_DATASET, synthetic: bool = False) -> Path:
    """Where a run's CSV goes by default: one file per device kind, dataset, kind of pixels and data
    size (MNIST's keeps the name it had before other datasets could be timed)."""
    suffix = "" if dataset == DEFAULT_DATASET else f"_{dataset}"
    suffix += "_synthetic" if synthetic else ""
    suffix += "" if max_train_normals is None else f"_max-train-normals-{max_train_normals}"
    return root / f"perf_{device_kind}{suffix}.csv"


def perf_experiment(dataset: str = DEFAULT_DATASET) -> Experiment:
    """:data:`PERF_EXPERIMENT` on another image dataset: normal class 0, known anomaly class 1."""
    from dataclasses import replace

    return replace(PERF_EXPERIMENT, dataset=dataset)


def image_datasets() -> list[str]:
    """The datasets ``--datasets`` accepts: the registered image sets (the experiment needs classes)."""
    from datasets import DATASETS

    return [name for name, info in DATASETS.items() if info.kind == "image"]


def torch_detectors() -> list[str]:
    """Registered detectors that train with torch (subclasses of ``TorchDetector``)."""
    from detectors import available_detectors, get_detector_class
    from detectors.torch_base import TorchDetector

    return [name for name in available_detectors() if issubclass(get_detector_class(name), TorchDetector)]


def _peak_rss_mib() -> float:
    """Peak resident set of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def synthetic_dataset(name: str, seed: int = 0):
    """A stand-in for image set ``name`` with its exact sizes (:data:`IMAGE_SIZES`) and seeded
    uniform noise for pixels: training and scoring times do not depend on pixel values, so a
    machine without the files (a GPU machine that cannot carry CIFAR-10's 62 MiB) can still time it."""
    import numpy as np

    from datasets import DATASETS
    from datasets.dataset import Dataset

    shape, train_counts, test_counts = IMAGE_SIZES[name]
    rng = np.random.default_rng(seed)

    def part(counts: tuple[int, ...]):
        y = rng.permutation(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
        return rng.random((len(y), *shape), dtype=np.float32), y

    X_train, y_train = part(train_counts)
    X_test, y_test = part(test_counts)
    return Dataset(name=name, kind="image", arch=DATASETS[name].arch, classes=tuple(range(len(train_counts))),
                   X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)


def load_split(max_train_normals: int | None = None, data_dir: str | None = None, dataset_name: str = DEFAULT_DATASET,
               synthetic: bool = False):
    """The experiment (:func:`perf_experiment` of ``dataset_name``, optionally with fewer training
    normals), its split and the network family of its dataset (from its files, or
    :func:`synthetic_dataset` when ``synthetic``)."""
    from dataclasses import replace

    from datasets import load_dataset

    from .protocol import make_split

    dataset = synthetic_dataset(dataset_name) if synthetic else load_dataset(dataset_name, data_dir)
    experiment = replace(perf_experiment(dataset_name), max_train_normals=max_train_normals)
    return experiment, make_split(dataset, experiment, PERF_SELECTION), dataset.arch


def time_configuration(detector: str, experiment: Experiment, split, arch: str, *, device: str, epochs: int,
                       k: int = 1, data: str = DATA_FILES) -> list[dict[str, Any]]:
    """Fit ``detector`` on ``split`` (``k`` experiments trained together) and time it; one row per stage.

    Every parameter in :data:`EPOCH_PARAMS` the detector has is set to ``epochs``; the first epoch
    of each stage is the warm-up (kernel selection, allocator growth) and is not timed unless it is
    the only one. With ``k`` > 1, ``k`` detectors (seeds ``split_seed() + i``) are fitted together
    on the split with :func:`detectors.batched.fit_many`; a class without a batched trainer raises
    ``ValueError``.
    """
    import torch

    from detectors import get_detector_class
    from detectors.batched import fit_many, supports_batching
    from detectors.progress import epoch_listener

    cls = get_detector_class(detector)
    if k < 1 or (k > 1 and not supports_batching(cls)):
        raise ValueError(f"{detector} cannot train {k} experiments together")
    accepted = cls().get_params()
    params: dict[str, Any] = {name: epochs for name in EPOCH_PARAMS if name in accepted}
    # What the runner would set for a job of this experiment (benchmark.jobs.run_job).
    for name, value in (("arch", arch), ("device", device)):
        if name in accepted:
            params[name] = value
    seeded = "random_state" in accepted
    dets = [cls(**params, **({"random_state": experiment.split_seed() + i} if seeded else {})) for i in range(k)]
    det = dets[0]
    cuda = str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    # (stage, epoch) -> when its last report came: a group reports each epoch once per experiment
    marks: dict[tuple[str, int], tuple[float, float]] = {}

    def listen(stage: str, epoch: int, total: int) -> None:
        if cuda:
            torch.cuda.synchronize()
        marks[(stage, epoch)] = (time.perf_counter(), time.process_time())

    rss_before = _peak_rss_mib()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with epoch_listener(listen):
        if k == 1:
            det.fit(split.X_train, split.y_train)
        else:
            failures = [e for e in fit_many(dets, [(split.X_train, split.y_train, None)] * k) if e is not None]
            if failures:
                raise failures[0]
    if cuda:
        torch.cuda.synchronize()
    fit_wall = time.perf_counter() - wall0
    wall1, cpu1 = time.perf_counter(), time.process_time()
    for fitted in dets:
        fitted.decision_function(split.X_test)
    score_wall, score_cpu = time.perf_counter() - wall1, time.process_time() - cpu1
    peak_rss = _peak_rss_mib()

    per_stage: dict[str, list[tuple[float, float]]] = {}
    previous = (wall0, cpu0)
    train_name = type(det).__name__
    for (stage, _), (wall, cpu) in sorted(marks.items(), key=lambda item: item[1]):
        name = det.TRAIN_STAGE if stage == train_name else stage
        per_stage.setdefault(name, []).append((wall - previous[0], cpu - previous[1]))
        previous = (wall, cpu)
    timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    kind = "cuda" if cuda else "cpu"
    common = {
        "detector": detector, "k": k, "fit_wall_s": round(fit_wall, 4), "score_wall_s": round(score_wall, 4),
        "score_cpu_s": round(score_cpu, 4), "peak_rss_growth_mib": round(max(0.0, peak_rss - rss_before), 1),
        "peak_rss_mib": round(peak_rss, 1),
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "memory_method": MEMORY_METHOD_CUDA if cuda else MEMORY_METHOD_CPU,
        "device": str(getattr(det, "device_", device)), "device_kind": kind, "threads": torch.get_num_threads(),
        "dataset": experiment.dataset, "data": data, "normal_class": experiment.normal_class,
        "known_class": experiment.known_class, "gamma_l": experiment.gamma_l, "selection": PERF_SELECTION,
        "max_train_normals": experiment.max_train_normals, "n_train": len(split.y_train),
        "n_val": 0 if split.y_val is None else len(split.y_val), "n_test": len(split.y_test),
        "batch_size": accepted.get("batch_size"), "torch": torch.__version__, "cpu": cpu_description(),
        "timestamp": timestamp,
    }
    rows = []
    timed_total = 0.0
    for stage, intervals in per_stage.items():
        timed = intervals[1:] or intervals  # without a second epoch the warm-up is all there is
        wall = sum(w for w, _ in timed) / len(timed)
        cpu = sum(c for _, c in timed) / len(timed)
        timed_total += wall * len(intervals)
        rows.append({**common, "stage": stage, "epochs_timed": len(intervals[1:]), "epochs_run": len(intervals),
                     "wall_s_per_epoch": round(wall, 4), "cpu_s_per_epoch": round(cpu, 4),
                     "cpu_s_fastest_epoch": round(min(c for _, c in timed), 4)})
    for row in rows:
        row["setup_wall_s"] = round(max(0.0, fit_wall - timed_total), 4)
    return rows


# -- the command line --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark.perf", description=__doc__.split("\n\n")[0],
                                epilog="See the module docstring of benchmark/perf.py for what is measured.")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:I or auto (default: cpu)")
    p.add_argument("--detectors", help="comma-separated detector names (default: every registered torch detector)")
    p.add_argument("--datasets", default=DEFAULT_DATASET,
                   help=f"comma-separated image datasets, each timed on normal 0 / known 1 (default: {DEFAULT_DATASET})")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help=f"epochs per stage, the first a warm-up (default {DEFAULT_EPOCHS})")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=f"torch CPU threads (default {DEFAULT_THREADS})")
    p.add_argument("--max-train-normals", type=int, help="fewer training normals, for quick runs")
    p.add_argument("--synthetic-data", action="store_true",
                   help="seeded noise of each dataset's exact sizes instead of its files (times only; rows say so)")
    p.add_argument("--k", default="1", help="comma-separated numbers of experiments trained together, e.g. 1,9 "
                                             "(K > 1: only detectors that can, see detectors.batched; default 1)")
    p.add_argument("--out", type=Path, help="one CSV for every dataset (default: one per dataset, "
                   "results/perf/perf_<device kind>[_<dataset>][_synthetic][_max-train-normals-N].csv)")
    p.add_argument("--data-dir", help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: time this one detector, print JSON rows
    return p


def _child(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    from detectors import NotApplicableError

    experiment, split, arch = load_split(args.max_train_normals, args.data_dir, args.datasets, args.synthetic_data)
    try:
        rows = time_configuration(args.child, experiment, split, arch, device=args.device, epochs=args.epochs,
                                  k=int(args.k), data=DATA_SYNTHETIC if args.synthetic_data else DATA_FILES)
    except NotApplicableError as exc:
        print(json.dumps({"not_applicable": str(exc)}))
        return 0
    print(json.dumps(rows))
    return 0


def _run_child(name: str, k: int, dataset: str, args: argparse.Namespace) -> list[dict[str, Any]] | str:
    """Rows of one detector at one K on one dataset from its own process, or the reason there are none."""
    cmd = [sys.executable, "-m", "benchmark.perf", "--child", name, "--device", args.device, "--epochs",
           str(args.epochs), "--threads", str(args.threads), "--k", str(k), "--datasets", dataset]
    if args.max_train_normals is not None:
        cmd += ["--max-train-normals", str(args.max_train_normals)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.synthetic_data:
        cmd.append("--synthetic-data")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"took longer than {CHILD_TIMEOUT_S} s"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed: {tail}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if isinstance(out, dict):
        return f"not applicable: {out['not_applicable']}"
    return out


def ratio_text(row: dict[str, Any]) -> tuple[str, str]:
    """The reference figure of a row's stage and the row's ratio to it ('' where none applies)."""
    ref = references().get((row["detector"], row["stage"]))
    if ref is None or int(row.get("k", 1)) != 1:  # the references are one experiment's
        return "", ""
    clock = "CPU" if ref.clock == "cpu" else "wall"
    label = f"{ref.seconds_per_epoch:g} s {clock} ({ref.threads} thr, batch {ref.batch_size})"
    if ref.peak_rss_gib is not None:
        label += f", {ref.peak_rss_gib:g} GiB"
    if row["device_kind"] != "cpu" or int(row["threads"]) != ref.threads:
        return label, "n/a (other device or threads)"
    if _present(row.get("max_train_normals")):
        return label, "n/a (fewer training normals)"
    if row.get("dataset", DEFAULT_DATASET) != DEFAULT_DATASET or row.get("data", DATA_FILES) != DATA_FILES:
        return label, "n/a (the references are MNIST's)"
    value = row["cpu_s_per_epoch"] if ref.clock == "cpu" else row["wall_s_per_epoch"]
    text = f"{value / ref.seconds_per_epoch:.2f}x"
    if ref.peak_rss_gib is not None and row.get("peak_rss_mib"):
        text += f", mem {row['peak_rss_mib'] / 1024 / ref.peak_rss_gib:.2f}x"
    return label, text


def _group_ratio(row: dict[str, Any], rows: Sequence[dict[str, Any]], per_experiment: bool) -> str:
    """A K > 1 row's epoch time over the K = 1 row's of the same detector, stage, dataset and
    device (times K when ``per_experiment``): CPU time on a CPU, wall time on a GPU. '' for K = 1
    or without that row."""
    k = int(row["k"])
    clock = "cpu_s_per_epoch" if row["device_kind"] == "cpu" else "wall_s_per_epoch"
    same = ("detector", "stage", "device_kind", "dataset")
    single = [r for r in rows if int(r["k"]) == 1 and all(r.get(c) == row.get(c) for c in same)]
    if k == 1 or not single or not single[0][clock]:
        return ""
    return f"{row[clock] / ((k if per_experiment else 1) * single[0][clock]):.2f}x"


def group_ratio_text(row: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """A K > 1 row's epoch time over K times the K = 1 row's: what training together costs per
    experiment (1.00x: no overhead; on a CPU the goal)."""
    return _group_ratio(row, rows, per_experiment=True)


def group_vs_single_text(row: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """A K > 1 row's epoch time over one experiment's (K = 1): on a GPU, how much longer K
    experiments together take than one alone."""
    return _group_ratio(row, rows, per_experiment=False)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value != ""


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    from tabulate import tabulate

    def fmt(value: Any, digits: int = 3) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    table = []
    for row in rows:
        ref, ratio = ratio_text(row)
        table.append([row["dataset"], row["detector"], row["stage"], row["k"], fmt(row["wall_s_per_epoch"]),
                      fmt(row["cpu_s_per_epoch"]), fmt(row.get("cpu_s_fastest_epoch")),
                      group_ratio_text(row, rows), group_vs_single_text(row, rows),
                      fmt(row["setup_wall_s"], 2), fmt(row["score_wall_s"], 2), fmt(row["peak_rss_growth_mib"], 0),
                      fmt(row["peak_cuda_mib"], 0), ref, ratio])
    headers = ["dataset", "detector", "stage", "K", "wall s/epoch", "CPU s/epoch", "fastest", "vs K x (K=1)", "vs K=1", "setup s",
               "score s", "peak RSS +MiB", "peak CUDA MiB", "reference", "ratio"]
    return tabulate(table, headers=headers, tablefmt="github")


def _parse_ks(text: str) -> list[int] | None:
    """``--k`` as a list of distinct K values in the order given, or None when one is not a whole number >= 1."""
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return None
    return list(dict.fromkeys(ks)) if ks and min(ks) >= 1 else None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ks = _parse_ks(args.k)
    if args.epochs < 1 or args.threads < 1 or (args.max_train_normals is not None and args.max_train_normals < 1) \
            or ks is None:
        print("error: --epochs, --threads, --max-train-normals and every --k must be whole numbers of at least 1",
              file=sys.stderr)
        return 2
    if args.child:
        return _child(args)
    from detectors.params import DeviceSpec

    if not DeviceSpec().accepts(args.device):
        print(f"error: --device must be {DeviceSpec()}; got {args.device!r}", file=sys.stderr)
        return 2
    kind = device_kind(args.device)
    if kind == "cuda":
        import torch

        if not torch.cuda.is_available():
            print(f"error: --device {args.device}: torch sees no CUDA device here", file=sys.stderr)
            return 2
    available = torch_detectors()
    names = [d.strip() for d in args.detectors.split(",") if d.strip()] if args.detectors else available
    unknown = [d for d in names if d not in available]
    if unknown:
        print(f"error: not a registered torch detector: {', '.join(unknown)}; available: {', '.join(available)}",
              file=sys.stderr)
        return 2
    datasets = list(dict.fromkeys(d.strip() for d in args.datasets.split(",") if d.strip()))
    images = image_datasets()
    if not datasets or any(d not in images or (args.synthetic_data and d not in IMAGE_SIZES) for d in datasets):
        print(f"error: --datasets must name image datasets ({', '.join(images)}); got {args.datasets!r}", file=sys.stderr)
        return 2
    from detectors import get_detector_class
    from detectors.batched import supports_batching

    rows: list[dict[str, Any]] = []
    written: list[Path] = []
    start = time.perf_counter()
    for dataset in datasets:
        experiment = perf_experiment(dataset)
        print(f"{dataset} normal {experiment.normal_class} / known {experiment.known_class}, "
              f"gamma_l {experiment.gamma_l}, {PERF_SELECTION} split"
              + (f", {args.max_train_normals} training normals" if args.max_train_normals else "")
              + (", synthetic pixels of its sizes" if args.synthetic_data else "")
              + f"; device {args.device}, {args.threads} thread(s), {args.epochs} epoch(s) per stage; "
              f"CPU {cpu_description()}", flush=True)
        dataset_rows: list[dict[str, Any]] = []
        for name in names:
            for k in ks:
                if k > 1 and not supports_batching(get_detector_class(name)):
                    print(f"  {name}: K = {k} skipped (no batched trainer: trained one experiment at a time)", flush=True)
                    continue
                result = _run_child(name, k, dataset, args)
                if isinstance(result, str):
                    print(f"  {name} (K = {k}): {result}", file=sys.stderr, flush=True)
                    continue
                dataset_rows += result
                # written after every configuration, so that a run cut short keeps what it timed
                if args.out is None:  # one file per dataset
                    path = _write_rows(dataset_rows, perf_csv_path(kind, args.max_train_normals, dataset=dataset,
                                                                   synthetic=args.synthetic_data))
                else:
                    path = _write_rows(rows + dataset_rows, args.out)
                written = list(dict.fromkeys([*written, path]))
                print(f"  {name} (K = {k}): done ({time.perf_counter() - start:.0f} s so far)", flush=True)
        rows += dataset_rows
    if not rows:
        print("error: no detector could be timed", file=sys.stderr)
        return 1
    print(format_table(rows))
    print(f"memory: {rows[0]['memory_method']}; rows in {', '.join(map(str, written))}")
    return 0


def _write_rows(rows: Sequence[dict[str, Any]], out: Path) -> Path:
    """The rows as a CSV at ``out``, replacing it only once complete."""
    import pandas as pd

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    pd.DataFrame(list(rows), columns=list(COLUMNS)).to_csv(tmp, index=False)
    tmp.replace(out)
    return out


if __name__ == "__main__":
    sys.exit(main())
