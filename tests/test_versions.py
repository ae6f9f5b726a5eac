"""Rows record the version of the code that made them: resume reruns exactly the rows of a detector
whose computation version changed, reports never average two versions into one cell, and a runs CSV
written before versions were recorded is refused until the migration marks it."""
from __future__ import annotations

import json
from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.jobs import Job, canonical_params
from benchmark.migrate import UNRECORDED, migrate_folder
from benchmark.migrate import main as migrate_main
from benchmark.protocol import Experiment
from benchmark.reports import format_markdown_table, write_reports
from benchmark.runner import run_jobs
from benchmark.store import COLUMNS, OutputDirError, ResultsStore, append_csv_row
from benchmark.versions import detector_version, version_of_class
from detectors.registry import get_detector_class


def jobs_of(detector: str, seeds: int = 3, params: dict | None = None) -> list[Job]:
    return [Job("tabular", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=s), detector,
                canonical_params(params or {}), "paper") for s in range(seeds)]


@pytest.fixture
def two_detectors(tmp_path, data_dir, toy_plugin):
    """A folder with three toy-centroid and three toy-torch rows, all of version 1."""
    jobs = jobs_of("toy-centroid") + jobs_of("toy-torch", params={"epochs": 2})
    with ResultsStore(tmp_path) as store:
        run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    return tmp_path, jobs


def test_rows_record_the_detector_and_suite_versions(two_detectors):
    out, _ = two_detectors
    rows = ResultsStore(out).rows()
    assert rows["detector_version"].tolist() == [1] * 6
    assert set(rows["suite_version"]) == {version("aabench")}


def test_a_new_version_of_one_detector_reruns_exactly_its_rows(two_detectors, monkeypatch, data_dir, capsys):
    ToyCentroid = get_detector_class("toy-centroid")  # the class the registry builds, however the plugin was loaded

    out, jobs = two_detectors
    centroid = {j.key for j in jobs if j.detector == "toy-centroid"}
    assert ResultsStore(out).resume(jobs).done == {j.key for j in jobs}
    monkeypatch.setattr(ToyCentroid, "computation_version", 2)
    state = ResultsStore(out).resume(jobs)
    assert state.done == {j.key for j in jobs} - centroid
    assert set(state.stale["job_key"]) == centroid
    assert state.describe() == ("3 stored rows come from another version of their detector and are rerun: "
                                "toy-centroid 3 (3 of version 1; the code is at version 2)")
    with ResultsStore(out) as store:
        summary = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (summary.skipped, summary.ok) == (3, 3)
    assert "toy-centroid 3 (3 of version 1; the code is at version 2)" in capsys.readouterr().err
    latest = ResultsStore(out).latest().set_index("job_key")
    assert latest.loc[sorted(centroid), "detector_version"].tolist() == [2, 2, 2]
    assert ResultsStore(out).resume(jobs).done == {j.key for j in jobs}  # nothing left to rerun


def test_a_change_limited_to_some_network_families_keeps_the_others_current():
    class Changed:
        computation_version = 3
        computation_changes = {2: ("cifar10",), 3: ("mnist", "cifar10")}

    assert [version_of_class(Changed, a) for a in ("cifar10", "mnist", "mlp", None)] == [3, 3, 1, 1]
    assert version_of_class(object, "mnist") == 1  # a user's class without the attributes
    # AA-BiGAN's CIFAR-10 networks changed; its other families did not
    assert [detector_version("aa-bigan", {}, d) for d in ("cifar10", "cifar10-jpeg", "mnist", "thyroid")] == \
        [2, 2, 1, 1]
    assert detector_version("aa-bigan", json.dumps({"arch": "cifar10"}), "mnist") == 2
    assert detector_version("not-registered", {}, "mnist") is None


def _row(seed: int, detector_version: int, auroc: float, dataset: str = "thyroid", detector: str = "xgbod") -> dict:
    row = {c: "" for c in COLUMNS}
    row.update(job_key=f"{detector}-{dataset}-{seed}", suite="tabular", protocol_version="1", dataset=dataset,
               normal_class=-1, known_classes="1", k_l=1, gamma_l=0.01, gamma_p=0.0, seed=seed, selection="paper",
               scale="paper", detector=detector, detector_params="{}", detector_version=detector_version,
               status="ok", auroc=auroc, auprc=auroc, suite_version="0.1.0")
    return row


def _cell(out, dataset: str = "thyroid", detector: str = "xgbod") -> pd.Series:
    cells = pd.read_csv(next((out / "reports").glob("all_settings_*.csv")))
    return cells.set_index("dataset").loc[dataset].filter(like=f"{detector}_")


