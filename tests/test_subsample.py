"""The seeded subsamples of training rows: ``max_train``/``max_collected`` of the detectors whose cost
grows with n², and the deep detectors' stratified ``max_rows``."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from detectors import get_detector_class
from detectors.subsample import limit_training_rows, stratified_rows


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


# -- max_rows: the deep detectors' stratified cap -------------------------------------------------

def test_stratified_rows_keep_each_label_in_its_share_in_order_and_by_seed():
    _, y = rows(900, 100)
    keep = stratified_rows(y, 200, seed=0)
    assert len(keep) == 200 and y[keep].sum() == 20  # 10 % collected, as in the full set
    assert np.all(np.diff(keep) > 0)
    np.testing.assert_array_equal(keep, stratified_rows(y, 200, seed=0))
    assert not np.array_equal(keep, stratified_rows(y, 200, seed=1))
    assert stratified_rows(y, 1000, seed=0) is None and stratified_rows(y, None, seed=0) is None


def test_stratified_rows_refuse_a_cap_that_would_drop_every_collected_anomaly():
    _, y = rows(1000, 2)
    with pytest.raises(ValueError, match="keeps no row of label 1"):
        stratified_rows(y, 100, seed=0)


def _easy_rows(n_unlabelled: int, n_collected: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.35, 0.08, (n_unlabelled + n_collected, 6))
    X[n_unlabelled:, :3] += 0.35
    y = np.r_[np.zeros(n_unlabelled), np.ones(n_collected)].astype(np.int64)
    return np.clip(X, 0, 1).astype(np.float32), y


CAPPED_DEEP = ("deep-sad", "supervised", "nda", "ss-dgm")


@pytest.mark.parametrize("name", CAPPED_DEEP)
def test_a_deep_detector_with_max_rows_is_the_same_detector_trained_on_the_stratified_subsample(name):
    """Behaviour, not bookkeeping: capped on the whole set, it gives the scores (and the weights) of
    the uncapped detector fitted on exactly the rows :func:`stratified_rows` keeps."""
    X, y = _easy_rows(300, 30)
    X_test, y_test = _easy_rows(100, 25, seed=1)
    params = {**get_detector_class(name).test_params, "random_state": 3, "device": "cpu"}
    capped = get_detector_class(name)(**params, max_rows=110).fit(X, y)
    keep = stratified_rows(y, 110, seed=3)
    direct = get_detector_class(name)(**params).fit(X[keep], y[keep])
    assert capped.fit_info_["subsampled_from"] == 330 and "subsampled_from" not in direct.fit_info_
    assert len(keep) == 110 and y[keep].sum() == 10
    np.testing.assert_array_equal(capped.decision_function(X_test), direct.decision_function(X_test))
    uncapped = get_detector_class(name)(**params).fit(X, y).decision_function(X_test)
    assert not np.allclose(uncapped, capped.decision_function(X_test))  # the cap did change the training


def _weights(detector) -> list:
    return [t for t in detector.encoder_.state_dict().values() if t.is_floating_point()]


def test_ssad_hybrid_max_rows_trains_its_autoencoder_on_the_subsample_and_still_learns():
    """Its encoder is the one trained on exactly the kept rows; the kernel still sees every code."""
    X, y = _easy_rows(300, 30)
    X_test, y_test = _easy_rows(100, 25, seed=1)
    cls = get_detector_class("ssad-hybrid")
    params = {**cls.test_params, "random_state": 0, "device": "cpu"}
    capped = cls(**params, max_rows=110).fit(X, y)
    keep = stratified_rows(y, 110, seed=0)
    on_kept_rows, uncapped = cls(**params).fit(X[keep], y[keep]), cls(**params).fit(X, y)
    assert capped.fit_info_["ae_subsampled_from"] == 330 and "ae_subsampled_from" not in uncapped.fit_info_
    for a, b in zip(_weights(capped), _weights(on_kept_rows)):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(_weights(capped), _weights(uncapped)))
    assert capped.fit_info_["n_support"] != on_kept_rows.fit_info_["n_support"] or not np.array_equal(
        capped.decision_function(X_test), on_kept_rows.decision_function(X_test))  # its kernel saw every row
    assert roc_auc_score(y_test, capped.decision_function(X_test)) >= 0.85


@pytest.mark.parametrize("name", [*CAPPED_DEEP, "ssad-hybrid"])
def test_max_rows_is_checked(name):
    params = {"device": "cpu"}
    with pytest.raises(ValueError, match="max_rows"):
        get_detector_class(name)(**params, max_rows=0).fit(*_easy_rows(30, 3))
