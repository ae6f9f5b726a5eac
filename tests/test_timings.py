"""Dry-run estimates come only from comparable stored jobs (issue 15)."""
from __future__ import annotations

from benchmark.jobs import Job, canonical_params
from benchmark.plan import NO_TIMINGS, describe_plan
from benchmark.protocol import Experiment
from benchmark.store import COLUMNS, ResultsStore
from benchmark.timings import PRIOR_SECONDS, expected_costs, stored_timings


def job(seed=0, epochs=10, max_train=600, gamma_p=0.0, detector="aa-bigan"):
    e = Experiment("mnist", 0, 1, 1, 0.05, gamma_p, seed=seed, max_train_normals=max_train,
                   max_test=1000 if max_train else None)
    return Job("smoke", e, detector, canonical_params({"epochs": epochs}), "strict")


def stored_row(j: Job, seconds: float, device: str = "cpu") -> dict:
    e = j.experiment
    row = {c: "" for c in COLUMNS}
    row.update(job_key=j.key, dataset=e.dataset, normal_class=e.normal_class, gamma_l=e.gamma_l,
               gamma_p=e.gamma_p, seed=e.seed, selection=j.selection, max_train_normals=e.max_train_normals,
               max_test=e.max_test, detector=j.detector, detector_params=j.params_json, status="ok",
               fit_seconds=seconds, score_seconds=0.0, device=device)
    return row


def store_with(tmp_path, rows) -> ResultsStore:
    store = ResultsStore(tmp_path)
    for row in rows:
        store.append(row)
    return store


def test_a_comparable_stored_job_gives_the_estimate(tmp_path):
    store = store_with(tmp_path, [stored_row(job(seed=0), 60.0), stored_row(job(seed=1), 120.0)])
    text = describe_plan([job(seed=0), job(seed=1), job(seed=2), job(seed=3)], store, "cpu")
    # Two stored, two to run at the median of 90 s: 3 minutes.
    assert "| 3.0 min" in text and "estimated 3.0 min from comparable stored jobs" in text


def test_other_settings_are_never_used_for_an_estimate(tmp_path):
    store = store_with(tmp_path, [stored_row(job(seed=0), 60.0)])
    for other in (job(epochs=200), job(max_train=None), job(gamma_p=0.1), job(detector="nda")):
        text = describe_plan([other], store, "cpu")
        assert NO_TIMINGS in text and " min" not in text
    # the same job, but on another kind of device
    assert NO_TIMINGS in describe_plan([job(seed=5)], store, "cuda")


def test_a_partial_estimate_says_how_many_jobs_it_covers(tmp_path):
    store = store_with(tmp_path, [stored_row(job(seed=0), 60.0)])
    text = describe_plan([job(seed=1), job(seed=1, epochs=200)], store, "cpu")
    assert "for the 1 of 2 with comparable stored jobs, the others unknown" in text


def test_progress_costs_use_stored_timings_else_the_detector_prior(tmp_path):
    store = store_with(tmp_path, [stored_row(job(seed=0), 7.0)])
    timings = stored_timings(store.latest())
    costs = expected_costs([job(seed=1), job(epochs=200), job(detector="pyod-iforest")], "cpu", timings)
    assert costs == [7.0, PRIOR_SECONDS["aa-bigan"], PRIOR_SECONDS["pyod-iforest"]]
