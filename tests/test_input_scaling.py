"""Data outside [0, 1] (issue 14, defect 1): SS-DGM and NDA used to clip every input to [0, 1]
silently; on standardised features many rows became identical, scores tied at the top and
``labels_`` came out empty. Now they fit a [0, 1] map on the training data and keep it, never
clip, and ``threshold_`` cannot sit at a maximum shared by many scores."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from detectors import SemiSupervisedDetector
from tests.test_detector_contract import AUROC_FLOOR, make, toy_task

RANGE_MODELS = ["ss-dgm", "nda"]


def standardised_task(seed: int = 0):
    """The contract's toy task, standardised on its training part: values far outside [0, 1]."""
    X, y, X_test, y_test = toy_task(seed)
    scaler = StandardScaler().fit(X)
    return scaler.transform(X).astype(np.float32), y, scaler.transform(X_test).astype(np.float32), y_test


@pytest.mark.parametrize("name", RANGE_MODELS)
def test_standardised_data_is_mapped_not_clipped(name):
    X, y, X_test, y_test = standardised_task()
    detector = make(name).fit(X, y)
    assert detector.fit_info_["input_scaling"] == "min-max fitted on the training data"
    # Clipping made most normals the all-zero row: their scores were identical.
    n_distinct = len(np.unique(detector.decision_scores_))
    assert n_distinct > 0.9 * len(X), f"only {n_distinct} distinct training scores of {len(X)}"
    assert 0 < detector.labels_.sum() < len(X)
    assert detector.predict(X).sum() == detector.labels_.sum()
    assert roc_auc_score(y_test, detector.decision_function(X_test)) >= AUROC_FLOOR


@pytest.mark.parametrize("name", RANGE_MODELS)
def test_scoring_does_not_clip_values_beyond_the_training_range(name):
    X, y, X_test, _ = toy_task()
    detector = make(name).fit(X, y)
    far, farther = X_test[:5].copy(), X_test[:5].copy()
    far[:, 0], farther[:, 0] = 2.0, 3.0  # both beyond the training maximum and beyond 1
    assert not np.allclose(detector.decision_function(far), detector.decision_function(farther))


@pytest.mark.parametrize("name", RANGE_MODELS)
def test_rescale_off_refuses_data_outside_the_unit_range_and_says_what_to_do(name):
    X, y, _, _ = standardised_task()
    with pytest.raises(ValueError, match="MinMaxScaler"):
        make(name, rescale="off").fit(X, y)
    X01, y01, _, _ = toy_task()
    assert make(name, rescale="off").fit(X01, y01).fit_info_["input_scaling"] == "none"


class TiedTop(SemiSupervisedDetector):
    """Scores that tie at their maximum for a quarter of the samples (what clipping produced)."""

    test_params: ClassVar[dict] = {}

    def _fit(self, X, y, eval_set):
        pass

    def _score(self, X):
        return np.minimum(X[:, 0], np.quantile(X[:, 0], 0.75))


def test_scores_tied_at_the_maximum_still_give_labels():
    X = np.linspace(0, 1, 200, dtype=np.float32)[:, None]
    detector = TiedTop(contamination=0.1).fit(X)
    tied = detector.decision_scores_ == detector.decision_scores_.max()
    assert tied.sum() > 0.1 * len(X)  # the 90th percentile is the tied maximum
    np.testing.assert_array_equal(detector.labels_, tied.astype(int))
    np.testing.assert_array_equal(detector.predict(X), tied.astype(int))
