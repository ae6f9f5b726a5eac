"""Seeded subsampling of the unlabelled training rows, for detectors whose cost grows with n².

Some methods hold an n × n kernel (SSAD), compare every test point with every training point
(KDE, the kNN/LOF/OCSVM features of XGBOD) or solve an O(n²)–O(n³) problem (OCSVM). On the
largest tabular sets (ADBench's donors: 370,000 training rows) that is hours or tens of GB. A
suite can then set ``max_train=N``: the detector is trained on N unlabelled rows drawn with its
own seed, and on every collected anomaly (they are few and carry the labels). The size it was
subsampled from goes into ``fit_info_``, and ``max_train`` itself into the results row.
"""
from __future__ import annotations

import numpy as np


def limit_unlabelled(X: np.ndarray, y: np.ndarray, max_train: int | None,
                     seed: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``(X, y, None)`` when nothing is cut, else the subsample and the original size.

    Keeps every row with ``y == 1`` and ``max_train`` of the rows with ``y == 0``, in their
    original order, drawn with ``numpy.random.default_rng(seed)``.
    """
    unlabelled = np.flatnonzero(y == 0)
    if max_train is None or len(unlabelled) <= max_train:
        return X, y, None
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.choice(unlabelled, int(max_train), replace=False), np.flatnonzero(y == 1)]))
    return X[keep], y[keep], len(y)
