"""The runner's groups (--batch-experiments), CUDA out-of-memory handling and GPU slots (--workers-per-gpu).

No GPU is needed: groups are stacked on CPU too, out-of-memory errors are raised by a monkeypatched fit, and the
GPU slots are counted with a given number of GPUs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.cli import main
from benchmark.devices import gpu_slot, remove_slots
from benchmark.jobs import Job, canonical_params
from benchmark.protocol import Experiment
from benchmark.runner import group_jobs, run_jobs
from benchmark.store import COLUMNS, ResultsStore
from detectors.batched import TRAINERS
from detectors.deep_sad import DeepSAD
from tests.conftest import TOY_PLUGIN

TINY = {"epochs": 1, "ae_epochs": 1, "batch_size": 256}
TINY_ARGS = ["--param", "deep-sad.epochs=1", "--param", "deep-sad.ae_epochs=1", "--param", "deep-sad.batch_size=256"]


def _argv(out, data_dir, *extra: str) -> list[str]:
    return ["--suite", "tabular", "--detectors", "deep-sad", "--datasets", "thyroid", "--gamma-l", "0.01",
            "--gamma-p", "0", "--k-l", "1", "--selection", "oracle-10", *TINY_ARGS, "--out", str(out),
            "--data-dir", str(data_dir), "--no-progress", *extra]


def _deep_sad_jobs(seeds, params: dict | None = None, gamma_l: float = 0.01) -> list[Job]:
    return [Job("test", Experiment("thyroid", -1, None, 1, gamma_l, 0.0, seed=s), "deep-sad",
                canonical_params(params or TINY), "oracle-10") for s in seeds]


def _rows(out) -> pd.DataFrame:
    return ResultsStore(out).latest().sort_values("seed").reset_index(drop=True)


def test_cli_groups_match_one_by_one_and_resume_per_job(tmp_path, data_dir, capsys):
    """Three seeds of one cell as one group give the rows (keys, columns, AUROCs) of three runs
    alone, plus the group flag; a group whose jobs are partly stored runs only the missing ones."""
    alone, grouped = tmp_path / "alone", tmp_path / "grouped"
    assert main(_argv(alone, data_dir, "--seeds", "3")) == 0
    assert main(_argv(grouped, data_dir, "--seeds", "1")) == 0  # seed 0 stored first
    assert main(_argv(grouped, data_dir, "--seeds", "3", "--batch-experiments", "3")) == 0
    assert "1 already stored, 2 ok" in capsys.readouterr().out
    a, g = _rows(alone), _rows(grouped)
    assert list(g.columns) == list(COLUMNS)
    assert list(g["job_key"]) == list(a["job_key"])
    assert list(g["flags"]) == ["", "trained_in_group_of=2", "trained_in_group_of=2"]
    assert (g["status"] == "ok").all()
    np.testing.assert_allclose(g["auroc"], a["auroc"], rtol=1e-6)
    np.testing.assert_allclose(g["auprc"], a["auprc"], rtol=1e-6)


def test_on_cpu_image_cells_run_one_by_one(tmp_path, data_dir):
    """On CPU, --batch-experiments leaves image cells ungrouped (stacking pays there for tables
    only, detectors.batched.stacking_pays): the rows of the jobs run alone, without a group flag."""
    argv = ["--suite", "smoke", "--detectors", "deep-sad", "--datasets", "mnist", "--gamma-p", "0", "--k-l", "1",
            "--max-train-normals", "64", "--max-test", "64", *TINY_ARGS, "--device", "cpu",
            "--data-dir", str(data_dir), "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "alone")]) == 0
    assert main([*argv, "--batch-experiments", "2", "--out", str(tmp_path / "grouped")]) == 0
    alone, grouped = (ResultsStore(tmp_path / name).latest().sort_values("job_key").reset_index(drop=True)
                      for name in ("alone", "grouped"))
    assert len(grouped) == len(alone) > 1 and not grouped["flags"].str.contains("trained_in_group_of").any()
    assert list(grouped["job_key"]) == list(alone["job_key"])
    np.testing.assert_allclose(grouped["auroc"], alone["auroc"], rtol=1e-6)


def test_image_cells_are_grouped_on_a_gpu_and_not_on_cpu():
    jobs = [Job("test", Experiment("mnist", 0, 1, 1, 0.01, 0.0, seed=s), "deep-sad", canonical_params(TINY),
                "oracle-10") for s in range(2)]
    assert group_jobs(jobs, 2, "cuda:0") == [jobs]
    assert group_jobs(jobs, 2, "cpu") == [[job] for job in jobs]
    assert group_jobs(_deep_sad_jobs(range(2)), 2, "cpu") == [_deep_sad_jobs(range(2))]


def test_grouping_keeps_cells_apart_and_leaves_other_detectors_alone(toy_plugin):
    cell_a, cell_b = _deep_sad_jobs(range(3)), _deep_sad_jobs(range(3), gamma_l=0.02)
    other = _deep_sad_jobs([0], params={**TINY, "epochs": 2})
    toy = [Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=s), "toy-centroid", canonical_params({}),
               "oracle-10") for s in range(2)]
    jobs = [cell_a[0], cell_b[0], toy[0], cell_a[1], other[0], cell_a[2], cell_b[1], toy[1], cell_b[2]]
    groups = group_jobs(jobs, 2)
    assert groups == [[cell_a[0], cell_a[1]], [cell_b[0], cell_b[1]], [toy[0]], [other[0]], [cell_a[2]], [toy[1]],
                      [cell_b[2]]]
    assert group_jobs(jobs, 1) == [[job] for job in jobs]


def test_out_of_memory_group_is_retried_in_halves(tmp_path, data_dir, monkeypatch):
    """A group of four that runs out of memory is trained again as two groups of two; the rows say so."""
    original = TRAINERS[DeepSAD]

    def fit_many(detectors, data):
        if len(detectors) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(detectors, data)

    monkeypatch.setitem(TRAINERS, DeepSAD, fit_many)
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(_deep_sad_jobs(range(4)), store, data_dir=str(data_dir), device="cpu", progress=False,
                           batch_experiments=4)
    assert (summary.ok, summary.failed) == (4, 0)
    assert set(_rows(tmp_path)["flags"]) == {"trained_in_group_of=2;oom_retry_from_group_of=4"}


def test_out_of_memory_twice_fails_the_jobs_and_the_run_goes_on(tmp_path, data_dir, monkeypatch):
    """A group of two runs out of memory, then each job alone does too: both stored as failed
    with that reason (and the retry flag), and the next job still runs."""

    def fit_many(detectors, data):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def fit(self, X, y=None, eval_set=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")

    monkeypatch.setitem(TRAINERS, DeepSAD, fit_many)
    monkeypatch.setattr(DeepSAD, "fit", fit)
    jobs = _deep_sad_jobs(range(2))
    later = [Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0), "toy-centroid", canonical_params({}),
                 "oracle-10")]
    from detectors import load_plugin

    load_plugin(str(TOY_PLUGIN))
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(jobs + later, store, data_dir=str(data_dir), device="cpu", progress=False,
                           batch_experiments=2)
    assert (summary.ok, summary.failed) == (1, 2)
    rows = ResultsStore(tmp_path).latest().set_index("job_key")
    for job in jobs:
        assert rows.loc[job.key, "error"].startswith("CUDA out of memory: ")
        assert rows.loc[job.key, "flags"] == "oom_retry_from_group_of=2"
    assert rows.loc[later[0].key, "status"] == "ok"


def test_out_of_memory_of_a_single_job_is_stored_with_that_reason(tmp_path, data_dir, monkeypatch):
    def fit(self, X, y=None, eval_set=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    monkeypatch.setattr(DeepSAD, "fit", fit)
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(_deep_sad_jobs(range(2)), store, data_dir=str(data_dir), device="cpu", progress=False)
    assert (summary.ok, summary.failed) == (0, 2)
    errors = ResultsStore(tmp_path).latest()["error"]
    assert errors.str.startswith("CUDA out of memory: CUDA out of memory. Tried to allocate 8.00 GiB").all()


def test_gpu_slots_bound_the_tasks_per_gpu():
    """Two GPUs, two workers each: four tasks hold slots (spread over both GPUs), a fifth waits."""
    run_id = "test-slots"
    remove_slots(run_id)
    try:
        held = [gpu_slot(run_id, 2, n_gpus=2) for _ in range(4)]
        devices = [slot.__enter__() for slot in held]
        assert devices == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
        with pytest.raises(TimeoutError):
            with gpu_slot(run_id, 2, n_gpus=2, timeout=0.3):
                pass
        held[1].__exit__(None, None, None)  # cuda:1 frees a slot: the next task gets it
        with gpu_slot(run_id, 2, n_gpus=2, timeout=0.3) as device:
            assert device == "cuda:1"
        for slot in (held[0], held[2], held[3]):
            slot.__exit__(None, None, None)
    finally:
        remove_slots(run_id)


def test_workers_per_gpu_runs_each_task_on_a_gpu_slot(tmp_path, data_dir, monkeypatch, toy_plugin):
    """Two workers on one (pretended) GPU: every job runs on cuda:0 through a slot, and the run's
    slot folder is gone afterwards. Threads instead of processes keep the test in one process."""
    import benchmark.runner as runner
    from benchmark.devices import slot_folder

    monkeypatch.setattr(runner, "visible_gpus", lambda: 1)
    monkeypatch.setattr(runner.uuid, "uuid4", lambda: type("U", (), {"hex": "test-run"})())
    jobs = [Job("test", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=s), "toy-centroid",
                canonical_params({"delay": 0.2}), "oracle-10") for s in range(4)]
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(jobs, store, data_dir=str(data_dir), backend="threading", progress=False,
                           workers_per_gpu=2)
    assert summary.ok == 4
    assert set(ResultsStore(tmp_path).latest()["device"]) == {"cuda:0"}
    assert not slot_folder("test-run").exists()


@pytest.mark.parametrize("extra, message", [
    (["--workers-per-gpu", "0"], "--workers-per-gpu must be at least 1"),
    (["--workers-per-gpu", "2", "--jobs", "2"], "leave out --jobs"),
    (["--workers-per-gpu", "2", "--device", "cpu"], "--workers-per-gpu needs a CUDA GPU"),
    (["--batch-experiments", "0"], "--batch-experiments must be at least 1"),
])
def test_bad_worker_and_group_options_exit_2(tmp_path, data_dir, capsys, extra, message):
    out = tmp_path / "o"
    assert main(_argv(out, data_dir, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
