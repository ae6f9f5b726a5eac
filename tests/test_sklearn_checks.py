"""scikit-learn's own conformance suite (``parametrize_with_checks``) over every registered detector.

Two things of this suite's contract differ from scikit-learn's outlier detectors, and are handled
once here rather than by skipping checks:

- ``y``: scikit-learn's checks pass class labels (0, 1, 2, ...) and expect an outlier detector to
  ignore them; here ``y`` means "collected anomaly" and must be 0/1 (bad ``y`` is a ``ValueError``,
  tested in ``test_detector_contract``). Each detector is therefore checked through a subclass
  whose only change is that ``fit`` maps scikit-learn's labels to 0/1 (the highest class is "collected
  anomaly"; a single class means none), so that every other check still applies to it.
- the inapplicable checks are listed in ``INAPPLICABLE`` with their reason; every other check must pass.
  The properties those checks test are tested in the suite's own terms over the same registry in
  tests/test_detector_contract.py (labels, outlier share, subset invariance).

Settings are tiny (one epoch, small batches): these checks test the API, not learning.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from detectors import TorchDetector, available_detectors, get_detector_class, import_errors
from detectors.pyod_adapter import UNAVAILABLE

TINY_PARAMS: dict[str, dict] = {
    "deep-sad": {"epochs": 1, "ae_epochs": 1, "batch_size": 16},
    "supervised": {"epochs": 1, "batch_size": 16},
    "ss-dgm": {"epochs": 1, "batch_size": 16},
    "nda": {"epochs": 1, "batch_size": 8},
    "aa-bigan": {"epochs": 1, "batch_size": 16},
    "ssad-hybrid": {"epochs": 1, "batch_size": 16},
    "ssad-raw": {"gamma": 1.0},
    "aad": {"n_estimators": 10},
    "pyod-iforest": {"params": {"n_estimators": 10}},
    "pyod-deepsvdd": {"params": {"epochs": 1, "batch_size": 16}},
    "devnet": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 16},
    "prenet": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 16},
    "feawad": {"epochs": 1, "ae_epochs": 1, "batches_per_epoch": 2, "batch_size": 16},
    "xgbod": {"params": {"n_estimators": 10}},
}

PYOD_LABELS = ("predict returns PyOD's labels (1 = outlier, 0 = inlier), not scikit-learn's -1/+1; the same "
               "properties in these terms (predict agrees with decision_function and threshold_, contamination "
               "flags its share of the training data) are tests of tests/test_detector_contract.py")
FLOAT32_BATCH = ("float32 network: a sample's score can change in the 7th digit with the batch it is "
                 "scored in (BLAS blocking), beyond the check's 1e-7 tolerance; subset invariance at a float32 "
                 "tolerance is a test of tests/test_detector_contract.py")
ECOD_BATCH = "upstream ECOD pools the scored batch into its tail estimates: scores depend on the other rows"
# Detectors whose scores go through a float32 network (besides the TorchDetector subclasses).
FLOAT32_NETWORK = {"ssad-hybrid", "pyod-deepsvdd"}


def inapplicable(name: str) -> dict[str, str]:
    """Checks that do not apply to detector ``name``, each with its reason."""
    out = {"check_outliers_fit_predict": PYOD_LABELS, "check_outliers_train": PYOD_LABELS}
    if issubclass(get_detector_class(name), TorchDetector) or name in FLOAT32_NETWORK:
        out["check_methods_subset_invariance"] = FLOAT32_BATCH
    if name == "pyod-ecod":
        out["check_methods_subset_invariance"] = ECOD_BATCH
    return out


def sklearn_labels_to_collected(y):
    """scikit-learn's class labels -> this suite's 0/1 (highest class = collected anomaly)."""
    if y is None:
        return None
    y = np.asarray(y)
    return ((y == y.max()) & (y != y.min())).astype(np.int64)


def _checked_class(name: str) -> type:
    """A subclass of the detector whose ``fit`` translates scikit-learn's ``y`` (see module doc).

    It is a global of this module, so that pickling it (one of the checks) finds it by name.
    """
    cls = get_detector_class(name)

    def fit(self, X, y=None, eval_set=None):
        return cls.fit(self, X, sklearn_labels_to_collected(y), eval_set=eval_set)

    qualname = "SK" + cls.__name__
    sub = type(qualname, (cls,), {"fit": fit, "__module__": __name__, "__qualname__": qualname,
                                  "__doc__": cls.__doc__})
    globals()[qualname] = sub
    return sub


def _instance(name: str):
    cls = _checked_class(name)
    params = dict(TINY_PARAMS.get(name, {}))
    accepted = cls().get_params()
    if "random_state" in accepted:
        params["random_state"] = 0
    if "device" in accepted:
        params["device"] = "cpu"
    return cls(**params)


NAMES = [name for name in available_detectors() if not name.startswith("toy-")]
ESTIMATORS = [_instance(name) for name in NAMES]
_BY_CLASS = {type(est).__name__: name for est, name in zip(ESTIMATORS, NAMES)}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: inapplicable(_BY_CLASS[type(est).__name__]))
def test_sklearn_conformance(estimator, check):
    torch.set_num_threads(1)
    check(estimator)


def test_no_built_in_detector_escapes_the_checks():
    """A built-in module or PyOD row that fails to import would silently drop out of NAMES."""
    assert not import_errors(), import_errors()
    assert not UNAVAILABLE, UNAVAILABLE
    assert set(TINY_PARAMS) <= set(NAMES), "tiny settings for a detector that is not registered"
