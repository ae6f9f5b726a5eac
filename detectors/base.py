"""The detector contract of the suite: PyOD's ``BaseDetector`` API plus collected-anomaly labels.

- ``fit(X, y=None, eval_set=None)``: ``y`` is 1 for a collected (labelled) anomaly and 0 for an
  unlabelled sample assumed normal. ``eval_set=(X_val, y_val)`` is an optional validation set for
  epoch or hyperparameter selection (the XGBoost / LightGBM convention).
- ``decision_function(X)``: higher = more anomalous.
- A subclass implements ``_fit`` and ``_score`` only; this class validates parameters and data,
  sets ``decision_scores_`` and lets PyOD derive ``threshold_``, ``labels_`` and probabilities.
"""
from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from pyod.models.base import BaseDetector

from .errors import DivergenceError, NotApplicableError
from .params import Interval, validate_params


def check_X(X: Any, *, name: str = "X") -> np.ndarray:
    """A float32 array of shape (n, d) or (n, c, h, w), non-empty and finite."""
    if X is None:
        raise ValueError(f"{name} is None; expected an array of shape (n_samples, n_features) or (n, C, H, W)")
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    if X.ndim not in (2, 4):
        raise ValueError(f"{name} must have 2 dimensions (n_samples, n_features) or 4 (n, C, H, W); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples); at least one sample is required")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or infinity in {bad} sample(s); clean or impute them first")
    return X


def check_y(y: Any, n: int) -> np.ndarray:
    """Labels of collected anomalies: 0/1 of length n (None means all unlabelled)."""
    if y is None:
        return np.zeros(n, dtype=np.int64)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional; got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"X and y have different lengths: {n} samples in X, {len(y)} labels in y")
    if not np.isin(y, (0, 1)).all():
        bad = sorted({v for v in np.unique(y).tolist() if v not in (0, 1)})[:5]
        raise ValueError(
            f"y must hold 1 for a collected anomaly and 0 for an unlabelled sample; got other values {bad}"
        )
    y = y.astype(np.int64)
    if y.all():
        raise ValueError("y is 1 for every sample: at least one unlabelled (assumed normal) sample is required")
    return y


class SemiSupervisedDetector(BaseDetector):
    """Base class of every detector of the suite.

    Subclasses declare ``_parameter_constraints`` and set ``requires_labels`` when the method is
    undefined without collected anomalies (then ``fit`` raises :class:`NotApplicableError`).
    """

    requires_labels: ClassVar[bool] = False
    registry_name: ClassVar[str] = ""
    #: How tables and figures name the detector (e.g. "My SVDD"); empty: the registry name.
    display_name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "contamination": [Interval(numbers.Real, 0.0, 0.5, closed="right")],
    }

    def __init__(self, *, contamination: float = 0.1):
        self.contamination = contamination

    # -- the template --------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, eval_set: tuple | None = None):
        """Validate, train on ``X`` (with ``y`` marking collected anomalies), score the training set."""
        self.check_params()
        X = check_X(X)
        y = check_y(y, len(X))
        if self.requires_labels and not y.any():
            raise NotApplicableError(
                f"{type(self).__name__} needs collected anomalies (y == 1) and got none; it is undefined at gamma_l = 0"
            )
        if eval_set is not None:
            eval_set = self._check_eval_set(eval_set, X.shape[1:])
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.fit_info_: dict[str, Any] = {}
        self._set_n_classes(None)
        self._fit(X, y, eval_set)
        self.decision_scores_ = self._checked_scores(self._score(X), "training")
        self._process_decision_scores()
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores of ``X``: higher = more anomalous."""
        if not hasattr(self, "input_shape_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call 'fit' first.")
        X = check_X(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has per-sample shape {tuple(X.shape[1:])}, but {type(self).__name__} was fitted on {self.input_shape_}"
            )
        return self._checked_scores(self._score(X), "test")

    def check_params(self) -> None:
        """Check every parameter against the constraint tables of the class and its bases.

        ``fit`` calls it; the command line calls it too, before any job runs, so that a bad
        ``--param`` value is refused as bad input instead of failing every job.
        """
        constraints: dict[str, list] = {}
        for klass in reversed(type(self).__mro__):
            constraints.update(getattr(klass, "_parameter_constraints", {}) or {})
        validate_params(type(self).__name__, self.get_params(deep=False), constraints)

    # -- hooks ---------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _check_eval_set(eval_set: Any, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
        try:
            X_val, y_val = eval_set
        except (TypeError, ValueError):
            raise ValueError("eval_set must be a pair (X_val, y_val)") from None
        X_val = check_X(X_val, name="eval_set X")
        if tuple(X_val.shape[1:]) != tuple(shape):
            raise ValueError(f"eval_set X has per-sample shape {X_val.shape[1:]}, but X has {shape}")
        y_val = np.asarray(y_val)
        if len(y_val) != len(X_val) or not np.isin(y_val, (0, 1)).all():
            raise ValueError("eval_set y must be 0/1 labels (1 = anomaly), one per sample of eval_set X")
        return X_val, y_val.astype(np.int64)

    def _checked_scores(self, scores: Any, what: str) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if not np.isfinite(scores).all():
            n_bad = int((~np.isfinite(scores)).sum())
            raise DivergenceError(f"{type(self).__name__} produced {n_bad} non-finite {what} score(s)")
        return scores
