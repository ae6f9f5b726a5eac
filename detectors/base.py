"""The detector contract of the suite: PyOD's ``BaseDetector`` API plus collected-anomaly labels.

- ``fit(X, y=None, eval_set=None)``: ``y`` is 1 for a collected (labelled) anomaly and 0 for an
  unlabelled sample assumed normal. ``eval_set=(X_val, y_val)`` is an optional validation set for
  epoch or hyperparameter selection (the XGBoost / LightGBM convention).
- ``decision_function(X)``: higher = more anomalous.
- A subclass implements ``_fit`` and ``_score`` only; this class validates parameters and data,
  sets ``decision_scores_`` (on first read: see ``_end_fit``) and lets PyOD derive ``threshold_``,
  ``labels_`` and probabilities.
"""
from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from pyod.models.base import BaseDetector
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from .errors import DivergenceError, NotApplicableError
from .params import Interval, validate_params


MIN_FIT_SAMPLES = 2  # one sample defines no spread: no detector of the suite can be fitted on it
# What PyOD derives from the training scores; computed on first read (see SemiSupervisedDetector._end_fit).
_TRAINING_SCORE_ATTRIBUTES = frozenset({"decision_scores_", "threshold_", "labels_", "_mu", "_sigma"})


class _TrainingScores:
    """The training input until it is scored, then the scores and what PyOD derives from them.

    A mutable holder kept in the detector from ``fit`` on: filling it on first read leaves the
    detector's own attributes as ``fit`` left them (scikit-learn checks that predicting does not
    change them).
    """

    def __init__(self, X: np.ndarray):
        self.X: np.ndarray | None = X
        self.values: dict[str, Any] | None = None