def test_reports_use_the_newest_version_and_list_the_others(tmp_path):
    rng = np.random.default_rng(0)
    old = [_row(s, 1, 0.6 + 0.01 * rng.random()) for s in range(4)]  # version 1, seeds 0-3
    new = [_row(s, 2, 0.9 + 0.01 * rng.random()) for s in (0, 1)]  # version 2 reran seeds 0 and 1
    new += [_row(s, 2, 0.9 + 0.01 * rng.random()) for s in (4, 5)]  # and ran seeds 4 and 5
    other = [_row(s, 1, 0.7, dataset="cardio") for s in range(3)]  # another dataset: its own versions
    path = tmp_path / "runs.csv"
    for row in new[:2] + old + new[2:] + other:  # a merge may put older rows after newer ones
        append_csv_row(path, COLUMNS, row)
    with pytest.MonkeyPatch.context() as mp:
        from detectors.xgbod import XGBOD

        mp.setattr(XGBOD, "computation_version", 2)
        mp.setattr(XGBOD, "computation_changes", {2: ("thyroid",)})  # cardio stays at version 1
        write_reports(path, tmp_path)
        printed = format_markdown_table(path)
    cell = _cell(tmp_path)
    assert cell["xgbod_n"] == 4  # the four version-2 rows, never the version-1 ones
    assert cell["xgbod_mean"] == pytest.approx(100 * np.mean([r["auroc"] for r in new]))
    assert cell["xgbod_n_superseded"] == 4 and cell["xgbod_cell"].endswith("§")
    cardio = _cell(tmp_path, "cardio")
    assert cardio["xgbod_n"] == 3 and cardio["xgbod_n_superseded"] == 0 and "§" not in cardio["xgbod_cell"]
    listed = pd.read_csv(tmp_path / "reports" / "superseded.csv")
    assert sorted(listed["seed"]) == [0, 1, 2, 3] and set(listed["detector_version"]) == {1}
    assert not listed["in_tables"].any() and set(listed["newest_version"]) == {2}
    assert "4 rows of another version of their detector (xgbod 4): 4 left out" in printed
    assert "Rows of another detector version" in (tmp_path / "reports" / "report.md").read_text()


def test_reports_mark_rows_older_than_the_code_before_the_rerun(tmp_path, monkeypatch):
    from detectors.xgbod import XGBOD

    path = tmp_path / "runs.csv"
    for s in range(3):
        append_csv_row(path, COLUMNS, _row(s, 1, 0.8 + 0.01 * s))
    write_reports(path, tmp_path)
    assert "§" not in _cell(tmp_path)["xgbod_cell"] and not (tmp_path / "reports" / "superseded.csv").exists()
    monkeypatch.setattr(XGBOD, "computation_version", 2)
    write_reports(path, tmp_path)
    cell = _cell(tmp_path)
    assert cell["xgbod_n"] == 3 and cell["xgbod_cell"].endswith("§")  # kept (the newest there is), marked
    listed = pd.read_csv(tmp_path / "reports" / "superseded.csv")
    assert len(listed) == 3 and listed["in_tables"].all() and "code of xgbod is at version 2" in listed["reason"][0]


def _unversioned_folder(folder, data_dir) -> list[Job]:
    """A folder as runs wrote it before rows recorded versions (the two columns dropped)."""
    jobs = jobs_of("toy-centroid")
    with ResultsStore(folder) as store:
        run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    rows = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
    rows.drop(columns=["detector_version", "suite_version"]).to_csv(folder / "runs.csv", index=False)
    return jobs


def test_a_folder_without_versions_is_refused_until_migrated(tmp_path, data_dir, toy_plugin, capsys):
    jobs = _unversioned_folder(tmp_path, data_dir)
    before = pd.read_csv(tmp_path / "runs.csv", dtype=str, keep_default_na=False)
    with pytest.raises(OutputDirError, match="python -m benchmark.migrate"):
        ResultsStore(tmp_path).acquire()
    assert ResultsStore(tmp_path).resume(jobs).done == set()  # never taken for the current version
    assert "no recorded version" in ResultsStore(tmp_path).resume(jobs).describe()
    assert "carry no detector_version" in format_markdown_table(tmp_path / "runs.csv")

    assert migrate_main([str(tmp_path)]) == 0
    assert "3 rows marked with detector_version toy-centroid 3 (version 1)" in capsys.readouterr().out
    after = pd.read_csv(tmp_path / "runs.csv", dtype=str, keep_default_na=False)
    assert after.drop(columns=["detector_version", "suite_version"]).equals(before)  # nothing else changed
    assert set(after["detector_version"]) == {"1"} and set(after["suite_version"]) == {UNRECORDED}
    assert not migrate_folder(tmp_path).changed  # a second migration leaves it as it is
    with ResultsStore(tmp_path) as store:
        summary = run_jobs(jobs, store, data_dir=str(data_dir), progress=False)
    assert (summary.skipped, summary.ok) == (3, 0)


def test_the_migration_can_name_another_version_and_refuses_a_held_folder(tmp_path, data_dir, toy_plugin):
    from filelock import FileLock

    _unversioned_folder(tmp_path, data_dir)
    lock = FileLock(str(tmp_path / ".run.lock"))  # as a run holds it
    lock.acquire()
    try:
        with pytest.raises(OutputDirError, match="a run is writing there"):
            migrate_folder(tmp_path)
    finally:
        lock.release()
    result = migrate_folder(tmp_path, {"toy-centroid": 3})
    assert result.per_detector == {"toy-centroid": (3, 3)}
    assert set(pd.read_csv(tmp_path / "runs.csv")["detector_version"]) == {3}


def test_dry_run_says_which_rows_it_reruns_and_why(two_detectors, monkeypatch, capsys, data_dir):
    from tests.conftest import TOY_PLUGIN
    ToyTorch = get_detector_class("toy-torch")

    out, _ = two_detectors
    monkeypatch.setattr(ToyTorch, "computation_version", 5)
    argv = ["--suite", "tabular", "--plugin", str(TOY_PLUGIN), "--detectors", "toy-centroid,toy-torch",
            "--param", "toy-torch.epochs=2", "--datasets", "thyroid", "--seeds", "3", "--selection", "paper",
            "--out", str(out), "--data-dir", str(data_dir), "--dry-run"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "6 jobs, 3 already stored" in text
    assert "toy-torch 3 (3 of version 1; the code is at version 5)" in text
