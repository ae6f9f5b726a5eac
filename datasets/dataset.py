"""The value every loader returns: arrays plus the few facts the protocol needs.

The arrays are marked read-only because the same object is handed out from the in-process
cache to every job; a job that normalised ``X_train`` in place would silently change the data
of all later jobs.  Copy first (``X.copy()``) to modify.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """One loaded dataset.

    Images: ``X_*`` float32 N×C×H×W in [0, 1], ``y_*`` int64 class ids, the official
    train/test split.  Tabular (ODDS): ``X_train`` float32 N×d holds *all* rows and
    ``y_train`` the int64 outlier flags (1 = outlier); ``X_test``/``y_test`` are None because
    the protocol draws its own split.  Equality is identity (arrays do not compare as bools).
    """

    name: str
    kind: str
    arch: str
    classes: tuple[int, ...]
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __repr__(self) -> str:
        def shape(a: np.ndarray | None) -> str:
            return "None" if a is None else f"{a.dtype}{list(a.shape)}"

        return (f"Dataset(name={self.name!r}, kind={self.kind!r}, arch={self.arch!r}, "
                f"classes={self.classes}, X_train={shape(self.X_train)}, "
                f"X_test={shape(self.X_test)})")