def check_X(X: Any, *, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """A float32 array of shape (n, d) or (n, c, h, w): non-empty, real, finite, at least one feature.

    scikit-learn's ``check_array`` does the generic part (object arrays of numbers converted,
    strings refused, too few samples refused, DataFrames of any dtypes converted); this function
    adds what its messages do not say or what it does not check: sparse and complex input
    refused with what to do instead, 4-D images, zero features refused for every shape, and a
    count of the non-finite samples.
    """
    if X is None:
        raise ValueError(f"{name} is None; expected an array of shape (n_samples, n_features) or (n, C, H, W)")
    if sp.issparse(X):
        raise TypeError(f"{name} is a scipy sparse matrix, but the detectors of this suite need dense data; "
                        f"pass {name}.toarray() instead")
    if not hasattr(X, "dtype") and not hasattr(X, "dtypes"):  # lists and other array-likes
        try:
            X = np.asarray(X)
        except ValueError:  # ragged: check_array says so
            pass
    if np.iscomplexobj(X):  # before check_array, whose own message does not say what to do
        raise ValueError(f"Complex data not supported: {name} holds complex numbers. Pass its real part "
                         f"({name}.real) or its modulus (abs({name})) explicitly if that is what you mean")
    X = check_array(X, accept_sparse=False, dtype="numeric", allow_nd=True, ensure_all_finite=False,
                    ensure_min_samples=min_samples, ensure_min_features=1, input_name=name)
    if X.ndim not in (2, 4):
        raise ValueError(f"{name} must have 2 dimensions (n_samples, n_features) or 4 (n, C, H, W); got shape {X.shape}")
    if int(np.prod(X.shape[1:])) == 0:
        raise ValueError(f"{name} has 0 features per sample (shape {X.shape}); at least one is required")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or infinity in {bad} sample(s); clean or impute them first")
    return X


def check_labels(y: Any, n: int, *, name: str = "y") -> np.ndarray:
    """0/1 labels of length ``n`` as int64; anything else is a ``ValueError`` naming what was found."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"X and {name} have different lengths: {n} samples in X, {len(y)} labels in {name}")
    if np.iscomplexobj(y):
        raise ValueError(f"{name} holds complex numbers; it must hold 1 for a collected anomaly and 0 otherwise")
    valid = np.array([v in (0, 1) and not isinstance(v, (str, bytes)) for v in y.tolist()], dtype=bool)
    if not valid.all():
        bad = sorted({repr(v) for v in y[~valid].tolist()})[:5]
        raise ValueError(f"{name} must hold 1 for a collected anomaly and 0 for an unlabelled sample; "
                         f"got other values {', '.join(bad)}")
    return y.astype(np.int64)


def check_y(y: Any, n: int) -> np.ndarray:
    """Labels of collected anomalies: 0/1 of length n (None means all unlabelled)."""
    if y is None:
        return np.zeros(n, dtype=np.int64)
    y = check_labels(y, n)
    if y.all():
        raise ValueError("y is 1 for every sample: at least one unlabelled (assumed normal) sample is required")
    return y


def tie_safe_threshold(scores: np.ndarray, contamination: float) -> float:
    """PyOD's threshold (the (1 - contamination) percentile), lowered just below the maximum when
    that percentile *is* the maximum.

    PyOD flags ``score > threshold_``; when many training scores tie at the top, the percentile
    equals the tied value and nothing is flagged. Moving the threshold to the next float below
    flags the tied group instead (more than ``contamination`` of the data, but never none).
    """
    threshold = float(np.percentile(scores, 100 * (1 - contamination)))
    if contamination > 0 and threshold >= float(np.max(scores)):
        threshold = float(np.nextafter(np.max(scores), -np.inf))
    return threshold


class SemiSupervisedDetector(BaseDetector):
    """Base class of every detector of the suite.

    Subclasses declare ``_parameter_constraints`` and set ``requires_labels`` when the method is
    undefined without collected anomalies (then ``fit`` raises :class:`NotApplicableError`).
    """

    requires_labels: ClassVar[bool] = False
    registry_name: ClassVar[str] = ""
    #: How tables and figures name the detector (e.g. "My SVDD"); empty: the registry name.
    display_name: ClassVar[str] = ""
    #: The version of what the detector computes, raised by one whenever a change of its code changes
    #: its scores for the same data, parameters and seed (not for a change of speed or of messages).
    #: Every stored row records it; a resumed run reruns the rows of another version, and reports
    #: never average two versions (docs/methods.md §7).
    computation_version: ClassVar[int] = 1
    #: For a raise that changed the computation on some network families (``arch``) only:
    #: ``{version: families}``. A family a raise did not touch keeps the version before it, so its
    #: stored rows stay current. Empty: every raise changed every family.
    computation_changes: ClassVar[dict[int, tuple[str, ...]]] = {}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "contamination": [Interval(numbers.Real, 0.0, 0.5, closed="right")],
    }

    def __init__(self, *, contamination: float = 0.1):
        self.contamination = contamination

    # -- the template --------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, eval_set: tuple | None = None):
        """Validate, train on ``X`` (with ``y`` marking collected anomalies); training scores on first read."""
        X, y, eval_set = self._begin_fit(X, y, eval_set)
        self._fit(X, y, eval_set)
        return self._end_fit(X)

    def _begin_fit(self, X: Any, y: Any, eval_set: tuple | None) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """Everything ``fit`` does before training: checks, input shape, empty ``fit_info_``.

        A separate step so that a trainer of several detectors at once (``fit_many``) validates
        and finishes each of them exactly as ``fit`` would.
        """
        self.check_params()
        self._check_names(X, reset=True)
        X = check_X(X, min_samples=MIN_FIT_SAMPLES)
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
        self._training_scores = None  # nothing of a previous fit
        return X, y, eval_set

    def _end_fit(self, X: np.ndarray):
        """Everything ``fit`` does after training: keep ``X`` for the training scores, scored on first read.

        PyOD's contract has ``decision_scores_``, ``threshold_`` and ``labels_`` of the training
        set after ``fit``. Scoring the whole training set costs as much as scoring a test set one
        and a half times its size (XGBOD's bank of 41 detectors on 370,000 ADBench rows, a kernel
        density against every row), and a benchmark never reads them. So they are computed the
        first time one of them is read, from the fitted model: the same values as computing them
        here, since scoring changes nothing in a fitted detector.
        """
        self._training_scores = _TrainingScores(X)
        return self

    def __getattr__(self, name: str) -> Any:
        # Only reached when ordinary lookup fails: the training-score attributes, until computed.
        holder = self.__dict__.get("_training_scores")
        if name in _TRAINING_SCORE_ATTRIBUTES and holder is not None:
            if holder.values is None:
                holder.values = self._derive_training_attributes(self._checked_scores(self._score(holder.X), "training"))
                holder.X = None
            return holder.values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _derive_training_attributes(self, scores: np.ndarray) -> dict[str, Any]:
        """PyOD's ``threshold_``, ``labels_`` and probability statistics, with ties at the top handled."""
        threshold = tie_safe_threshold(scores, float(self.contamination))
        return {"decision_scores_": scores, "threshold_": threshold, "labels_": (scores > threshold).astype(int).ravel(),
                "_mu": float(np.mean(scores)), "_sigma": float(np.std(scores))}

    def _check_names(self, X: Any, *, reset: bool) -> None:
        """Record (``reset``) or compare the column names of a DataFrame, as scikit-learn does.

        scikit-learn's ``validate_data`` sets ``feature_names_in_`` at fit and raises at scoring
        when the columns differ or are reordered. Only 2-D input can carry names; the shape of
        images is checked by ``input_shape_`` instead.
        """
        if X is None or sp.issparse(X):
            return
        if not hasattr(X, "columns"):
            try:
                if np.asarray(X).ndim != 2:
                    return
            except (TypeError, ValueError):  # ragged nested lists and the like: check_X explains
                return
        validate_data(self, X, reset=reset, skip_check_array=True)

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores of ``X``: higher = more anomalous."""
        if not hasattr(self, "input_shape_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call 'fit' first.")
        self._check_names(X, reset=False)
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
        return X_val, check_labels(y_val, len(X_val), name="eval_set y")

    def _checked_scores(self, scores: Any, what: str) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if not np.isfinite(scores).all():
            n_bad = int((~np.isfinite(scores)).sum())
            raise DivergenceError(f"{type(self).__name__} produced {n_bad} non-finite {what} score(s)")
        return scores
