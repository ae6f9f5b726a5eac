"""ADBench's classical sets: names, checksums, error messages, the suite, and n.a. for splits that
cannot exist (too few training outliers for γl, or a γl that collects nothing)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.jobs import Job, canonical_params, run_job
from benchmark.protocol import Experiment, InfeasibleExperimentError, count_from_ratio, make_split
from benchmark.suites import ADBENCH_MAX_ROWS, ADBENCH_MAX_TRAIN, build_experiments, get_suite
from datasets import DATASETS, DataError, load_dataset
from datasets.checksums import CHECKSUMS
from datasets.registry import ADBENCH_DATASETS, ADBENCH_FILES, ADBENCH_FOLDER, adbench_name
from detectors import get_detector_class

ODDS_OVERLAP = ("cardio", "satellite", "satimage-2", "shuttle", "thyroid")


def _adbench_dir(data_dir: Path) -> Path:
    folder = data_dir / ADBENCH_FOLDER
    if not folder.is_dir():
        pytest.skip(f"no {ADBENCH_FOLDER}/ in the data folder")
    return folder


def test_names_say_where_the_sets_come_from():
    assert len(ADBENCH_DATASETS) == len(set(ADBENCH_DATASETS)) == 43
    assert all(name.startswith("adbench/") for name in ADBENCH_DATASETS)
    assert adbench_name("7_Cardiotocography") == "adbench/cardiotocography"
    # The five ODDS look-alikes are separate datasets: both names exist and read different files.
    for name in ODDS_OVERLAP:
        assert DATASETS[name].files != DATASETS[f"adbench/{name}"].files
    for stem in ADBENCH_FILES:
        assert CHECKSUMS[f"{ADBENCH_FOLDER}/{stem}.npz"].file_sha256


def test_every_file_of_the_folder_is_registered(data_dir):
    present = {p.stem for p in _adbench_dir(data_dir).glob("*.npz")}
    assert present == set(ADBENCH_FILES)


@pytest.mark.parametrize("name,shape,anomalies", [
    ("adbench/hepatitis", (80, 19), 13), ("adbench/cardio", (1831, 21), 176), ("adbench/wilt", (4819, 5), 257),
])
def test_loads_verified_tables(data_dir, name, shape, anomalies):
    ds = load_dataset(name, data_dir, download=False)
    assert ds.kind == "tabular" and ds.X_train.shape == shape and ds.X_train.dtype == np.float32
    assert int(ds.y_train.sum()) == anomalies and set(np.unique(ds.y_train)) == {0, 1}


@pytest.mark.parametrize("name", ODDS_OVERLAP)
def test_odds_look_alikes_hold_the_odds_values_but_are_separate_experiments(data_dir, name):
    """Measured: at float32 the five ADBench copies hold exactly the ODDS rows and labels (only the
    file format and dtypes differ). They stay separate datasets, so their seeded splits differ."""
    odds, adb = load_dataset(name, data_dir), load_dataset(f"adbench/{name}", data_dir)
    np.testing.assert_array_equal(odds.X_train, adb.X_train)
    np.testing.assert_array_equal(odds.y_train, adb.y_train)
    a = make_split(odds, Experiment(name, -1, None, 1, 0.01, 0.0), "paper")
    b = make_split(adb, Experiment(f"adbench/{name}", -1, None, 1, 0.01, 0.0), "paper")
    assert not np.array_equal(a.info["test_index"], b.info["test_index"])


def _copy(tmp_path: Path, data_dir: Path, stem: str) -> Path:
    (tmp_path / ADBENCH_FOLDER).mkdir()
    target = tmp_path / ADBENCH_FOLDER / f"{stem}.npz"
    shutil.copyfile(_adbench_dir(data_dir) / f"{stem}.npz", target)
    return target


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("adbench/glass", tmp_path, download=False)
    assert "14_glass.npz" in str(err.value) and "ADBench" in str(err.value)


def test_corrupt_file_is_named(tmp_path, data_dir):
    bad = _copy(tmp_path, data_dir, "14_glass")
    raw = bytearray(bad.read_bytes())
    raw[-30] ^= 0x01
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as err:
        load_dataset("adbench/glass", tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_truncated_file_and_missing_array_are_named(tmp_path, data_dir):
    bad = _copy(tmp_path, data_dir, "42_WBC")
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(DataError, match="not a readable .npz") as err:
        load_dataset("adbench/wbc", tmp_path, download=False)
    assert str(bad) in str(err.value)
    np.savez(bad.with_suffix(""), X=np.zeros((4, 2)))  # savez appends .npz again
    with pytest.raises(DataError, match="no array 'y'"):
        load_dataset("adbench/wbc", tmp_path, download=False)


def test_suite_runs_the_tabular_protocol_over_every_set():
    suite = get_suite("adbench")
    assert suite.datasets == ADBENCH_DATASETS and suite.gamma_l == (0.01, 0.05) and suite.gamma_p == (0.0,)
    assert suite.seeds == 5 and suite.detectors is None
    experiments = build_experiments(suite, {})
    assert len(experiments) == 43 * 2 * 5
    assert {e.normal_class for e in experiments} == {-1}
    assert suite.detector_params["pyod-kde"]["max_train"] == ADBENCH_MAX_TRAIN
    # SSAD and XGBOD also cap the collected anomalies (donors collects 18,000 at γl .05).
    assert all(suite.detector_params[name]["max_collected"] for name in ("ssad-raw", "ssad-hybrid", "xgbod"))
    # The deep detectors that pass over every row in every epoch train on at most ADBENCH_MAX_ROWS.
    for name in ("deep-sad", "supervised", "nda", "ss-dgm", "ssad-hybrid"):
        assert suite.detector_params[name]["max_rows"] == ADBENCH_MAX_ROWS
    assert suite.detector_params["pyod-deepsvdd"]["max_train"] == ADBENCH_MAX_ROWS


def test_every_parameter_the_suite_sets_is_one_its_detector_accepts():
    for name, params in get_suite("adbench").detector_params.items():
        get_detector_class(name)(**params).check_params()


def test_too_few_training_outliers_is_infeasible(data_dir):
    ds = load_dataset("adbench/smtp", data_dir)  # 30 anomalies in 95,156 rows
    n_train_outliers = int(round(0.6 * ds.y_train.sum()))
    n_train_normals = int(round(0.6 * (ds.y_train == 0).sum()))
    assert count_from_ratio(n_train_normals, 0.01) > n_train_outliers
    with pytest.raises(InfeasibleExperimentError, match="training outliers"):
        make_split(ds, Experiment("adbench/smtp", -1, None, 1, 0.01, 0.0), "paper")


def test_a_gamma_that_collects_nothing_is_infeasible(data_dir):
    ds = load_dataset("adbench/hepatitis", data_dir)  # 40 training normals: int(40 * .01 / .99) = 0
    with pytest.raises(InfeasibleExperimentError, match="collects no anomaly"):
        make_split(ds, Experiment("adbench/hepatitis", -1, None, 1, 0.01, 0.0), "paper")
    split = make_split(ds, Experiment("adbench/hepatitis", -1, None, 1, 0.05, 0.0), "paper")
    assert split.info["n_collected"] == 2


@pytest.mark.parametrize("dataset", ["adbench/smtp", "adbench/hepatitis"])
def test_runner_records_na_with_the_reason(data_dir, dataset):
    job = Job("adbench", Experiment(dataset, -1, None, 1, 0.01, 0.0), "pyod-ecod", canonical_params({}), "paper")
    row = run_job(job, str(data_dir), "cpu")
    assert row["status"] == "n.a." and row["error"].startswith("split not possible") and row["auroc"] is None
