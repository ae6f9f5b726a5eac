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
