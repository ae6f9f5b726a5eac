"""AAD (Das et al.): an isolation forest whose leaves are features, reweighted by collected anomalies.

Feature map. An isolation forest (``n_estimators`` trees, ``max_samples`` points each) is grown
on the training data (images flattened). Every leaf of every tree is one coordinate of
``phi(x)``: the leaf that ``x`` reaches in tree t carries the value ``-(depth + c(size))``, the
negated isolation path length of that leaf (``c(size)`` is the usual correction for the
points the leaf still holds, ``c(s) = 2 H(s-1) - 2 (s-1)/s``), and all other leaves of tree t
are 0. This is the "negative path length" leaf value that AAD uses with isolation forests, so
that uniform weights reproduce the forest's ranking: a short path gives a less negative value.
``phi(x)`` is scaled to unit Euclidean norm.

Score: ``w . phi(x)`` (higher = more anomalous), ``w`` starting at the uniform unit vector
``w_unif``. Without collected anomalies that is the final score.

Update with the ``m`` collected anomalies ``a`` (batch use of AAD): let ``q`` be the
``tau``-quantile from the top of the current training scores (a fraction ``tau`` scores above
it). Minimise

    (1/m) sum_a max(0, q - w . phi(a))  +  ||w - w_unif||^2 / (2 sigma2)

then rescale ``w`` to unit norm; repeat ``min(max_updates, m)`` times (q moves with w). The
minimiser is found exactly through its dual, a box-constrained QP in ``m`` variables:
``w = w_unif + sigma2 * sum_a beta_a phi(a)`` with ``0 <= beta_a <= 1/m`` maximising
``sum_a beta_a (q - w_unif . phi(a)) - sigma2/2 ||sum_a beta_a phi(a)||^2`` (solved with
L-BFGS-B). Averaging the hinge terms over ``m`` (rather than summing) keeps the balance between
labels and prior independent of how many anomalies were collected.
"""
from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.ensemble import IsolationForest
from threadpoolctl import threadpool_limits

from .base import SemiSupervisedDetector
from .params import Interval, IsNone
from .registry import register
from .subsample import kept_rows
from .torch_utils import seed_from

N_ESTIMATORS = 100
MAX_SAMPLES = 256
TAU = 0.03
SIGMA2 = 0.5
MAX_UPDATES = 20
EULER_GAMMA = 0.5772156649015329
DUAL_TOL = 1e-12  # L-BFGS-B tolerances of the weight update's dual


def average_path_length(size: np.ndarray) -> np.ndarray:
    """Expected path length of an unsuccessful search in a binary search tree of ``size`` points."""
    size = np.asarray(size, dtype=np.float64)
    out = np.zeros_like(size)
    out[size == 2] = 1.0
    big = size > 2
    s = size[big]
    out[big] = 2.0 * (np.log(s - 1.0) + EULER_GAMMA) - 2.0 * (s - 1.0) / s
    return out


def _leaf_table(tree) -> tuple[np.ndarray, np.ndarray]:
    """For one fitted tree: node id -> leaf column (-1 for internal nodes), and the leaf values."""
    left, right = tree.children_left, tree.children_right
    depth = np.zeros(tree.node_count, dtype=np.float64)
    for node in range(tree.node_count):  # children always have larger ids than their parent
        if left[node] != -1:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    is_leaf = left == -1
    column = np.full(tree.node_count, -1, dtype=np.int64)
    column[is_leaf] = np.arange(int(is_leaf.sum()))
    values = -(depth[is_leaf] + average_path_length(tree.n_node_samples[is_leaf]))
    return column, values


