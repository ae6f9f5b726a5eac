"""The split of one experiment: counts, disjointness, determinism, selection policies."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.protocol import Experiment, ProtocolError, count_from_ratio, make_split


def exp(**kw) -> Experiment:
    base = dict(dataset="mnist", normal_class=0, known_class=1, k_l=1, gamma_l=0.05, gamma_p=0.0, seed=0)
    base.update(kw)
    return Experiment(**base)


@pytest.mark.parametrize("n, gamma, expected", [(5923, 0.01, 59), (5923, 0.2, 1480), (5000, 0.01, 50), (10, 0.0, 0)])
def test_count_formula(n, gamma, expected):
    assert count_from_ratio(n, gamma) == expected


@pytest.mark.parametrize("gamma_l, gamma_p", [(0.01, 0.0), (0.2, 0.0), (0.05, 0.1), (0.05, 0.2), (0.0, 0.05)])
def test_counts_follow_the_formulas(mnist, gamma_l, gamma_p):
    split = make_split(mnist, exp(gamma_l=gamma_l, gamma_p=gamma_p, k_l=1 if gamma_l else 0,
                                  known_class=1 if gamma_l else None), "oracle-10")
    n = int((mnist.y_train == 0).sum())
    assert n == 5923
    n_poll = int(n * gamma_p / (1 - gamma_p))
    n_coll = int((n + n_poll) * gamma_l / (1 - gamma_l))
    assert split.info["n_pollution"] == n_poll
    assert int(split.y_train.sum()) == n_coll
    assert len(split.y_train) == n + n_poll + n_coll


def test_mnist_digit0_reference_counts(mnist):
    assert make_split(mnist, exp(gamma_l=0.01), "oracle-10").y_train.sum() == 59
    assert make_split(mnist, exp(gamma_l=0.2), "oracle-10").y_train.sum() == 1480


def test_parts_are_disjoint_and_of_the_right_classes(mnist):
    split = make_split(mnist, exp(gamma_l=0.1, gamma_p=0.1, k_l=2), "oracle-10")
    index, info = split.info["train_index"], split.info
    assert len(np.unique(index)) == len(index)  # pollution and collected anomalies are disjoint
    classes = mnist.y_train[index]
    n, n_poll = info["n_normals"], info["n_pollution"]
    assert (classes[:n] == 0).all()
    assert (classes[n:n + n_poll] != 0).all()
    assert len(set(classes[n:n + n_poll])) > 3  # pollution from all anomaly classes
    assert set(classes[n + n_poll:]) <= set(info["known_classes"])
    assert len(info["known_classes"]) == 2 and 1 in info["known_classes"]


def test_no_test_sample_in_training(mnist):
    # Training comes from the official training split only; the test set is the official test split.
    split = make_split(mnist, exp(), "oracle-10")
    assert len(split.y_test) == len(mnist.y_test)
    train_rows = {row.tobytes() for row in split.X_train[:500].reshape(500, -1)}
    test_rows = {row.tobytes() for row in split.X_test.reshape(len(split.X_test), -1)}
    assert not (train_rows & test_rows - {np.zeros(784, np.float32).tobytes()})


def test_same_experiment_same_split_and_detector_independent(mnist):
    a = make_split(mnist, exp(gamma_p=0.05, k_l=3), "paper")
    b = make_split(mnist, exp(gamma_p=0.05, k_l=3), "paper")
    assert np.array_equal(a.info["train_index"], b.info["train_index"])
    assert np.array_equal(a.X_val, b.X_val) and np.array_equal(a.y_test, b.y_test)
    c = make_split(mnist, exp(gamma_p=0.05, k_l=3, seed=1), "paper")
    assert not np.array_equal(a.info["train_index"], c.info["train_index"])


def test_two_detectors_get_the_same_split(mnist, data_dir, toy_plugin):
    """The job runner builds the split from the experiment only: compare what two detectors see."""
    from benchmark import jobs as jobs_module
    from benchmark.jobs import Job, canonical_params

    seen = []
    original = jobs_module.make_split

    def spy(dataset, experiment, selection):
        split = original(dataset, experiment, selection)
        seen.append(split)
        return split

    jobs_module.make_split = spy
    try:
        e = exp(max_train_normals=100, max_test=300)
        for detector, params in (("toy-centroid", {}), ("toy-torch", {"epochs": 1})):
            row = jobs_module.run_job(Job("t", e, detector, canonical_params(params), "paper"), str(data_dir), "cpu")
            assert row["status"] == "ok", row["error"]
    finally:
        jobs_module.make_split = original
    assert np.array_equal(seen[0].X_train, seen[1].X_train)
    assert np.array_equal(seen[0].X_test, seen[1].X_test) and np.array_equal(seen[0].X_val, seen[1].X_val)


def test_selection_policies(mnist):
    paper = make_split(mnist, exp(), "paper")
    assert (paper.y_val == 0).sum() == 200 and (paper.y_val == 1).sum() == 1800
    assert len(paper.y_test) == len(mnist.y_test) - 2000
    oracle = make_split(mnist, exp(), "oracle-10")
    assert len(oracle.y_val) == pytest.approx(1000, abs=2) and len(oracle.y_test) == 10000
    strict = make_split(mnist, exp(), "strict")
    full = make_split(mnist, exp(), "oracle-10")
    assert len(strict.y_train) + len(strict.y_val) == len(full.y_train)
    assert strict.y_val.sum() > 0 and len(strict.y_test) == 10000


def test_k_l_classes_are_seeded(mnist):
    e = exp(k_l=4)
    assert e.known_classes(mnist.classes) == e.known_classes(mnist.classes)
    assert len(e.known_classes(mnist.classes)) == 4 and 0 not in e.known_classes(mnist.classes)


@pytest.mark.parametrize("kw", [dict(gamma_l=1.0), dict(gamma_l=-0.1), dict(gamma_p=0.6, gamma_l=0.5),
                                dict(known_class=0), dict(k_l=-1)])
def test_impossible_experiments_are_refused(kw):
    with pytest.raises(ProtocolError):
        exp(**kw)


def test_impossible_splits_are_refused(mnist):
    with pytest.raises(ProtocolError, match="k_l"):
        make_split(mnist, exp(k_l=10), "paper")
    with pytest.raises(ProtocolError, match="normal class"):
        make_split(mnist, exp(dataset="mnist", normal_class=12, known_class=1), "paper")


def test_tabular_split(data_dir):
    from datasets import load_dataset

    thyroid = load_dataset("thyroid", data_dir)
    e = Experiment("thyroid", -1, None, 1, 0.01, 0.0)
    split = make_split(thyroid, e, "oracle-10")
    n_norm = int(round(0.6 * (thyroid.y_train == 0).sum()))
    assert split.info["n_normals"] == n_norm
    assert split.y_train.sum() == int(n_norm * 0.01 / 0.99)
    assert len(split.y_test) == len(thyroid.y_train) - int(round(0.6 * (thyroid.y_train == 0).sum())) - int(round(0.6 * 93))
    again = make_split(thyroid, e, "oracle-10")
    assert np.array_equal(split.X_train, again.X_train)


def test_tabular_scalers_are_fitted_on_the_training_part_alone(data_dir):
    """The scaled rows equal those of a standard + min-max scaler fitted here on the training part
    (training normals and every training outlier, used or not) and nothing else; a scaler that also
    saw the test rows gives measurably other numbers, so a leak cannot pass."""
    from datasets import load_dataset
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    thyroid = load_dataset("thyroid", data_dir)
    split = make_split(thyroid, Experiment("thyroid", -1, None, 1, 0.01, 0.0), "oracle-10")
    info = split.info
    X = np.asarray(thyroid.X_train, dtype=np.float64)
    train_part = np.concatenate([info["train_index"], info["unused_train_outlier_index"]])
    assert not set(train_part) & set(info["test_index"]) and len(train_part) + len(info["test_index"]) == len(X)

    def scaled_by(rows_seen):
        standard = StandardScaler().fit(X[rows_seen])
        minmax = MinMaxScaler().fit(standard.transform(X[rows_seen]))
        return lambda rows: minmax.transform(standard.transform(X[rows]))

    own = scaled_by(train_part)
    np.testing.assert_allclose(split.X_train, own(info["train_index"]), atol=1e-6)
    np.testing.assert_allclose(split.X_test, own(info["test_index"]), atol=1e-6)
    leaky = scaled_by(np.arange(len(X)))  # the control: fitted on train and test rows
    assert np.abs(split.X_test - leaky(info["test_index"])).max() > 1e-3


def test_unused_training_outliers_are_neither_trained_on_nor_tested(data_dir):
    """The training part's outliers that a split does not collect (kept for design studies) are
    outliers, disjoint from the training rows and the test part, scaled like the training data."""
    from datasets import load_dataset

    thyroid = load_dataset("thyroid", data_dir)
    split = make_split(thyroid, Experiment("thyroid", -1, None, 1, 0.01, 0.0), "strict")
    unused = split.info["unused_train_outlier_index"]
    n_train_outliers = int(round(0.6 * (thyroid.y_train == 1).sum()))
    collected = split.info["n_collected"] + int(split.y_val.sum())  # strict moved some collected ones to validation
    assert len(unused) == n_train_outliers - collected
    assert (thyroid.y_train[unused] == 1).all()
    assert not set(unused) & set(split.info["train_index"]) and not set(unused) & set(split.info["test_index"])
    X_unused = split.info["X_unused_train_outliers"]
    assert X_unused.shape == (len(unused), thyroid.X_train.shape[1]) and X_unused.dtype == np.float32
    paper = make_split(thyroid, Experiment("thyroid", -1, None, 1, 0.01, 0.0), "paper")
    np.testing.assert_array_equal(paper.info["X_unused_train_outliers"], X_unused)  # the policy splits later
