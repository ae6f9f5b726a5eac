"""Small MNIST tasks shared by the per-detector tests (``ds`` is the ``mnist`` fixture's dataset)."""
from __future__ import annotations

import numpy as np


def random_mnist_task(ds, n_normal: int, n_known: int, n_test: int, normal: int = 0, known: int = 1, seed: int = 0):
    """Seeded draws: ``n_normal`` training images of ``normal`` + ``n_known`` collected anomalies of
    ``known``; ``n_test`` test images of all digits. Returns X, y, X_test and the test digits."""
    rng = np.random.default_rng(seed)
    normals = rng.choice(np.flatnonzero(ds.y_train == normal), n_normal, replace=False)
    anomalies = rng.choice(np.flatnonzero(ds.y_train == known), n_known, replace=False)
    test = rng.choice(len(ds.y_test), n_test, replace=False)
    X = np.concatenate([ds.X_train[normals], ds.X_train[anomalies]])
    y = np.r_[np.zeros(n_normal), np.ones(n_known)].astype(np.int64)
    return X, y, np.asarray(ds.X_test[test]), ds.y_test[test].astype(np.int64)


def pair_mnist_task(ds, normal: int, known: int, n_normal: int, n_known: int, n_test: int):
    """The first images of two digits: training normals + collected anomalies, and a test set of
    both digits (up to ``n_test`` each). Returns X, y, X_test, y_test (1 = the known digit)."""
    norm = np.flatnonzero(ds.y_train == normal)[:n_normal]
    anom = np.flatnonzero(ds.y_train == known)[:n_known]
    X = np.concatenate([ds.X_train[norm], ds.X_train[anom]])
    y = np.r_[np.zeros(len(norm)), np.ones(len(anom))].astype(np.int64)
    t_norm = np.flatnonzero(ds.y_test == normal)[:n_test]
    t_anom = np.flatnonzero(ds.y_test == known)[:n_test]
    X_test = np.concatenate([ds.X_test[t_norm], ds.X_test[t_anom]])
    return X, y, X_test, np.r_[np.zeros(len(t_norm)), np.ones(len(t_anom))]


def _centred_basis(k: int) -> np.ndarray:
    """``k - 1`` orthonormal vectors of length ``k``, each orthogonal to the all-ones vector (Helmert)."""
    basis = np.zeros((k - 1, k))
    for i in range(1, k):
        basis[i - 1, :i], basis[i - 1, i] = 1.0, -float(i)
        basis[i - 1] /= np.linalg.norm(basis[i - 1])
    return basis


def structure_task(seed: int = 0, n_features: int = 8, n_normal: int = 300, n_collected: int = 20,
                   n_test_normal: int = 150, n_test_anomaly: int = 50, noise: float = 0.02,
                   anomaly_kind: str = "spread"):
    """A table whose anomalies differ from the normals in structure only, not in norm.

    Around the centre 0.5, a normal varies in a 3-D subspace of the first half of the features (both
    the subspace and the second half's are orthogonal to the all-ones direction), in a direction
    drawn uniformly, at a distance drawn from U(0.1, 0.3), plus N(0, noise²) in every feature. An
    anomaly lies at a distance from the same U(0.1, 0.3), in the second half of the features:

    - ``anomaly_kind="spread"``: in a direction drawn uniformly in a 3-D subspace there (anomalies
      of every kind off the normals' subspace: what a detector of the normal data must find);
    - ``"one-direction"``: along one fixed direction there (one kind of anomaly, the kind the
      collected anomalies show: what a detector that learns from its labels must find).

    So ||x|| and ||x - 0.5|| have one distribution for normals and anomalies, and an untrained
    network has no systematic reason to score one higher (the controls in
    tests/test_detector_contract.py measure both). A detector has to learn where the normals vary
    and where they do not, or what the collected anomalies share. ``n_collected`` anomalies are
    labelled in training. Returns X, y, X_test, y_test (float32 in [0, 1], labels int64).
    """
    if n_features < 8:
        raise ValueError("structure_task needs at least 8 features (two halves of at least 4)")
    rng = np.random.default_rng(seed)
    half = n_features // 2
    normal_dirs, anomaly_dirs = np.zeros((3, n_features)), np.zeros((3, n_features))
    normal_dirs[:, :half] = _centred_basis(half)[:3]
    anomaly_dirs[:, half:2 * half] = _centred_basis(half)[:3]
    if anomaly_kind == "one-direction":
        anomaly_dirs = anomaly_dirs[:1]
    elif anomaly_kind != "spread":
        raise ValueError(f"anomaly_kind must be 'spread' or 'one-direction'; got {anomaly_kind!r}")

    def draw(n: int, dirs: np.ndarray) -> np.ndarray:
        if len(dirs) == 1:
            offset = rng.uniform(0.1, 0.3, (n, 1)) * dirs[0]
        else:
            direction = rng.normal(size=(n, len(dirs)))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            offset = rng.uniform(0.1, 0.3, (n, 1)) * direction @ dirs
        return np.clip(0.5 + offset + rng.normal(0.0, noise, (n, n_features)), 0, 1).astype(np.float32)

    X = np.concatenate([draw(n_normal, normal_dirs), draw(n_collected, anomaly_dirs)])
    y = np.r_[np.zeros(n_normal), np.ones(n_collected)].astype(np.int64)
    X_test = np.concatenate([draw(n_test_normal, normal_dirs), draw(n_test_anomaly, anomaly_dirs)])
    y_test = np.r_[np.zeros(n_test_normal), np.ones(n_test_anomaly)].astype(np.int64)
    return X, y, X_test, y_test


def reversed_labels(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """As many labels as ``y`` has, put on rows ``y`` leaves unlabelled (normals), none on its collected
    anomalies: a detector that uses labels the right way round scores the test set worse with these."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(y)
    out[rng.choice(np.flatnonzero(y == 0), int(y.sum()), replace=False)] = 1
    return out
