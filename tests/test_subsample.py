"""The seeded subsample of training rows used by the detectors whose cost grows with n²."""
from __future__ import annotations

import numpy as np

from detectors.subsample import limit_training_rows


def rows(n_unlabelled: int, n_collected: int):
    X = np.arange(n_unlabelled + n_collected, dtype=np.float32).reshape(-1, 1)
    y = np.r_[np.zeros(n_unlabelled), np.ones(n_collected)].astype(np.int64)
    return X, y


def test_nothing_to_cut_returns_the_input():
    X, y = rows(10, 3)
    assert limit_training_rows(X, y, 10, seed=0, max_collected=3)[2] is None


def test_caps_each_kind_and_keeps_the_order():
    X, y = rows(100, 40)
    Xs, ys, original = limit_training_rows(X, y, 20, seed=1, max_collected=5)
    assert original == 140 and (ys == 0).sum() == 20 and (ys == 1).sum() == 5
    assert np.all(np.diff(Xs[:, 0]) > 0)  # original order, no repeats
    np.testing.assert_array_equal(ys, (Xs[:, 0] >= 100).astype(int))  # each row keeps its own label


def test_without_a_collected_cap_every_anomaly_is_kept_and_the_unlabelled_draw_does_not_depend_on_it():
    X, y = rows(100, 40)
    all_kept = limit_training_rows(X, y, 20, seed=3)[0]
    capped = limit_training_rows(X, y, 20, seed=3, max_collected=5)[0]
    assert len(all_kept) == 60
    np.testing.assert_array_equal(all_kept[all_kept[:, 0] < 100], capped[capped[:, 0] < 100])


def test_same_seed_same_rows_other_seed_other_rows():
    X, y = rows(100, 40)
    a, b, c = (limit_training_rows(X, y, 20, seed=s, max_collected=5)[0] for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
