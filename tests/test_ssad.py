"""What is special about SSAD: the exact dual solution, gamma selection, labels, raw and hybrid."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from detectors.kernel_qp import solve_ssad_dual
from detectors.ssad import SSADHybrid, SSADRaw, squared_distances
from tests.helpers import random_mnist_task, reversed_labels

N_NORMAL, N_ANOM, N_TEST = 300, 15, 1000


@pytest.fixture(scope="module")
def mnist_task(mnist):
    """Digit 0 normal (300) + 15 collected digit-1 anomalies; 1,000 test images of all digits."""
    X, y, X_test, digits = random_mnist_task(mnist, N_NORMAL, N_ANOM, N_TEST)
    return X, y, X_test, (digits != 0).astype(np.int64)


@pytest.fixture(scope="module")
def test_digits(mnist) -> np.ndarray:
    """The digits of ``mnist_task``'s test images (the same seeded draw)."""
    return random_mnist_task(mnist, N_NORMAL, N_ANOM, N_TEST)[3]


def _tiny_problem(kernel: str):
    rng = np.random.default_rng(1)
    Z = np.r_[rng.normal(size=(10, 2)), rng.normal(3.0, 1.0, size=(3, 2))]
    labelled = np.r_[np.zeros(10, bool), np.ones(3, bool)]
    signs = np.where(labelled, -1.0, 1.0)
    K = np.exp(-0.5 * squared_distances(Z, Z)) if kernel == "rbf" else Z @ Z.T + 1.0
    return K, signs, labelled


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_dual_matches_slsqp_and_satisfies_constraints(kernel):
    K, signs, labelled = _tiny_problem(kernel)
    C1, C2, kappa = 0.3, 0.5, 0.4
    sol = solve_ssad_dual(K.copy(), signs, labelled, C1=C1, C2=C2, kappa=kappa)
    box = np.where(labelled, C2, C1)
    # the dual's constraints: box, equality, labelled mass
    assert sol.status == "optimal"
    assert np.all(sol.alpha >= 0) and np.all(sol.alpha <= box + 1e-9)
    assert abs(signs @ sol.alpha - 1.0) < 1e-6
    assert sol.alpha[labelled].sum() >= kappa - 1e-6

    Q = np.outer(signs, signs) * K
    lin = -0.5 * signs * np.diag(K)
    cons = [{"type": "eq", "fun": lambda a: signs @ a - 1.0},
            {"type": "ineq", "fun": lambda a: a[labelled].sum() - kappa}]
    ref = minimize(lambda a: 0.5 * a @ Q @ a + lin @ a, np.full(len(K), 0.1), jac=lambda a: Q @ a + lin,
                   bounds=list(zip(np.zeros(len(K)), box)), constraints=cons, method="SLSQP",
                   options={"ftol": 1e-12, "maxiter": 500})
    assert ref.success
    objective = lambda a: 0.5 * a @ Q @ a + lin @ a  # noqa: E731
    assert objective(sol.alpha) == pytest.approx(objective(ref.x), abs=1e-6)
    np.testing.assert_allclose(sol.alpha, ref.x, atol=1e-3)
    # distances to the centre agree with the kernel expansion of c = sum_j s_j alpha_j phi(x_j)
    sa = signs * sol.alpha
    np.testing.assert_allclose(sol.train_dist_sq, np.diag(K) - 2 * K @ sa + sa @ K @ sa, atol=1e-10)


def test_without_labels_is_svdd_with_unit_mass():
    K, signs, labelled = _tiny_problem("rbf")
    n = 10
    sol = solve_ssad_dual(K[:n, :n].copy(), np.ones(n), np.zeros(n, bool), C1=0.25, C2=1.0, kappa=1.0)
    assert abs(sol.alpha.sum() - 1.0) < 1e-6 and sol.alpha.max() <= 0.25 + 1e-9


