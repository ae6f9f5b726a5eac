"""The epoch counter of the progress bar (issue 15): the runner hears every epoch, results do not change."""
from __future__ import annotations

import io

import numpy as np

from benchmark.jobs import Job, canonical_params
from benchmark.progress import JobBar
from benchmark.protocol import Experiment
from detectors.progress import epoch_listener, report_epoch


def toy_data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.3, 0.05, (120, 4)), rng.normal(0.8, 0.05, (10, 4))]).astype(np.float32)
    y = np.r_[np.zeros(120), np.ones(10)].astype(np.int64)
    return X, y


def test_every_epoch_is_reported_and_listening_changes_nothing(toy_plugin):
    from detectors import make_detector

    X, y = toy_data()
    quiet = make_detector("toy-torch", epochs=3, random_state=0, device="cpu").fit(X, y).decision_function(X)
    heard = []
    with epoch_listener(lambda stage, epoch, total: heard.append((stage, epoch, total))):
        loud = make_detector("toy-torch", epochs=3, random_state=0, device="cpu").fit(X, y).decision_function(X)
    assert heard == [("ToyTorch", 1, 3), ("ToyTorch", 2, 3), ("ToyTorch", 3, 3)]
    np.testing.assert_array_equal(quiet, loud)
    report_epoch("nobody listens", 1, 1)  # outside a listener: nothing happens


def test_a_failing_listener_never_fails_training(toy_plugin):
    from detectors import make_detector

    def broken(stage, epoch, total):
        raise RuntimeError("display gone")

    X, y = toy_data()
    with epoch_listener(broken):
        make_detector("toy-torch", epochs=2, random_state=0, device="cpu").fit(X, y)


def test_the_bar_counts_expected_seconds_and_names_the_job():
    e = Experiment("thyroid", -1, None, 1, 0.01, 0.0)
    jobs = [Job("tabular", e, name, canonical_params({}), "paper") for name in ("slow", "fast")]
    bar = JobBar(jobs, [90.0, 10.0], file=io.StringIO())
    bar.started(jobs[0])
    bar.epoch("Slow", 2, 5)
    assert "now: slow on thyroid" in bar._bar.postfix and "Slow epoch 2/5" in bar._bar.postfix

    class Summary:
        ok, failed, not_applicable = 1, 0, 0

    bar.finished(jobs[0].key, Summary)
    assert bar._bar.n == 90.0 and bar._bar.total == 100.0 and "1/2 jobs ok=1" in bar._bar.postfix
    bar.close()
