"""The split of one experiment, exactly as the protocol says (docs/methods.md §2-3).

Everything here depends on the :class:`Experiment` alone, never on the detector: every detector
of one experiment gets the same :class:`Split`. The count formula, the draws of pollution and
collected anomalies, the choice of known classes and the validation part of each selection
policy all live in this module.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from . import PROTOCOL_VERSION
from .seeding import stable_seed

SELECTION_POLICIES = ("paper", "oracle-10", "strict")

# `paper`: the AA-BiGAN code's validation part of the test split (200 normals, 1,800 anomalies);
# when the test set is subsampled (smoke runs) each part is capped at this share of its pool.
PAPER_VAL_NORMALS = 200
PAPER_VAL_ANOMALIES = 1800
PAPER_VAL_MAX_SHARE = 0.5
# `paper` on tabular sets (no published rule): this stratified share of the test part.
PAPER_VAL_TABULAR_SHARE = 0.2
# `oracle-10`: the Deep SAD paper's stratified 10% of the test set.
ORACLE_SHARE = 0.1
# `strict`: this share of the training data (per label) is held out for validation.
STRICT_SHARE = 0.1
# ODDS: the share of normals and of outliers that goes to training.
TABULAR_TRAIN_SHARE = 0.6


class ProtocolError(ValueError):
    """An experiment that cannot be built (impossible ratios, a class that does not exist...)."""


class InfeasibleExperimentError(ProtocolError):
    """A valid setting that this dataset cannot supply (too few training outliers for γl and γp, or
    a γl > 0 that collects no anomaly at all): the runner records ``n.a.`` with this reason, as for
    a detector that is undefined, since no detector can be run on a split that does not exist."""


def count_from_ratio(n: int, gamma: float) -> int:
    """``int(n * γ / (1 - γ))``: the size of a part that makes up a share γ of the whole."""
    if not 0.0 <= gamma < 1.0:
        raise ProtocolError(f"a ratio must lie in [0, 1); got {gamma}")
    return int(n * gamma / (1.0 - gamma))


@dataclass(frozen=True)
class Experiment:
    """What defines one split. ``known_class`` anchors the known classes (images, k_l ≥ 1)."""

    dataset: str
    normal_class: int  # -1 for tabular sets (normal = ODDS label 0)
    known_class: int | None
    k_l: int
    gamma_l: float
    gamma_p: float
    seed: int = 0  # repetition index
    max_train_normals: int | None = None  # subsampling, for smoke runs only
    max_test: int | None = None

    def __post_init__(self) -> None:
        for name in ("gamma_l", "gamma_p"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ProtocolError(f"{name} must lie in [0, 1); got {value}")
        if self.gamma_l + self.gamma_p >= 1.0:
            raise ProtocolError(f"gamma_l + gamma_p must be below 1; got {self.gamma_l} + {self.gamma_p}")
        if self.k_l < 0:
            raise ProtocolError(f"k_l must be >= 0; got {self.k_l}")
        if self.k_l >= 1 and self.normal_class >= 0 and self.known_class is None:
            raise ProtocolError("an image experiment with k_l >= 1 needs a known_class")
        if self.known_class is not None and self.known_class == self.normal_class:
            raise ProtocolError(f"the known anomaly class {self.known_class} is the normal class")

    def fields(self) -> dict[str, Any]:
        return asdict(self)

    def split_seed(self) -> int:
        """The seed of every random draw of this experiment's split (and of the detectors' training)."""
        return stable_seed("split", PROTOCOL_VERSION, self.fields())

    def known_classes(self, classes: tuple[int, ...]) -> tuple[int, ...]:
        """k_l = 0: none; 1: the anchor; more: the anchor plus k_l - 1 others drawn with the split's seed."""
        if self.normal_class < 0:
            return (1,) if self.k_l > 0 else ()
        if self.k_l == 0:
            return ()
        anomalies = [c for c in classes if c != self.normal_class]
        if self.known_class not in anomalies:
            raise ProtocolError(f"known class {self.known_class} is not an anomaly class of {self.dataset} (classes {anomalies})")
        if self.k_l > len(anomalies):
            raise ProtocolError(f"k_l = {self.k_l} exceeds the {len(anomalies)} anomaly classes of {self.dataset}")
        others = [c for c in anomalies if c != self.known_class]
        rng = np.random.default_rng(stable_seed("known-classes", PROTOCOL_VERSION, self.fields()))
        extra = rng.choice(others, size=self.k_l - 1, replace=False).tolist() if self.k_l > 1 else []
        return tuple(sorted([self.known_class, *extra]))


