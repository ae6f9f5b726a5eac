"""The suites: named grids of experiments × detectors (the paper's tables and figures, and smoke).

All settings of every suite are in this module. ``build_jobs`` expands a suite, with the
command line's overrides, into the list of jobs; it depends on nothing but its arguments.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from datasets.registry import ADBENCH_DATASETS

from .jobs import Job, canonical_params
from .protocol import Experiment

IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10")
TABULAR_DATASETS = ("arrhythmia", "cardio", "satellite", "satimage-2", "shuttle", "thyroid")
PAPER_IMAGE_DETECTORS = ("ssad-raw", "ssad-hybrid", "ss-dgm", "supervised", "deep-sad", "nda", "aa-bigan")
PAPER_TABULAR_DETECTORS = PAPER_IMAGE_DETECTORS + ("aad",)


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    datasets: tuple[str, ...]
    gamma_l: tuple[float, ...]
    gamma_p: tuple[float, ...] = (0.0,)
    k_l: tuple[int, ...] = (1,)
    normal_classes: tuple[int, ...] | None = None  # None: every class of the dataset
    known_per_normal: int | None = None  # None: each of the anomaly classes in turn (9 for images)
    seeds: int = 1
    selection: str = "paper"
    detectors: tuple[str, ...] | None = None  # None: every registered detector
    max_train_normals: int | None = None
    max_test: int | None = None
    detector_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    paper_settings: bool = True  # False: results are not comparable with the paper's numbers
    # (γl, γp, k_l) settings to run instead of the full product of gamma_l × gamma_p × k_l: a suite
    # that serves several tables and figures runs only the points they read.
    points: tuple[tuple[float, float, int], ...] | None = None
    # Explicit (normal class, known class) pairs of the image sets, instead of every normal class
    # with ``known_per_normal`` known classes each (a scale's fixed draw, see benchmark.scales).
    pairs: tuple[tuple[int, int], ...] | None = None
    scale: str = "paper"  # the scale its settings come from (benchmark.scales); recorded in every row


# The smoke suite is a tour of the suite for a newcomer, about three minutes on two CPU cores: the
# paper's seven image methods on Fashion-MNIST (the data of the paper's figures), two normal classes,
# 400 training normals, 600 test images, a few epochs each. Its five settings feed a Table-1-style
# table (γl 0 and .05), a pollution figure (γp 0 and .1) and a diversity figure (k_l 0, 1 and 2).
# Its numbers are not the paper's: every table and figure of it says so.
SMOKE_DETECTOR_PARAMS: dict[str, dict[str, Any]] = {
    "deep-sad": {"epochs": 10, "ae_epochs": 10, "lr_milestones": [], "ae_lr": 1e-3, "lr": 1e-3},
    "supervised": {"epochs": 10, "lr_milestones": [], "lr": 1e-3},
    "aa-bigan": {"epochs": 4, "batch_size": 64, "eval_every": 2},
    "nda": {"epochs": 5, "eval_every": 5},
    "ss-dgm": {"epochs": 10},
    "ssad-hybrid": {"epochs": 5, "lr": 1e-3},
}
SMOKE_POINTS: tuple[tuple[float, float, int], ...] = (
    (0.0, 0.0, 0), (0.05, 0.0, 1),  # Table 1: γl 0 and .05 (and Fig. 2's γp = 0)
    (0.05, 0.1, 1),                 # Fig. 2's γp = .1, Fig. 3's k_l = 1
    (0.0, 0.1, 0), (0.05, 0.1, 2),  # Fig. 3's k_l = 0 and 2
)

# XGBOD's bank (kNN, LOF and 11 OCSVMs on every training row, then every test row) at most on
# 1,000 unlabelled rows and 250 collected anomalies (seeded subsample), on both tabular suites:
# the bank's members cost quadratically in the training rows, and shuttle has ~29,000.
XGBOD_CAPS: dict[str, Any] = {"max_train": 1000, "max_collected": 250}

# SSAD's exact dense solve on shuttle's ~29,000 training points would need tens of GB: solve it
# on a seeded subsample of 5,000 unlabelled points (only shuttle is that large).
TABULAR_DETECTOR_PARAMS: dict[str, dict[str, Any]] = {
    "ssad-raw": {"max_train": 5000},
    "ssad-hybrid": {"max_train": 5000},
    "xgbod": XGBOD_CAPS,
}

# ADBench's classical sets run from 80 to 371,000 training rows (donors). Every detector whose cost
# grows with n² gets a seeded subsample of the unlabelled rows (every collected anomaly kept, unless
# ``max_collected`` caps them too): SSAD's dense kernels and cubic dual solve, PyOD's OCSVM
# (quadratic solve, scoring against its support vectors) and KDE (every test point against every
# training point), and XGBOD's kNN/LOF/OCSVM members. Sets at or below a cap are untouched. The
# caps are sized so that the non-deep detectors run the whole suite (43 sets, 2 γl, 5 seeds) on a
# 2-core CPU: SSAD solves its dual for each of 10 kernel widths, so it gets the smallest cap
# (500 unlabelled + 100 collected rows); XGBOD's cost is its bank, scored on every test row. AAD
# grows its forest on every row but its update holds an m x m Gram matrix of the collected
# anomalies (donors collects 18,000 at γl .05: a 2.6 GB matrix), hence ``max_collected``.
ADBENCH_MAX_TRAIN = 2000
# The deep detectors that pass over every training row in every epoch (Deep SAD: 150 + 150 epochs,
# SS-DGM 150, NDA 100, the supervised classifier 150, SSAD hybrid's autoencoder 150, PyOD's
# DeepSVDD) train on a stratified subsample of 10,000 rows on the 9 sets whose training set is
# larger (donors: 368,000 at γl .05), which keeps the share of collected anomalies that γl sets.
# Their cost is linear in the rows, so this is about time, not memory: uncapped, the largest set
# costs 37 times a 10,000-row one per epoch. A GPU user lifts
# it with ``--param deep-sad.max_rows=null``. AA-BiGAN, DevNet, PReNet and FEAWAD train for a
# fixed number of steps whatever the set's size and are not capped. PyOD's DeepSVDD ignores
# labels, so its cap is ``max_train`` (unlabelled rows).
ADBENCH_MAX_ROWS = 10_000
ADBENCH_DETECTOR_PARAMS: dict[str, dict[str, Any]] = {
    **{name: {"max_rows": ADBENCH_MAX_ROWS} for name in ("deep-sad", "supervised", "nda", "ss-dgm")},
    "pyod-deepsvdd": {"max_train": ADBENCH_MAX_ROWS},
    "pyod-ocsvm": {"max_train": ADBENCH_MAX_TRAIN},
    "pyod-kde": {"max_train": ADBENCH_MAX_TRAIN},
    "aad": {"max_collected": 1000},  # its weight update's dual is m x m in the collected anomalies
    "xgbod": XGBOD_CAPS,
    "ssad-raw": {"max_train": 500, "max_collected": 100},
    "ssad-hybrid": {"max_train": 500, "max_collected": 100, "max_rows": ADBENCH_MAX_ROWS},
}

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("smoke", "a first run: the paper's seven image methods on Fashion-MNIST, 2 normal classes, "
              "γl ∈ {0, .05}, γp ∈ {0, .1}, k_l ∈ {0, 1, 2} (5 settings), 400 training normals, 600 test images, "
              "a few epochs (NOT the paper's settings)",
              datasets=("fashion-mnist",), gamma_l=(0.0, 0.05), gamma_p=(0.0, 0.1), k_l=(0, 1, 2),
              normal_classes=(0, 1), known_per_normal=1, points=SMOKE_POINTS, detectors=PAPER_IMAGE_DETECTORS,
              selection="strict", max_train_normals=400, max_test=600,
              detector_params=SMOKE_DETECTOR_PARAMS, paper_settings=False),
        Suite("images", "Table 1: MNIST, F-MNIST, CIFAR-10; γl ∈ {0, .01, .05, .1, .2}, γp 0, k_l 1; 90 experiments per cell",
              datasets=IMAGE_DATASETS, gamma_l=(0.0, 0.01, 0.05, 0.1, 0.2), detectors=PAPER_IMAGE_DETECTORS),
        Suite("tabular", "Table 2: the six ODDS sets, γl .01, γp 0, 10 seeds",
              datasets=TABULAR_DATASETS, gamma_l=(0.01,), seeds=10, detectors=PAPER_TABULAR_DETECTORS,
              detector_params=TABULAR_DETECTOR_PARAMS),
        Suite("adbench", "ADBench's 43 classical tabular sets (beyond the paper), the tabular protocol: 60/40 per class, "
              "γl ∈ {.01, .05}, γp 0, 5 seeds, every registered detector; n.a. where a set has too few training "
              "outliers for γl",
              datasets=ADBENCH_DATASETS, gamma_l=(0.01, 0.05), seeds=5, detectors=None,
              detector_params=ADBENCH_DETECTOR_PARAMS),
        Suite("pollution", "Fig. 2: F-MNIST and CIFAR-10, γl .05, γp ∈ {0, .01, .05, .1, .2}",
              datasets=("fashion-mnist", "cifar10"), gamma_l=(0.05,), gamma_p=(0.0, 0.01, 0.05, 0.1, 0.2),
              detectors=PAPER_IMAGE_DETECTORS),
        Suite("diversity", "Fig. 3: F-MNIST and CIFAR-10, γl .05, γp .1, k_l ∈ {0, ..., 5}",
              datasets=("fashion-mnist", "cifar10"), gamma_l=(0.05,), gamma_p=(0.1,), k_l=(0, 1, 2, 3, 4, 5),
              detectors=PAPER_IMAGE_DETECTORS),
    )
}


def get_suite(name: str) -> Suite:
    try:
        return SUITES[name]
    except KeyError:
        raise KeyError(f"unknown suite {name!r}; suites: {', '.join(SUITES)}") from None


def with_overrides(suite: Suite, **overrides: Any) -> Suite:
    """The suite with the command line's values where they are given (None = keep the suite's).

    Giving any of γl, γp or k_l replaces a suite's list of points by the full product of the
    three lists (the suite's where not given).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if suite.points is not None and given.keys() & {"gamma_l", "gamma_p", "k_l"}:
        given["points"] = None
    return replace(suite, **given)


def settings(suite: Suite) -> list[tuple[float, float, int]]:
    """The suite's (γl, γp, k_l) settings: its points, else the product of its three lists."""
    if suite.points is not None:
        return list(suite.points)
    return [(gl, gp, k) for gl in suite.gamma_l for gp in suite.gamma_p for k in suite.k_l]


def build_experiments(suite: Suite, classes_of: dict[str, tuple[int, ...]], known_classes: tuple[int, ...] | None = None,
                      seed_offset: int = 0) -> list[Experiment]:
    """Every experiment of the suite. ``classes_of`` maps an image dataset to its class ids.

    At γl = 0 or k_l = 0 no anomaly is collected, so the known class does not matter: one
    experiment per normal class instead of nine identical splits.

    With ``suite.pairs`` an image set runs those (normal, known) pairs only: the normal classes
    are the pairs' (restricted to ``suite.normal_classes`` when given) and each one's anchors are
    its pairs' known classes (restricted to ``known_classes`` when given).
    """
    experiments: dict[Experiment, None] = {}  # ordered, and γl = 0 with several k_l gives one experiment
    for dataset in suite.datasets:
        tabular = dataset not in classes_of
        normals = (-1,) if tabular else (suite.normal_classes or classes_of[dataset])
        if not tabular and suite.pairs is not None:
            normals = tuple(n for n in dict.fromkeys(n for n, _ in suite.pairs) if n in normals)
        for normal in normals:
            for gamma_l, gamma_p, k_l in settings(suite):
                collects = gamma_l > 0 and k_l > 0
                if tabular or not collects:
                    anchors: tuple[int | None, ...] = (None,)
                elif suite.pairs is not None:
                    anchors = tuple(k for n, k in suite.pairs if n == normal and (known_classes is None or k in known_classes))
                else:
                    order = [(normal + i) % len(classes_of[dataset]) for i in range(1, len(classes_of[dataset]))]
                    anchors = tuple(c for c in order if known_classes is None or c in known_classes)
                    anchors = anchors[: suite.known_per_normal] if suite.known_per_normal else anchors
                for anchor in anchors:
                    for seed in range(seed_offset, seed_offset + suite.seeds):
                        experiments[Experiment(
                            dataset=dataset, normal_class=normal, known_class=anchor,
                            k_l=(k_l if collects else 0), gamma_l=gamma_l, gamma_p=gamma_p, seed=seed,
                            max_train_normals=suite.max_train_normals, max_test=suite.max_test)] = None
    return list(experiments)


def build_jobs(suite: Suite, experiments: list[Experiment], detectors: list[str],
               extra_params: dict[str, dict[str, Any]] | None = None, rerun_options: tuple[str, ...] = ()) -> list[Job]:
    """Experiments × detectors; each detector's parameters are the suite's, then the user's."""
    jobs = []
    for detector in detectors:
        params = {**suite.detector_params.get(detector, {}), **(extra_params or {}).get(detector, {})}
        for experiment in experiments:
            jobs.append(Job(suite.name, experiment, detector, canonical_params(params), suite.selection, rerun_options,
                            scale=suite.scale))
    return jobs
