"""Seeded subsampling of the unlabelled training rows, for detectors whose cost grows with n².

Some methods hold an n × n kernel (SSAD), compare every test point with every training point
(KDE, the kNN/LOF/OCSVM features of XGBOD) or solve an O(n²)–O(n³) problem (OCSVM). On the
largest tabular sets (ADBench's donors: 370,000 training rows) that is hours or tens of GB. A
suite can then set ``max_train=N``: the detector is trained on N unlabelled rows drawn with its
own seed, and on every collected anomaly (they are few and carry the labels). The size it was
subsampled from goes into ``fit_info_``, and ``max_train`` itself into the results row.

Collected anomalies are not always few: at γl .05, ADBench's donors has 18,000 of them, campaign
and shuttle more than 1,000. For the detectors whose cost grows with every training row whatever
its label (SSAD's dual, XGBOD's bank) or with their number squared (AAD's weight update),
``max_collected=M`` also keeps a seeded M of them; ``None`` keeps all.

The deep detectors' cost is linear in the rows, but they pass over every row in every epoch (Deep
SAD: 150 + 150 epochs), so a 370,000-row set costs 37 times a 10,000-row one. Their cap,
``max_rows=N`` (:func:`stratified_rows`), keeps N rows in all with each label in its share, so
that the ratio of collected anomalies, which is what γl sets, stays what the protocol asked for.
"""
from __future__ import annotations

import numpy as np
from sklearn.utils import resample


def kept_rows(y: np.ndarray, max_train: int | None, seed: int, max_collected: int | None = None) -> np.ndarray | None:
    """Indices of the rows to keep, in their original order, or ``None`` when nothing is cut.

    Keeps ``max_train`` of the rows with ``y == 0`` and ``max_collected`` of the rows with
    ``y == 1`` (``None``: all of that kind), drawn with ``numpy.random.default_rng(seed)`` (the
    unlabelled rows first, so a cap on the collected anomalies leaves the unlabelled draw as it
    was without one).
    """
    unlabelled, collected = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    cut_unlabelled = max_train is not None and len(unlabelled) > max_train
    cut_collected = max_collected is not None and len(collected) > max_collected
    if not (cut_unlabelled or cut_collected):
        return None
    rng = np.random.default_rng(seed)
    if cut_unlabelled:
        unlabelled = rng.choice(unlabelled, int(max_train), replace=False)
    if cut_collected:
        collected = rng.choice(collected, int(max_collected), replace=False)
    return np.sort(np.concatenate([unlabelled, collected]))


def limit_training_rows(X: np.ndarray, y: np.ndarray, max_train: int | None, seed: int,
                     max_collected: int | None = None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``(X, y, None)`` when nothing is cut, else the rows of :func:`kept_rows` and the original size."""
    return _take(X, y, kept_rows(y, max_train, seed, max_collected))


def _take(X: np.ndarray, y: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``(X, y, None)`` when ``keep`` is None, else the kept rows and the original size."""
    if keep is None:
        return X, y, None
    return X[keep], y[keep], len(y)


def stratified_rows(y: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Indices of a seeded subsample of ``max_rows`` rows, in their original order, with each label
    of ``y`` in its share (scikit-learn's stratified ``resample``); ``None`` when nothing is cut."""
    if max_rows is None or len(y) <= max_rows:
        return None
    keep = resample(np.arange(len(y)), replace=False, n_samples=int(max_rows), stratify=y, random_state=seed)
    lost = sorted(set(np.unique(y).tolist()) - set(np.unique(y[keep]).tolist()))
    if lost:
        raise ValueError(f"max_rows={max_rows} keeps no row of label {lost[0]} ({int(np.sum(y == lost[0]))} of "
                         f"{len(y)} rows): its share rounds to 0; raise max_rows or leave it None")
    return np.sort(keep)


def limit_rows_stratified(X: np.ndarray, y: np.ndarray, max_rows: int | None, seed: int
                          ) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``(X, y, None)`` when nothing is cut, else the rows of :func:`stratified_rows` and the original size."""
    return _take(X, y, stratified_rows(y, max_rows, seed))