@dataclass
class Split:
    """Training data (y = 1 for collected anomalies), test data (y = 1 for anomalies), validation."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def eval_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None if self.X_val is None else (self.X_val, self.y_val)


def make_split(dataset, experiment: Experiment, selection: str) -> Split:
    """The split of ``experiment`` on ``dataset`` (a ``datasets.Dataset``) under ``selection``."""
    if selection not in SELECTION_POLICIES:
        raise ProtocolError(f"unknown selection policy {selection!r}; valid: {', '.join(SELECTION_POLICIES)}")
    if experiment.dataset != dataset.name:
        raise ProtocolError(f"experiment is for {experiment.dataset!r} but the data is {dataset.name!r}")
    rng = np.random.default_rng(experiment.split_seed())
    if dataset.kind == "tabular":
        train, test = _tabular_parts(dataset, experiment, rng)
    else:
        train, test = _image_parts(dataset, experiment, rng)
    X_train, y_train, info = train
    X_test, y_test = test
    X_val = y_val = None
    if selection == "paper":
        if dataset.kind == "tabular":
            val_idx = _stratified_take(y_test, PAPER_VAL_TABULAR_SHARE, rng)
        else:
            val_idx = _paper_val_indices(y_test, rng)
        keep = np.setdiff1d(np.arange(len(y_test)), val_idx)
        X_val, y_val = X_test[val_idx], y_test[val_idx]
        X_test, y_test = X_test[keep], y_test[keep]
    elif selection == "oracle-10":
        val_idx = _stratified_take(y_test, ORACLE_SHARE, rng)
        X_val, y_val = X_test[val_idx], y_test[val_idx]  # reported on the whole test set, as Deep SAD did
    else:  # strict: only training data, only training labels
        val_idx = _stratified_take(y_train, STRICT_SHARE, rng)
        if len(val_idx):
            keep = np.setdiff1d(np.arange(len(y_train)), val_idx)
            X_val, y_val = X_train[val_idx], y_train[val_idx]
            X_train, y_train = X_train[keep], y_train[keep]
    info.update(selection=selection, n_train=len(y_train), n_collected=int(y_train.sum()),
                n_test=len(y_test), n_val=0 if y_val is None else len(y_val))
    return Split(X_train, y_train, X_test, y_test, X_val, y_val, info)


def _image_parts(dataset, exp: Experiment, rng: np.random.Generator):
    classes = tuple(dataset.classes)
    if exp.normal_class not in classes:
        raise ProtocolError(f"normal class {exp.normal_class} does not exist in {dataset.name} (classes {list(classes)})")
    known = exp.known_classes(classes)
    y_all = np.asarray(dataset.y_train)
    normals = np.flatnonzero(y_all == exp.normal_class)
    if exp.max_train_normals is not None and exp.max_train_normals < len(normals):
        normals = np.sort(rng.choice(normals, size=exp.max_train_normals, replace=False))
    n = len(normals)
    anomaly_pool = np.flatnonzero(y_all != exp.normal_class)
    n_pollution = count_from_ratio(n, exp.gamma_p)
    if n_pollution > len(anomaly_pool):
        raise ProtocolError(f"gamma_p = {exp.gamma_p} needs {n_pollution} pollution images; only {len(anomaly_pool)} exist")
    pollution = np.sort(rng.choice(anomaly_pool, size=n_pollution, replace=False))
    n_collected = count_from_ratio(n + n_pollution, exp.gamma_l) if known else 0
    known_pool = np.setdiff1d(np.flatnonzero(np.isin(y_all, known)), pollution)
    if n_collected > len(known_pool):
        raise ProtocolError(
            f"gamma_l = {exp.gamma_l} needs {n_collected} collected anomalies from classes {list(known)}; only {len(known_pool)} are left"
        )
    collected = np.sort(rng.choice(known_pool, size=n_collected, replace=False))
    index = np.concatenate([normals, pollution, collected])
    X_train = np.asarray(dataset.X_train)[index]
    y_train = np.concatenate([np.zeros(n + n_pollution, np.int64), np.ones(n_collected, np.int64)])

    y_test_cls = np.asarray(dataset.y_test)
    test_idx = np.arange(len(y_test_cls))
    if exp.max_test is not None and exp.max_test < len(test_idx):
        test_idx = np.sort(_stratified_take(y_test_cls, exp.max_test / len(test_idx), rng))
    X_test = np.asarray(dataset.X_test)[test_idx]
    y_test = (y_test_cls[test_idx] != exp.normal_class).astype(np.int64)
    info = {
        "known_classes": known, "n_normals": n, "n_pollution": n_pollution,
        "train_index": index, "test_index": test_idx,
    }
    return (X_train, y_train, info), (X_test, y_test)


def _tabular_parts(dataset, exp: Experiment, rng: np.random.Generator):
    X = np.asarray(dataset.X_train, dtype=np.float64)
    y = np.asarray(dataset.y_train)
    normals, outliers = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    normals, outliers = rng.permutation(normals), rng.permutation(outliers)
    n_tr_norm = int(round(TABULAR_TRAIN_SHARE * len(normals)))
    n_tr_out = int(round(TABULAR_TRAIN_SHARE * len(outliers)))
    train_normals, test_normals = np.sort(normals[:n_tr_norm]), normals[n_tr_norm:]
    train_outliers, test_outliers = outliers[:n_tr_out], outliers[n_tr_out:]
    # The scalers see the training part only (normals and outliers), never the test part.
    train_part = np.concatenate([train_normals, train_outliers])
    standard = StandardScaler().fit(X[train_part])
    minmax = MinMaxScaler().fit(standard.transform(X[train_part]))

    def scale(rows: np.ndarray) -> np.ndarray:
        return minmax.transform(standard.transform(X[rows])).astype(np.float32)

    n = len(train_normals)
    n_pollution = count_from_ratio(n, exp.gamma_p)
    n_collected = count_from_ratio(n + n_pollution, exp.gamma_l) if exp.k_l > 0 else 0
    if exp.gamma_l > 0 and exp.k_l > 0 and n_collected == 0:
        raise InfeasibleExperimentError(
            f"{dataset.name}: gamma_l = {exp.gamma_l} of {n + n_pollution} training samples collects no anomaly "
            f"(int({n + n_pollution} * {exp.gamma_l} / (1 - {exp.gamma_l})) = 0)"
        )
    if n_pollution + n_collected > len(train_outliers):
        raise InfeasibleExperimentError(
            f"{dataset.name}: gamma_p = {exp.gamma_p} and gamma_l = {exp.gamma_l} need {n_pollution} + {n_collected} "
            f"training outliers; only {len(train_outliers)} exist"
        )
    pollution = np.sort(train_outliers[:n_pollution])
    collected = np.sort(train_outliers[n_pollution:n_pollution + n_collected])
    index = np.concatenate([train_normals, pollution, collected])
    X_train = scale(index)
    y_train = np.concatenate([np.zeros(n + n_pollution, np.int64), np.ones(n_collected, np.int64)])
    test_idx = np.sort(np.concatenate([test_normals, test_outliers]))
    X_test, y_test = scale(test_idx), y[test_idx].astype(np.int64)
    # Training-part outliers the split neither collected nor used as pollution: no detector sees
    # them and they are not test data, so a design study may validate on them (never a run).
    unused = np.sort(train_outliers[n_pollution + n_collected:])
    info = {
        "known_classes": (1,) if n_collected else (), "n_normals": n, "n_pollution": n_pollution,
        "train_index": index, "test_index": test_idx, "unused_train_outlier_index": unused,
        "X_unused_train_outliers": scale(unused) if len(unused) else np.empty((0, X.shape[1]), np.float32),
    }
    return (X_train, y_train, info), (X_test, y_test)


def _stratified_take(labels: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``share`` of each label value (at least one where the value has two or more)."""
    picked = []
    for value in np.unique(labels):
        pool = np.flatnonzero(labels == value)
        k = int(round(share * len(pool)))
        if k == 0 and len(pool) >= 2 and share > 0:
            k = 1
        picked.append(rng.choice(pool, size=min(k, len(pool)), replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.array([], dtype=np.int64)


def _paper_val_indices(y_test: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    normals, anomalies = np.flatnonzero(y_test == 0), np.flatnonzero(y_test == 1)
    n_norm = min(PAPER_VAL_NORMALS, int(PAPER_VAL_MAX_SHARE * len(normals)))
    n_anom = min(PAPER_VAL_ANOMALIES, int(PAPER_VAL_MAX_SHARE * len(anomalies)))
    return np.sort(np.concatenate([rng.choice(normals, n_norm, replace=False), rng.choice(anomalies, n_anom, replace=False)]))