def test_raw_learns_and_uses_labels_the_right_way_round(mnist_task, test_digits):
    X, y, X_test, y_test = mnist_task
    unsup = SSADRaw().fit(X)
    semi = SSADRaw().fit(X, y)
    s_unsup, s_semi = unsup.decision_function(X_test), semi.decision_function(X_test)
    assert unsup.fit_info_["gamma_source"] == "median heuristic" and unsup.fit_info_["kappa"] == 0.0
    assert semi.fit_info_["kappa"] == 1.0
    assert np.std(s_unsup) > 1e-6 and np.std(s_semi) > 1e-6
    assert roc_auc_score(y_test, s_unsup) > 0.9
    assert roc_auc_score(y_test, s_semi) > 0.9
    assert not np.allclose(s_unsup, s_semi)
    # the right way round: labels moved onto normals make it clearly worse (measured 1.00 against 0.70
    # on digits 0 and 1, the known kind), where inverted or ignored labels would not
    wrong = SSADRaw().fit(X, reversed_labels(y)).decision_function(X_test)
    known_kind = np.isin(test_digits, (0, 1))
    assert roc_auc_score(y_test[known_kind], s_semi[known_kind]) > \
        roc_auc_score(y_test[known_kind], wrong[known_kind]) + 0.2


def test_gamma_selection_uses_eval_set(mnist_task):
    X, y, X_test, y_test = mnist_task
    X_val, y_val = X_test[:300], y_test[:300]
    grid = (2.0**-7, 2.0**-1, 2.0**2)
    det = SSADRaw(gammas=grid).fit(X, y, eval_set=(X_val, y_val))
    aurocs = det.fit_info_["eval_auroc_by_gamma"]
    assert det.fit_info_["gamma_source"] == "eval_set" and set(aurocs) == set(grid)
    assert det.gamma_ == max(aurocs, key=aurocs.get)
    # reversed labels invert every AUROC, so the choice must move to the worst gamma
    flipped = SSADRaw(gammas=grid).fit(X, y, eval_set=(X_val, 1 - y_val))
    assert flipped.gamma_ == min(aurocs, key=aurocs.get) != det.gamma_
    # a fixed gamma bypasses selection
    fixed = SSADRaw(gamma=0.01).fit(X, y, eval_set=(X_val, y_val))
    assert fixed.fit_info_["gamma_source"] == "fixed" and fixed.gamma_ == 0.01


def test_hybrid_learns_and_is_deterministic(mnist_task):
    X, y, X_test, y_test = mnist_task
    params = {**SSADHybrid.test_params, "device": "cpu", "random_state": 3}
    a = SSADHybrid(**params).fit(X, y)
    b = SSADHybrid(**params).fit(X, y)
    s = a.decision_function(X_test)
    np.testing.assert_array_equal(s, b.decision_function(X_test))
    assert a.support_vectors_.shape[1] == 32  # the MNIST LeNet code size
    assert np.std(s) > 1e-6
    assert roc_auc_score(y_test, s) > 0.75


def test_infeasible_box_is_a_clear_error():
    K, signs, labelled = _tiny_problem("rbf")
    with pytest.raises(ValueError, match="infeasible"):
        solve_ssad_dual(K.copy(), signs, labelled, C1=0.1, C2=1.0, kappa=1.0)


@pytest.mark.parametrize("n_unlabelled,n_collected,refused,limits", [
    (55, 5, {}, {"max_train": 30}),
    # ADBench's donors collects 18,000 anomalies at γl .05: max_train alone cannot bound the solve.
    (40, 60, {"max_train": 20}, {"max_train": 20, "max_collected": 10}),
])
def test_size_limit_refuses_or_subsamples(monkeypatch, n_unlabelled, n_collected, refused, limits):
    import detectors.ssad as ssad

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_unlabelled + n_collected, 3)).astype(np.float32)
    y = np.r_[np.zeros(n_unlabelled), np.ones(n_collected)].astype(np.int64)
    monkeypatch.setattr(ssad, "DENSE_LIMIT", 50)
    with pytest.raises(ValueError, match="max_train=N .*and/or max_collected=M"):
        ssad.SSADRaw(**refused).fit(X, y)
    det = ssad.SSADRaw(**limits, random_state=0).fit(X, y)
    assert det.fit_info_["subsampled_from"] == len(X)
    again = ssad.SSADRaw(**limits, random_state=0).fit(X, y)
    np.testing.assert_array_equal(det.decision_scores_, again.decision_scores_)
    assert np.ptp(det.decision_function(X)) > 0
