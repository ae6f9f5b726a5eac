"""The results store and the runner: atomic rows, resume, failures stored, divergence recorded."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.jobs import Job, canonical_params
from benchmark.protocol import Experiment
from benchmark.runner import run_jobs
from benchmark.store import COLUMNS, OutputDirError, ResultsStore


def tabular_jobs(detector: str, seeds: int = 3, params: dict | None = None) -> list[Job]:
    return [Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=s), detector,
                canonical_params(params or {}), "oracle-10") for s in range(seeds)]


def test_rows_have_every_column_and_resume_skips_stored_jobs(tmp_path, data_dir, toy_plugin):
    jobs = tabular_jobs("toy-centroid")
    with ResultsStore(tmp_path) as store:
        first = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (first.ok, first.skipped) == (3, 0)
    rows = ResultsStore(tmp_path).rows()
    assert list(rows.columns) == list(COLUMNS) and len(rows) == 3
    assert rows["auroc"].between(0.5, 1.0).all()
    with ResultsStore(tmp_path) as store:
        again = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (again.ok, again.skipped) == (0, 3)
    assert len(ResultsStore(tmp_path).rows()) == 3


def test_a_failing_job_is_stored_and_the_run_goes_on(tmp_path, data_dir, toy_plugin):
    bad = Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0), "toy-torch",
              canonical_params({"epochs": 0}), "oracle-10")  # epochs=0 breaks a parameter rule
    jobs = [bad] + tabular_jobs("toy-centroid", seeds=2)
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (summary.failed, summary.ok) == (1, 2)
    rows = ResultsStore(tmp_path).latest().set_index("job_key")
    assert rows.loc[bad.key, "status"] == "failed"
    assert "'epochs' parameter" in rows.loc[bad.key, "error"]
    assert "python run_benchmark.py" in rows.loc[bad.key, "rerun"]


def test_nan_injected_into_one_job_fails_only_that_job(tmp_path, data_dir, toy_plugin):
    jobs = tabular_jobs("toy-torch", seeds=3, params={"epochs": 4})
    poisoned = Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=7), "toy-torch",
                   canonical_params({"epochs": 4, "nan_at_epoch": 3}), "oracle-10")
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(jobs[:2] + [poisoned] + jobs[2:], store, data_dir=str(data_dir), progress=False)
    assert (summary.ok, summary.failed) == (3, 1)
    rows = ResultsStore(tmp_path).latest().set_index("job_key")
    assert rows.loc[poisoned.key, "status"] == "failed"
    assert rows.loc[poisoned.key, "error"] == "diverged: loss 'loss' became nan at epoch 3"
    assert (rows.drop(poisoned.key)["status"] == "ok").all()


def test_constant_scores_are_flagged(monkeypatch, data_dir, toy_plugin):
    from benchmark.jobs import run_job
    from detectors.registry import get_detector_class

    ToyCentroid = get_detector_class("toy-centroid")  # the class the registry builds, however the plugin was loaded
    monkeypatch.setattr(ToyCentroid, "_score", lambda self, X: [1.0] * len(X))
    job = Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0), "toy-centroid", canonical_params({}), "oracle-10")
    row = run_job(job, str(data_dir), "cpu")
    assert row["status"] == "ok" and row["flags"] == "constant_scores" and row["auroc"] == 0.5


def test_partial_last_line_is_cut_when_the_store_opens(tmp_path, data_dir, toy_plugin):
    jobs = tabular_jobs("toy-centroid", seeds=2)
    with ResultsStore(tmp_path) as store:
        run_jobs(jobs[:1], store, data_dir=str(data_dir), progress=False)
    with open(tmp_path / "runs.csv", "a") as handle:
        handle.write("deadbeef,test,1,thyr")  # a kill inside a write
    with ResultsStore(tmp_path) as store:
        run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    rows = ResultsStore(tmp_path).rows()
    assert len(rows) == 2 and set(rows["job_key"]) == {j.key for j in jobs}


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    with ResultsStore(tmp_path):
        with pytest.raises(OutputDirError, match="another run"):
            ResultsStore(tmp_path).acquire()


def test_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputDirError, match="not a folder"):
        ResultsStore(target).acquire()


def test_same_seed_same_rows(tmp_path, data_dir, toy_plugin):
    jobs = tabular_jobs("toy-torch", seeds=2, params={"epochs": 2})
    for name in ("a", "b"):
        with ResultsStore(tmp_path / name) as store:
            run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    a, b = (ResultsStore(tmp_path / n).rows() for n in ("a", "b"))
    pd.testing.assert_series_equal(a["auroc"], b["auroc"])
    assert list(a["job_key"]) == list(b["job_key"])


def test_a_failed_job_is_run_again_on_resume_and_its_ok_row_wins(tmp_path, data_dir, toy_plugin, monkeypatch):
    from benchmark.jobs import _dataset
    from benchmark.protocol import make_split
    from benchmark.reports.load import read_runs
    from detectors import get_detector_class

    ToyCentroid = get_detector_class("toy-centroid")  # the class the registry builds, however the plugin was loaded
    jobs = tabular_jobs("toy-centroid", seeds=3)
    real_fit = ToyCentroid._fit
    seed_1 = make_split(_dataset("thyroid", str(data_dir)), jobs[1].experiment, jobs[1].selection).X_train

    def fails_on_seed_1(self, X, y, eval_set):  # a passing fault (a lost GPU, a full disk) in one job
        if X.shape == seed_1.shape and np.array_equal(X, seed_1):
            raise RuntimeError("a passing fault")
        return real_fit(self, X, y, eval_set)

    monkeypatch.setattr(ToyCentroid, "_fit", fails_on_seed_1)
    with ResultsStore(tmp_path) as store:
        first = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (first.ok, first.failed) == (2, 1)
    monkeypatch.setattr(ToyCentroid, "_fit", real_fit)
    with ResultsStore(tmp_path) as store:
        second = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (second.skipped, second.ok, second.failed) == (2, 1, 0)  # only the failed job ran again
    rows = ResultsStore(tmp_path).rows()
    assert rows.loc[rows["job_key"] == jobs[1].key, "status"].tolist() == ["failed", "ok"]
    assert read_runs(tmp_path / "runs.csv").set_index("job_key").loc[jobs[1].key, "status"] == "ok"


def test_a_not_applicable_job_is_not_retried(tmp_path, data_dir, toy_plugin, monkeypatch):
    from detectors import NotApplicableError, get_detector_class

    ToyCentroid = get_detector_class("toy-centroid")  # the class the registry builds, however the plugin was loaded
    jobs = tabular_jobs("toy-centroid", seeds=2)
    real_fit = ToyCentroid._fit

    def not_applicable(self, X, y, eval_set):
        raise NotApplicableError("undefined on this data")

    monkeypatch.setattr(ToyCentroid, "_fit", not_applicable)
    with ResultsStore(tmp_path) as store:
        first = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert first.not_applicable == 2
    monkeypatch.setattr(ToyCentroid, "_fit", real_fit)  # it would now succeed, but n.a. is an answer
    with ResultsStore(tmp_path) as store:
        second = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (second.skipped, second.ok, second.not_applicable) == (2, 0, 0)
    assert ResultsStore(tmp_path).rows()["status"].tolist() == ["n.a.", "n.a."]


def test_a_parameter_or_policy_change_makes_another_job(tmp_path, data_dir, toy_plugin):
    base = tabular_jobs("toy-centroid", seeds=1, params={"delay": 0.0})[0]
    same = Job("other-suite", base.experiment, "toy-centroid", canonical_params({"delay": 0.0}), base.selection,
               rerun_options=("--out", "elsewhere"))
    assert same.key == base.key  # the suite name and where it is stored do not define the job
    other_param = Job(base.suite, base.experiment, "toy-centroid", canonical_params({"delay": 0.001}), base.selection)
    other_policy = Job(base.suite, base.experiment, "toy-centroid", base.params_json, "strict")
    other_seed = tabular_jobs("toy-centroid", seeds=2, params={"delay": 0.0})[1]
    keys = {base.key, other_param.key, other_policy.key, other_seed.key}
    assert len(keys) == 4
    with ResultsStore(tmp_path) as store:
        run_jobs([base], store, data_dir=str(data_dir), progress=False)
    with ResultsStore(tmp_path) as store:
        again = run_jobs([base, other_param, other_policy], store, data_dir=str(data_dir), progress=False)
    assert (again.skipped, again.ok) == (1, 2)
