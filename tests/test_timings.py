"""Dry-run estimates come from comparable stored jobs (issue 15), else from the perf benchmark's
seconds per epoch (issue 12), and say which."""
from __future__ import annotations

import pandas as pd
import pytest

from benchmark.jobs import Job, canonical_params
from benchmark.perf import COLUMNS as PERF_COLUMNS
from benchmark.plan import NO_TIMINGS, SOURCE_PERF, SOURCE_STORED, describe_plan
from benchmark.protocol import Experiment
from benchmark.store import COLUMNS, ResultsStore
from benchmark.timings import DEFAULT_PRIOR_SECONDS, PRIOR_SECONDS, expected_costs, load_perf_timings, perf_estimate, stored_timings


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
               fit_seconds=seconds, score_seconds=0.0, device=device, detector_version=j.detector_version)
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
    assert costs == [7.0, PRIOR_SECONDS["aa-bigan"], PRIOR_SECONDS.get("pyod-iforest", DEFAULT_PRIOR_SECONDS)]


# -- the perf benchmark as a second source (issue 12) ----------------------------------------------

#: A perf CSV's figures for Deep SAD and AA-BiGAN (seconds).
SETUP, AE_EPOCH, TRAIN_EPOCH, SCORE, N_TEST, N_VAL = 1.0, 2.0, 1.0, 4.0, 8000, 2000
BIGAN_EPOCH = 20.0


def write_perf_csv(folder, kind="cpu", max_train_normals=None, cpu=None, groups=()):
    """A perf CSV at K = 1, plus AA-BiGAN groups of each K in ``groups`` costing sqrt(K) times the
    single figures (setup, epoch and scoring alike)."""
    rows = []
    for detector, stage, per_epoch in (("deep-sad", "autoencoder", AE_EPOCH), ("deep-sad", "train", TRAIN_EPOCH),
                                       ("aa-bigan", "train", BIGAN_EPOCH),
                                       ("supervised", "train", TRAIN_EPOCH)):
        for k in (1, *(groups if detector == "aa-bigan" else ())):
            row = {c: None for c in PERF_COLUMNS}
            f = k ** 0.5
            row.update(detector=detector, stage=stage, k=k, wall_s_per_epoch=per_epoch * f,
                       cpu_s_per_epoch=per_epoch * f, setup_wall_s=SETUP * f, score_wall_s=SCORE * f, n_test=N_TEST,
                       n_val=N_VAL, threads=1, dataset="mnist", max_train_normals=max_train_normals, device_kind=kind,
                       cpu=cpu)
            rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if max_train_normals is None else f"_max-train-normals-{max_train_normals}"
    path = folder / f"perf_{kind}{suffix}.csv"
    pd.DataFrame(rows, columns=list(PERF_COLUMNS)).to_csv(path, index=False)
    return path


def full_job(detector="deep-sad", params=None, seed=0, max_train=None):
    e = Experiment("mnist", 0, 1, 1, 0.05, 0.0, seed=seed, max_train_normals=max_train)
    return Job("images", e, detector, canonical_params(params or {}), "paper")


def test_perf_timings_estimate_a_job_from_its_epochs(tmp_path):
    write_perf_csv(tmp_path)
    perf = load_perf_timings("cpu", tmp_path)
    seconds, source, group = perf_estimate(full_job(params={"epochs": 10, "ae_epochs": 5}), perf)
    assert group == ""
    assert seconds == SETUP + 5 * AE_EPOCH + 10 * TRAIN_EPOCH + SCORE  # no eval_every: no validation passes
    assert "perf_cpu.csv" in source and "1 thread(s)" in source
    # without pretraining the autoencoder stage costs nothing
    assert perf_estimate(full_job(params={"epochs": 10, "pretrain": False}), perf)[0] == SETUP + 10 * TRAIN_EPOCH + SCORE
    # a detector that needs labels ends at once without collected anomalies (n.a.); Deep SAD trains
    unlabelled = Experiment("mnist", 0, None, 0, 0.0, 0.0)
    assert perf_estimate(Job("images", unlabelled, "supervised", canonical_params({}), "paper"), perf)[0] == 0.0
    assert perf_estimate(full_job("supervised", {"epochs": 3}), perf)[0] == SETUP + 3 * TRAIN_EPOCH + SCORE
    assert perf_estimate(Job("images", unlabelled, "deep-sad", canonical_params({}), "paper"), perf)[0] > 0
    # AA-BiGAN evaluates every epoch by default: one validation scoring (n_val / n_test of a test scoring) each
    seconds = perf_estimate(full_job("aa-bigan", {"epochs": 4}), perf).seconds
    assert seconds == pytest.approx(SETUP + 4 * BIGAN_EPOCH + SCORE + 4 * SCORE * N_VAL / N_TEST)


def test_perf_timings_name_the_cpu_they_were_measured_on(tmp_path):
    from benchmark.devices import cpu_description

    write_perf_csv(tmp_path, cpu=cpu_description())
    assert load_perf_timings("cpu", tmp_path).entries[("mnist", "deep-sad", "")].source.endswith(f" on {cpu_description()}")
    write_perf_csv(tmp_path, cpu="Some Other CPU (AVX512)")
    source = load_perf_timings("cpu", tmp_path).entries[("mnist", "deep-sad", "")].source
    assert "on Some Other CPU (AVX512), not this machine's" in source and "expect other times" in source
    write_perf_csv(tmp_path)  # a CSV from before the column existed
    assert "unrecorded CPU" in load_perf_timings("cpu", tmp_path).entries[("mnist", "deep-sad", "")].source


