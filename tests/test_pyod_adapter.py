"""What is special about the PyOD adapter: the table-driven registration, labels ignored, global RNGs."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from detectors import get_detector_class
from detectors.pyod_adapter import PYOD_DETECTORS, UNAVAILABLE, PyODDetector

NAMES = [name for name in PYOD_DETECTORS if name not in UNAVAILABLE]


def _gaussian_task(seed: int = 0):
    """Normals N(0, I) in 8-D; anomalies N(0, I) shifted by 4 in four features (half of them labelled)."""
    rng = np.random.default_rng(seed)
    shift = np.r_[4.0, 4.0, 4.0, 4.0, np.zeros(4)]
    X = np.r_[rng.normal(size=(300, 8)), rng.normal(size=(10, 8)) + shift].astype(np.float32)
    y = np.r_[np.zeros(300), np.ones(10)].astype(np.int64)
    X_test = np.r_[rng.normal(size=(200, 8)), rng.normal(size=(40, 8)) + shift].astype(np.float32)
    return X, y, X_test, np.r_[np.zeros(200), np.ones(40)]


def _make(name: str, **kwargs) -> PyODDetector:
    cls = get_detector_class(name)
    return cls(**cls.test_params, **kwargs)


def test_every_row_is_registered_as_a_subclass():
    assert set(NAMES) | set(UNAVAILABLE) == set(PYOD_DETECTORS)
    assert {"pyod-iforest", "pyod-ocsvm", "pyod-kde", "pyod-ecod"} <= set(NAMES)
    for name in NAMES:
        cls = get_detector_class(name)
        assert issubclass(cls, PyODDetector) and cls.registry_name == name
        assert cls.pyod_class_path == PYOD_DETECTORS[name].class_path
        assert set(cls().get_params()) == {"params", "random_state", "max_train", "contamination"}


@pytest.mark.parametrize("name", NAMES)
def test_learns_ignores_labels_and_round_trips(name):
    X, y, X_test, y_test = _gaussian_task()
    det = clone(_make(name, random_state=0)).fit(X, y)
    scores = det.decision_function(X_test)
    assert np.std(scores) > 0
    assert roc_auc_score(y_test, scores) > 0.9
    assert det.fit_info_["labels_used"] is False
    np.testing.assert_array_equal(scores, _make(name, random_state=0).fit(X).decision_function(X_test))
    np.testing.assert_array_equal(scores, pickle.loads(pickle.dumps(det)).decision_function(X_test))


def test_global_random_state_is_left_alone():
    name = "pyod-deepsvdd" if "pyod-deepsvdd" in NAMES else "pyod-iforest"
    X, _, X_test, _ = _gaussian_task()
    np_before, torch_before = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    a = _make(name, random_state=7).fit(X).decision_function(X_test)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)
    assert torch.equal(torch.get_rng_state(), torch_before)
    np.testing.assert_array_equal(a, _make(name, random_state=7).fit(X).decision_function(X_test))


def test_params_override_defaults_and_unknown_names_fail():
    X, _, _, _ = _gaussian_task()
    det = get_detector_class("pyod-iforest")(params={"n_estimators": 7}, random_state=0).fit(X)
    assert len(det.model_.estimators_) == 7
    with pytest.raises(ValueError, match="no parameter"):
        get_detector_class("pyod-ocsvm")(params={"n_trees": 3}).fit(X)


def test_images_are_flattened(mnist):
    ds = mnist
    rng = np.random.default_rng(0)
    X = ds.X_train[rng.choice(np.flatnonzero(ds.y_train == 0), 300, replace=False)]
    test = rng.choice(len(ds.y_test), 600, replace=False)
    y_test = ds.y_test[test] != 0
    for name in ("pyod-iforest", "pyod-ocsvm"):
        scores = _make(name, random_state=0).fit(X).decision_function(ds.X_test[test])
        assert roc_auc_score(y_test, scores) > 0.85, name


def test_max_train_fits_on_a_seeded_subsample():
    X, _, X_test, _ = _gaussian_task()
    det = get_detector_class("pyod-kde")(max_train=50, random_state=0).fit(X)
    assert det.fit_info_["subsampled_from"] == len(X)
    assert det.model_.kde_.tree_.data.shape[0] == 50
    again = get_detector_class("pyod-kde")(max_train=50, random_state=0).fit(X).decision_function(X_test)
    np.testing.assert_array_equal(det.decision_function(X_test), again)
    full = get_detector_class("pyod-kde")(max_train=len(X), random_state=0).fit(X)
    assert "subsampled_from" not in full.fit_info_
