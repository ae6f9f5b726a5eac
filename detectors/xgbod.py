"""XGBOD (Zhao & Hryniewicki, IJCNN 2018) from PyOD, given the collected-anomaly labels.

XGBOD fits a bank of unsupervised detectors (kNN and LOF for several k, HBOS for several bin
counts, OCSVM for several ν, isolation forests of several sizes: 41 in PyOD), appends their
scores to the features ("transformed outlier scores") and trains an XGBoost classifier on the
labels. Here the labels are the suite's: 1 = collected anomaly, 0 = unlabelled (assumed normal),
so it is undefined without collected anomalies. The score is XGBoost's P(anomaly | x).

What was checked in PyOD 3.6.7 and what this adapter does about it:

- ``fit(X, y)`` does use ``y`` (for the classifier only; the unsupervised bank ignores it) and
  ``decision_function`` scores new data through the same bank: correct for this use.
- It passes ``silent=`` to XGBoost, which XGBoost >= 2 ignores with a warning, and PyOD's base
  class warns that "y should not be presented in unsupervised learning": both warnings are
  silenced, nothing else changes.
- Only the isolation forests take ``random_state``; the adapter passes the detector's seed and runs
  fit and scoring under seeded, restored global generators (as the other PyOD adapters do).
- ``n_jobs`` defaults to 1 (one job = one core, as everywhere in the suite).
- The bank's kNN, LOF and OCSVM members compare every point with every training point: on the
  largest tables the suite sets ``max_train`` (a seeded subsample of the unlabelled rows; every
  collected anomaly kept unless ``max_collected`` caps them too, see :mod:`.subsample`).
- XGBoost returns float32 probabilities: confident test samples can tie (at 0 or 1).
"""
from __future__ import annotations

import numbers
import warnings
from typing import ClassVar

import numpy as np

from .base import SemiSupervisedDetector
from .params import Interval, IsNone
from .pyod_adapter import _DictOrNone, isolated_global_rngs
from .registry import register
from .subsample import limit_training_rows
from .torch_utils import seed_from

XGBOOST_SEED_LIMIT = 2**31 - 1  # XGBoost's seed is a 32-bit signed integer


@register("xgbod")
class XGBOD(SemiSupervisedDetector):
    """PyOD's XGBOD: unsupervised-score features + XGBoost trained on the collected anomalies."""

    requires_labels: ClassVar[bool] = True
    test_params: ClassVar[dict] = {"params": {"n_estimators": 20}}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "params": [_DictOrNone()],
        "random_state": [Interval(numbers.Integral, 0, None), IsNone()],
        "max_train": [Interval(numbers.Integral, 1, None), IsNone()],
        "max_collected": [Interval(numbers.Integral, 1, None), IsNone()],
    }

    def __init__(self, *, params: dict | None = None, max_train: int | None = None, max_collected: int | None = None,
                 random_state: int | None = None, contamination: float = 0.1):
        self.params = params
        self.max_train = max_train
        self.max_collected = max_collected
        self.random_state = random_state
        self.contamination = contamination

    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        from pyod.models.xgbod import XGBOD as PyODXGBOD

        self.seed_ = seed_from(self.random_state)
        Xf, yf, subsampled_from = limit_training_rows(X.reshape(len(X), -1), y, self.max_train, self.seed_,
                                                   self.max_collected)
        if subsampled_from is not None:
            self.fit_info_["subsampled_from"] = subsampled_from
        kwargs = {"n_jobs": 1, **(self.params or {}), "random_state": self.seed_ % XGBOOST_SEED_LIMIT}
        with isolated_global_rngs(self.seed_), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*\"silent\"")
            warnings.filterwarnings("ignore", message="y should not be presented")
            self.model_ = PyODXGBOD(**kwargs).fit(Xf.astype(np.float64), yf)
        self.fit_info_.update({"labels_used": True, "eval_set_used": False, "n_labelled_anomalies": int(y.sum())})

    def _score(self, X: np.ndarray) -> np.ndarray:
        with isolated_global_rngs(self.seed_):
            return self.model_.decision_function(X.reshape(len(X), -1).astype(np.float64))
