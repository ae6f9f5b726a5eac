"""The structural checks every labelled table file gets (ODDS ``.mat``, ADBench ``.npz``).

Run before the checksum, so that a user's own file is told what is wrong with it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import DataError


def check_labelled_table(X: np.ndarray, y: np.ndarray, fail: Callable[[str], DataError]) -> tuple[np.ndarray, np.ndarray]:
    """``X`` a 2-D matrix, ``y`` a vector of 0 (normal) and 1 (anomaly) with one label per row;
    returns X and y flattened, or raises ``fail(problem)``."""
    if X.ndim != 2:
        raise fail(f"X has shape {X.shape}, expected a 2-D matrix")
    if y.ndim > 2 or (y.ndim == 2 and 1 not in y.shape):
        raise fail(f"y has shape {y.shape}, expected a vector")
    y = y.reshape(-1)
    if len(y) != len(X):
        raise fail(f"X has {len(X)} rows but y has {len(y)} labels")
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise fail(f"y has values {values[:10].tolist()}, expected only 0 (normal) and 1 (anomaly)")
    return X, y