def test_perf_timings_cover_only_their_data_size_and_device_kind(tmp_path):
    write_perf_csv(tmp_path)
    perf = load_perf_timings("cpu", tmp_path)
    assert perf_estimate(full_job(max_train=600), perf) is None  # other subsampling
    assert perf_estimate(full_job("nda"), perf) is None  # never timed
    assert load_perf_timings("cuda", tmp_path) is None  # only perf_cpu*.csv there
    write_perf_csv(tmp_path, max_train_normals=600)
    assert perf_estimate(full_job(max_train=600), load_perf_timings("cpu", tmp_path)) is not None


def test_dry_run_plan_names_the_source_of_each_estimate(tmp_path):
    perf_path = write_perf_csv(tmp_path / "perf")
    perf = load_perf_timings("cpu", tmp_path / "perf")
    params = {"epochs": 10, "ae_epochs": 5}
    stored = full_job(params=params, seed=0)
    (tmp_path / "out").mkdir()
    store = store_with(tmp_path / "out", [stored_row(stored, 60.0)])
    jobs = [full_job(params=params, seed=s) for s in (1, 2)] + [full_job("nda")]
    text = describe_plan(jobs, store, "cpu", perf=perf)
    # the stored comparable job wins over the perf figures (60 s each, not 25 s)
    row = next(line for line in text.splitlines() if line.startswith("| deep-sad"))
    assert "2.0 min" in row and SOURCE_STORED in row and SOURCE_PERF not in row
    (tmp_path / "empty").mkdir()
    store = ResultsStore(tmp_path / "empty")
    text = describe_plan(jobs, store, "cpu", perf=perf)
    expected = SETUP + 5 * AE_EPOCH + 10 * TRAIN_EPOCH + SCORE
    row = next(line for line in text.splitlines() if line.startswith("| deep-sad"))
    assert f"{2 * expected:.0f} s" in row and SOURCE_PERF in row
    assert "for 2 of 3: 0 from comparable stored jobs, 2 from the perf benchmark" in text
    assert str(perf_path) in text and "the others unknown" in text
    # without a perf CSV the same plan has no estimate and says how to get one
    text = describe_plan(jobs, store, "cpu")
    assert NO_TIMINGS in text and "python -m benchmark.perf" in text


# -- groups of experiments trained together (--batch-experiments, issue 12) ------------------------

def bigan_cost(factor: float, epochs: int = 4) -> float:
    """AA-BiGAN's perf estimate when every time of the K = 1 figures is multiplied by ``factor``."""
    return factor * (SETUP + epochs * BIGAN_EPOCH + SCORE + epochs * SCORE * N_VAL / N_TEST)


def test_a_group_costs_its_measured_k_else_interpolated_else_extrapolated(tmp_path):
    write_perf_csv(tmp_path, groups=(9, 90))
    perf = load_perf_timings("cpu", tmp_path)
    bigan = full_job("aa-bigan", {"epochs": 4})
    assert perf_estimate(bigan, perf, 1)[0] == pytest.approx(bigan_cost(1.0))
    seconds, source, group = perf_estimate(bigan, perf, 9)
    assert seconds == pytest.approx(bigan_cost(3.0)) and group == "K = 9 measured" and "perf_cpu.csv" in source
    # K = 50: linear between the groups of 9 (factor 3) and 90 (factor sqrt(90))
    seconds, _, group = perf_estimate(bigan, perf, 50)
    t = (50 - 9) / (90 - 9)
    assert seconds == pytest.approx(bigan_cost(3.0 + t * (90 ** 0.5 - 3.0)))
    assert group == "K = 50 interpolated between K = 9 and 90"
    # beyond the largest group: its cost per experiment, times K
    seconds, _, group = perf_estimate(bigan, perf, 180)
    assert seconds == pytest.approx(bigan_cost(2 * 90 ** 0.5)) and "180/90 of the measured K = 90" in group
    # a detector timed at K = 1 only: K experiments one after another
    seconds, _, group = perf_estimate(full_job(params={"epochs": 10, "ae_epochs": 5}), perf, 3)
    assert seconds == pytest.approx(3 * (SETUP + 5 * AE_EPOCH + 10 * TRAIN_EPOCH + SCORE))
    assert "only K = 1 measured" in group


def test_dry_run_with_batch_experiments_shares_each_groups_cost_between_its_jobs(tmp_path):
    write_perf_csv(tmp_path / "perf", kind="cuda", groups=(9,))
    perf = load_perf_timings("cuda", tmp_path / "perf")
    (tmp_path / "out").mkdir()
    store = ResultsStore(tmp_path / "out")
    # one cell, 10 seeds: with K = 9 a group of 9 and a group of 1 (the runner's grouping on a GPU)
    jobs = [full_job("aa-bigan", {"epochs": 4}, seed=s) for s in range(10)]
    text = describe_plan(jobs, store, "cuda", perf=perf, batch_experiments=9)
    total = bigan_cost(3.0) + bigan_cost(1.0)
    row = next(line for line in text.splitlines() if line.startswith("| aa-bigan"))
    assert f"{total / 60:.1f} min" in row
    assert "in groups of up to 9 trained together" in text and "group sizes: K = 1 as 1" not in text
    assert "group sizes: K = 9 measured" in text
    # without --batch-experiments the same jobs cost ten single ones
    text = describe_plan(jobs, store, "cuda", perf=perf)
    assert f"{10 * bigan_cost(1.0) / 60:.1f} min" in text and "groups of up to" not in text
    # and so they do on CPU, where the runner does not group image cells
    text = describe_plan(jobs, store, "cpu", perf=perf, batch_experiments=9)
    assert f"{10 * bigan_cost(1.0) / 60:.1f} min" in text and "group sizes" not in text
