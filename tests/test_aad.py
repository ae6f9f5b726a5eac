"""What is special about AAD: the leaf feature map, and labels reweighting the leaves."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from detectors.aad import AAD, average_path_length
from tests.helpers import random_mnist_task, reversed_labels

N_NORMAL, N_ANOM, N_TEST = 500, 25, 1000


@pytest.fixture(scope="module")
def mnist_task(mnist):
    """Digit 0 normal (500) + 25 collected digit-1 anomalies; 1,000 test images of all digits."""
    return random_mnist_task(mnist, N_NORMAL, N_ANOM, N_TEST)


def _tabular_task(seed: int = 0):
    """Normals N(0, I) in 6-D; a known anomaly cluster at +3 in the first two features; a second
    anomaly type (far in feature 6) appears only in the test set."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 6))
    known = rng.normal(size=(30, 6)) + np.r_[3.0, 3.0, 0, 0, 0, 0]
    X_test = np.r_[rng.normal(size=(400, 6)), rng.normal(size=(50, 6)) + np.r_[3.0, 3.0, 0, 0, 0, 0],
                   rng.normal(size=(50, 6)) + np.r_[0, 0, 0, 0, 0, 4.0]]
    y_test = np.r_[np.zeros(400), np.ones(100)]
    return (np.r_[X, known].astype(np.float32), np.r_[np.zeros(600), np.ones(30)].astype(np.int64),
            X_test.astype(np.float32), y_test)


def test_average_path_length():
    np.testing.assert_allclose(average_path_length([1, 2]), [0.0, 1.0])
    assert average_path_length([256])[0] == pytest.approx(2 * (np.log(255) + 0.5772156649) - 2 * 255 / 256)


def test_leaf_features_are_unit_norm_with_one_leaf_per_tree():
    X, y, _, _ = _tabular_task()
    det = AAD(**AAD.test_params, random_state=0).fit(X, y)
    phi = det._phi(X[:50])
    assert phi.shape == (50, det.n_leaves_)
    assert (np.diff(phi.indptr) == AAD.test_params["n_estimators"]).all()
    np.testing.assert_allclose(np.sqrt(phi.multiply(phi).sum(1)).A.ravel(), 1.0)
    assert (phi.data < 0).all()  # negated path lengths
    assert np.linalg.norm(det.w_) == pytest.approx(1.0)


def test_tabular_learns_and_labels_push_known_anomalies_up():
    X, y, X_test, y_test = _tabular_task()
    unsup = AAD(random_state=0).fit(X)
    semi = AAD(random_state=0).fit(X, y)
    assert unsup.fit_info_["n_updates"] == 0 and semi.fit_info_["n_updates"] == 20
    s_unsup, s_semi = unsup.decision_function(X_test), semi.decision_function(X_test)
    assert np.std(s_unsup) > 0 and not np.allclose(s_unsup, s_semi)
    assert roc_auc_score(y_test, s_unsup) > 0.85
    assert roc_auc_score(y_test, s_semi) > 0.85
    # the labelled anomalies move up the ranking of the training set
    rank = lambda s: (s[:, None] > s[None, y == 1]).mean()  # noqa: E731
    assert rank(unsup.decision_scores_) > rank(semi.decision_scores_)
    known = slice(400, 450)
    known_auroc = lambda s: roc_auc_score(np.r_[np.zeros(400), np.ones(50)], np.r_[s[:400], s[known]])  # noqa: E731
    assert known_auroc(s_semi) > known_auroc(s_unsup)
    # labels moved onto normals turn the known kind's ranking over (measured 0.98 against 0.19)
    wrong = AAD(random_state=0).fit(X, reversed_labels(y)).decision_function(X_test)
    assert known_auroc(s_semi) > known_auroc(wrong) + 0.3


def test_mnist_learns_and_labels_help_on_the_known_class(mnist_task):
    X, y, X_test, digits = mnist_task
    y_test = (digits != 0).astype(int)
    unsup = AAD(random_state=0).fit(X)
    semi = AAD(random_state=0).fit(X, y)
    s_unsup, s_semi = unsup.decision_function(X_test), semi.decision_function(X_test)
    assert roc_auc_score(y_test, s_unsup) > 0.85
    assert roc_auc_score(y_test, s_semi) > 0.9
    ones = np.isin(digits, (0, 1))
    assert roc_auc_score(y_test[ones], s_semi[ones]) > roc_auc_score(y_test[ones], s_unsup[ones]) + 0.1


def test_same_seed_same_scores_other_seed_other_scores():
    X, y, X_test, _ = _tabular_task()
    a = AAD(**AAD.test_params, random_state=5).fit(X, y).decision_function(X_test)
    b = AAD(**AAD.test_params, random_state=5).fit(X, y).decision_function(X_test)
    c = AAD(**AAD.test_params, random_state=6).fit(X, y).decision_function(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_max_collected_limits_the_update_to_a_seeded_subsample_of_the_anomalies():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(4, 1, (60, 4))])
    y = np.r_[np.zeros(300), np.ones(60)].astype(int)
    capped = AAD(n_estimators=25, max_collected=10, random_state=0).fit(X, y)
    assert capped.fit_info_["collected_used"] == 10 and capped.fit_info_["n_updates"] == 10
    again = AAD(n_estimators=25, max_collected=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(capped.w_, again.w_)
    assert "collected_used" not in AAD(n_estimators=25, max_collected=60, random_state=0).fit(X, y).fit_info_