@register("aad")
class AAD(SemiSupervisedDetector):
    """Active Anomaly Discovery on isolation-forest leaves, used in batch mode (see module docstring).

    Parameters: ``n_estimators`` (100), ``max_samples`` (256, capped at the training size),
    ``tau`` (0.03), ``sigma2`` (0.5, the prior's variance), ``max_updates`` (20; the update runs
    ``min(max_updates, m)`` times), ``max_collected`` (None: the update uses every collected
    anomaly; M: a seeded M of them when there are more, since its dual holds an m x m Gram matrix:
    ADBench's donors collects 18,000 at γl .05, 2.6 GB and minutes per update), ``random_state``,
    ``contamination``.
    """

    test_params: ClassVar[dict] = {"n_estimators": 25}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "n_estimators": [Interval(numbers.Integral, 1, None)],
        "max_samples": [Interval(numbers.Integral, 2, None)],
        "tau": [Interval(numbers.Real, 0.0, 1.0, closed="neither")],
        "sigma2": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "max_updates": [Interval(numbers.Integral, 0, None)],
        "max_collected": [Interval(numbers.Integral, 1, None), IsNone()],
        "random_state": [Interval(numbers.Integral, 0, None), IsNone()],
    }

    def __init__(self, *, n_estimators: int = N_ESTIMATORS, max_samples: int = MAX_SAMPLES, tau: float = TAU,
                 sigma2: float = SIGMA2, max_updates: int = MAX_UPDATES, max_collected: int | None = None,
                 random_state: int | None = None, contamination: float = 0.1):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.tau = tau
        self.sigma2 = sigma2
        self.max_updates = max_updates
        self.max_collected = max_collected
        self.random_state = random_state
        self.contamination = contamination

    # -- feature map -----------------------------------------------------------------------
    def _phi(self, X: np.ndarray) -> sp.csr_matrix:
        """Unit-norm leaf features, one nonzero per tree."""
        Xf = X.reshape(len(X), -1)
        n, T = len(Xf), len(self.forest_.estimators_)
        values = np.empty((n, T))
        cols = np.empty((n, T), dtype=np.int64)
        for t, (est, feats) in enumerate(zip(self.forest_.estimators_, self.forest_.estimators_features_)):
            leaves = est.apply(Xf[:, feats])
            cols[:, t] = self.leaf_offsets_[t] + self.leaf_columns_[t][leaves]
            values[:, t] = self.leaf_values_[t][self.leaf_columns_[t][leaves]]
        norms = np.sqrt((values**2).sum(1, keepdims=True))
        values /= np.maximum(norms, np.finfo(np.float64).tiny)
        indptr = np.arange(0, n * T + 1, T)
        return sp.csr_matrix((values.ravel(), cols.ravel(), indptr), shape=(n, self.n_leaves_))

    # -- fit -------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        Xf = X.reshape(len(X), -1)
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, max_samples=min(self.max_samples, len(Xf)),
                                       random_state=self.random_state).fit(Xf)
        tables = [_leaf_table(est.tree_) for est in self.forest_.estimators_]
        self.leaf_columns_ = [c for c, _ in tables]
        self.leaf_values_ = [v for _, v in tables]
        sizes = np.array([len(v) for v in self.leaf_values_])
        self.leaf_offsets_ = np.r_[0, np.cumsum(sizes)[:-1]]
        self.n_leaves_ = int(sizes.sum())
        w_unif = np.full(self.n_leaves_, 1.0 / np.sqrt(self.n_leaves_))
        phi = self._phi(X)
        w = w_unif
        # The forest grows on every row; only the weight update is limited to max_collected anomalies.
        kept = kept_rows(y, None, seed_from(self.random_state), self.max_collected)
        anomalies = np.flatnonzero(y == 1) if kept is None else kept[y[kept] == 1]
        if kept is not None:
            self.fit_info_["collected_used"] = len(anomalies)
        n_updates = min(int(self.max_updates), len(anomalies))
        hinge_history = []
        for _ in range(n_updates):
            q = float(np.quantile(phi @ w, 1.0 - self.tau))
            w, hinge = self._update(phi[anomalies], w_unif, q)
            hinge_history.append(hinge)
        self.w_ = w
        self.fit_info_.update({"n_leaves": self.n_leaves_, "n_updates": n_updates,
                               "mean_hinge_by_update": hinge_history})

    def _update(self, phi_a: sp.csr_matrix, w_unif: np.ndarray, q: float) -> tuple[np.ndarray, float]:
        """One exact minimisation of the hinge + prior objective (via its dual); returns unit-norm w."""
        m, s2 = phi_a.shape[0], float(self.sigma2)
        G = (phi_a @ phi_a.T).toarray()
        margin = q - phi_a @ w_unif  # how far each anomaly sits below the quantile under the prior

        def neg_dual(beta: np.ndarray) -> tuple[float, np.ndarray]:
            Gb = G @ beta
            return 0.5 * s2 * beta @ Gb - margin @ beta, s2 * Gb - margin

        # One BLAS thread: L-BFGS-B calls BLAS on tiny vectors, where waking a thread pool for
        # each call costs far more than the work itself.
        with threadpool_limits(limits=1, user_api="blas"):
            res = minimize(neg_dual, np.zeros(m), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0 / m)] * m,
                           options={"ftol": DUAL_TOL, "gtol": DUAL_TOL, "maxiter": 10_000})
        w = w_unif + s2 * (phi_a.T @ res.x)
        hinge = float(np.maximum(0.0, q - phi_a @ w).mean())
        return w / np.linalg.norm(w), hinge

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._phi(X) @ self.w_
