"""The command line: bad input is refused with a clear message, exit code 2, and nothing written."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmark.cli import main
from tests.conftest import REPO, TOY_PLUGIN

TOY = ["--plugin", str(TOY_PLUGIN)]


@pytest.mark.parametrize("argv, message", [
    (["--suite", "nope"], "unknown suite 'nope'; suites: smoke, images"),
    (["--detectors", "nope"], "unknown detector(s) nope; registered:"),
    (["--datasets", "imagenet"], "unknown dataset(s) imagenet; available:"),
    (["--gamma-l", "1.0"], "--gamma-l values must lie in [0, 1)"),
    (["--gamma-p", "-0.1"], "--gamma-p values must lie in [0, 1)"),
    (["--gamma-l", "0.5", "--gamma-p", "0.6"], "gamma_l + gamma_p must be below 1"),
    (["--normal-classes", "10"], "class(es) [10] do not exist in fashion-mnist"),
    (["--k-l", "10"], "k_l = 10 exceeds the 9 anomaly classes"),
    (["--param", "deep-sad.epochs"], "expected DETECTOR.NAME=VALUE"),
    (["--device", "tpu"], "--device must be"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, argv, message, toy_plugin):
    out = tmp_path / "out"
    code = main(["--out", str(out), "--detectors", "toy-centroid", *TOY, *argv] if "--detectors" not in argv
                else ["--out", str(out), *TOY, *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_detector_parameter_is_refused(tmp_path, capsys, toy_plugin):
    code = main(["--out", str(tmp_path / "o"), *TOY, "--detectors", "toy-centroid", "--param", "toy-centroid.nope=1"])
    assert code == 2 and "has no parameter(s) ['nope']" in capsys.readouterr().err


def test_output_folder_that_is_a_file(tmp_path, capsys, toy_plugin):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert main(["--out", str(target), *TOY, "--detectors", "toy-centroid"]) == 2
    assert "is not a folder" in capsys.readouterr().err and target.read_text() == "keep me"


def test_unwritable_output_folder(tmp_path, capsys, monkeypatch, toy_plugin):
    """A folder the user cannot write to is refused before any work. Root can write anywhere, so the
    condition is simulated: ``os.access`` answers "not writable" for that folder, as it does for a
    user without permission (the mode is set too, for a run as an ordinary user)."""
    import benchmark.store

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    real_access = os.access
    asked = []

    def access(path, mode, *args, **kwargs):
        if os.path.abspath(path) == str(locked):
            asked.append(mode)
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(benchmark.store.os, "access", access)
    assert main(["--out", str(locked / "out"), *TOY, "--detectors", "toy-centroid"]) == 2
    assert f"{locked} is not a writable folder" in capsys.readouterr().err
    assert asked and asked[0] & os.W_OK
    assert not (locked / "out").exists()


def test_data_folder_without_files(tmp_path, capsys, toy_plugin):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["--out", str(tmp_path / "o"), *TOY, "--detectors", "toy-centroid", "--datasets", "thyroid",
                 "--data-dir", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and "thyroid.mat" in err and str(empty) in err
    assert not (tmp_path / "o").exists()


def test_list_commands(capsys, toy_plugin):
    assert main(["--list-suites"]) == 0
    assert "smoke" in capsys.readouterr().out
    assert main(["--list-detectors", *TOY]) == 0
    assert "toy-centroid" in capsys.readouterr().out


def test_dry_run_lists_jobs_and_writes_nothing(tmp_path, capsys, toy_plugin):
    out = tmp_path / "o"
    assert main(["--out", str(out), *TOY, "--suite", "tabular", "--detectors", "toy-centroid", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "60 jobs" in text and "toy-centroid" in text and not out.exists()


def test_run_resume_and_report_only(tmp_path, data_dir):
    """A real run in a subprocess, run again (nothing redone), then its reports rebuilt."""
    out = tmp_path / "o"
    cmd = [sys.executable, "run_benchmark.py", "--suite", "tabular", *TOY, "--detectors", "toy-centroid",
           "--datasets", "thyroid", "--seeds", "2", "--out", str(out), "--data-dir", str(data_dir), "--no-progress"]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "2 ok" in first.stdout
    second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "2 already stored, 0 ok" in second.stdout
    report = subprocess.run([sys.executable, "run_benchmark.py", "--report-only", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert (out / "reports").is_dir()


def test_corrupted_data_file_is_named_and_nothing_written(tmp_path, capsys, data_dir, toy_plugin):
    broken = tmp_path / "data" / "odds"
    broken.mkdir(parents=True)
    original = (data_dir / "odds" / "thyroid.mat").read_bytes()
    (broken / "thyroid.mat").write_bytes(original[: len(original) // 2])  # truncated copy
    out = tmp_path / "o"
    code = main(["--out", str(out), *TOY, "--detectors", "toy-centroid", "--datasets", "thyroid",
                 "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2 and "thyroid.mat" in err
    assert not out.exists()


def test_parallel_workers_load_the_plugin(tmp_path, data_dir):
    out = tmp_path / "o"
    cmd = [sys.executable, "run_benchmark.py", "--suite", "tabular", *TOY, "--detectors", "toy-centroid",
           "--datasets", "thyroid", "--seeds", "2", "--jobs", "2", "--out", str(out), "--data-dir", str(data_dir),
           "--no-progress"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 ok, 0 failed" in done.stdout


def test_the_rerun_command_of_a_row_names_exactly_that_job(tmp_path, data_dir):
    import shlex

    import pandas as pd

    out = tmp_path / "o"
    cmd = [sys.executable, "run_benchmark.py", "--suite", "tabular", *TOY, "--detectors", "toy-centroid,toy-torch",
           "--param", "toy-torch.epochs=2", "--datasets", "thyroid", "--seeds", "2", "--out", str(out),
           "--data-dir", str(data_dir), "--no-progress"]
    assert subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=300).returncode == 0
    rows = pd.read_csv(out / "runs.csv")
    row = rows[(rows["detector"] == "toy-torch") & (rows["seed"] == 1)].iloc[0]
    rerun = shlex.split(row["rerun"])
    assert rerun[0] in ("python", ".venv/bin/python") and rerun[1] == "run_benchmark.py"  # .venv when run from it
    again = subprocess.run([sys.executable, *rerun[1:], "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "1 jobs, 1 already stored" in again.stdout


def test_dry_run_estimates_from_the_perf_csv_of_the_device_at_hand(tmp_path, capsys, monkeypatch, data_dir):
    """An output folder without stored timings: MNIST jobs are estimated from results/perf/perf_cpu.csv."""
    from tests.test_timings import AE_EPOCH, SCORE, SETUP, TRAIN_EPOCH, write_perf_csv

    monkeypatch.chdir(tmp_path)  # the perf CSVs are looked up under results/perf of the working directory
    args = ["--out", "o", "--suite", "images", "--detectors", "deep-sad", "--datasets", "mnist", "--normal-classes",
            "0", "--known-classes", "1", "--gamma-l", "0.05", "--device", "cpu", "--data-dir", str(data_dir),
            "--param", "deep-sad.epochs=10", "--param", "deep-sad.ae_epochs=5", "--dry-run"]
    assert main(args) == 0
    assert "python -m benchmark.perf" in capsys.readouterr().out  # no CSV yet: no estimate, and how to get one
    write_perf_csv(tmp_path / "results" / "perf")
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"{SETUP + 5 * AE_EPOCH + 10 * TRAIN_EPOCH + SCORE:.0f} s" in text
    assert ("from the perf benchmark's seconds per epoch (results/perf/perf_cpu.csv, measured with 1 thread(s) on an "
            "unrecorded CPU") in text  # the test CSV names no processor
    assert not (tmp_path / "o").exists()


def test_dry_run_with_batch_experiments_costs_groups_from_the_perf_csv(tmp_path, capsys, monkeypatch, data_dir):
    """--batch-experiments K reaches the dry run: on a GPU, two jobs of one image cell cost one group of 2."""
    from tests.test_timings import bigan_cost, write_perf_csv

    monkeypatch.chdir(tmp_path)
    write_perf_csv(tmp_path / "results" / "perf", kind="cuda", groups=(2,))
    args = ["--out", "o", "--suite", "images", "--detectors", "aa-bigan", "--datasets", "mnist", "--normal-classes",
            "0", "--known-classes", "1,2", "--gamma-l", "0.05", "--device", "cuda", "--data-dir", str(data_dir),
            "--param", "aa-bigan.epochs=4", "--dry-run"]
    assert main([*args, "--batch-experiments", "2"]) == 0
    text = capsys.readouterr().out
    assert f"{bigan_cost(2 ** 0.5) / 60:.1f} min" in text and "group sizes: K = 2 measured" in text
    assert main(args) == 0
    assert f"{2 * bigan_cost(1.0) / 60:.1f} min" in capsys.readouterr().out
