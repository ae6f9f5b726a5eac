"""What is special about SS-DGM (Kingma et al. M2): it learns the known anomaly class from a few
labels, the labels drive it, it refuses gamma_l = 0, and alpha / the class prior follow the spec.
The generic contract (clone, no work in __init__, bad input, ...) is in the common module."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from detectors import NotApplicableError
from detectors.networks.arch import mlp_sizes
from detectors.ss_dgm import SSDGM
from tests.helpers import pair_mnist_task

N_NORMAL, N_ANOMALY, N_TEST = 400, 20, 300
# Measured with test_params and random_state=0 on the task below (normal 0, known 1): AUROC 0.995;
# with the labels put on 20 normals instead: 0.002.
LEARN_FLOOR = 0.90


def _task(ds, normal: int, known: int):
    """Train: the first N_NORMAL images of ``normal`` + N_ANOMALY of ``known`` (labelled); test: both classes."""
    return pair_mnist_task(ds, normal, known, N_NORMAL, N_ANOMALY, N_TEST)


def _fast(**kw) -> SSDGM:
    return SSDGM(**{**SSDGM.test_params, "device": "cpu", "random_state": 0, **kw})


@pytest.fixture(scope="module")
def task(mnist):
    return _task(mnist, normal=0, known=1)


@pytest.fixture(scope="module")
def fitted(task):
    X, y, _, _ = task
    return _fast(arch="mnist").fit(X, y)


def test_learns_the_known_anomaly_class(task, fitted):
    _, _, X_test, y_test = task
    scores = fitted.decision_function(X_test)
    assert roc_auc_score(y_test, scores) >= LEARN_FLOOR
    assert np.std(scores) > 1e-3, "scores are (nearly) constant"
    assert ((scores >= 0) & (scores <= 1)).all(), "the score is the probability q(anomaly | x)"


def test_labels_drive_the_classifier(task, fitted):
    """Same images, but the labels put on normals instead of anomalies: the ranking must flip."""
    X, y, X_test, y_test = task
    wrong = np.zeros_like(y)
    wrong[:N_ANOMALY] = 1  # 20 normals marked as collected anomalies, the true anomalies unlabelled
    misled = _fast(arch="mnist").fit(X, wrong)
    auc_right = roc_auc_score(y_test, fitted.decision_function(X_test))
    auc_wrong = roc_auc_score(y_test, misled.decision_function(X_test))
    assert auc_right - auc_wrong > 0.3, (auc_right, auc_wrong)


def test_refuses_gamma_l_zero(task):
    X, y, _, _ = task
    with pytest.raises(NotApplicableError):
        _fast().fit(X[y == 0], np.zeros(int((y == 0).sum()), dtype=np.int64))


def test_alpha_prior_and_dims(fitted, task):
    _, y, _, _ = task
    r = y.mean()
    assert fitted.alpha_ == pytest.approx(0.1 * (1 - r) / r)
    assert fitted.class_prior_ == (0.5, 0.5)  # the paper's uniform p(y) is the default
    assert fitted.dims_ == (784, 2, 32, (128, 64))


def test_empirical_prior_option(task):
    X, y, _, _ = task
    det = _fast(epochs=1, anomaly_prior="empirical").fit(X, y)
    assert det.class_prior_ == pytest.approx((1 - y.mean(), y.mean()))


def test_clone_and_same_seed_same_scores(task, fitted):
    X, y, X_test, _ = task
    again = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(again.decision_function(X_test), fitted.decision_function(X_test))


def test_tabular_dims_and_learning():
    """ODDS-sized MLP (cardio: 21 features -> [32, 16], z = 8) on a synthetic [0, 1] task."""
    rng = np.random.default_rng(0)
    normal = np.clip(rng.normal(0.3, 0.05, size=(600, 21)), 0, 1)
    anomaly = np.clip(rng.normal(0.7, 0.05, size=(200, 21)), 0, 1)
    X = np.concatenate([normal[:500], anomaly[:15]]).astype(np.float32)
    y = np.r_[np.zeros(500), np.ones(15)].astype(np.int64)
    det = _fast(arch="cardio").fit(X, y)
    hidden, z = mlp_sizes("cardio", 21)
    assert det.dims_ == (21, 2, z, tuple(hidden))
    X_test = np.concatenate([normal[500:], anomaly[15:115]]).astype(np.float32)
    y_test = np.r_[np.zeros(100), np.ones(100)]
    assert roc_auc_score(y_test, det.decision_function(X_test)) >= 0.9
