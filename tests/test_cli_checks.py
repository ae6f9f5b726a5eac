"""Input the command line must refuse before any job runs (issue 15): bad --param values, a plugin
that reuses a registered name, and data that a dry run finds missing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from benchmark.cli import main
from tests.conftest import REPO, TOY_PLUGIN

TOY = ["--plugin", str(TOY_PLUGIN)]


@pytest.mark.parametrize("value, shown", [("-1", "Got -1 instead"), ("abc", "Got 'abc' instead")])
def test_a_bad_parameter_value_exits_2_and_writes_nothing(tmp_path, capsys, toy_plugin, value, shown):
    out = tmp_path / "out"
    code = main(["--out", str(out), *TOY, "--suite", "tabular", "--detectors", "toy-centroid",
                 "--param", f"toy-centroid.delay={value}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "The 'delay' parameter of ToyCentroid must be a float in the range [0, inf]" in err and shown in err
    assert "toy-centroid.delay" in err
    assert not out.exists()


def test_a_suite_parameter_value_is_checked_too(tmp_path, capsys):
    """A value that only the detector's table rejects (a real detector, no plugin)."""
    out = tmp_path / "out"
    assert main(["--out", str(out), "--detectors", "deep-sad", "--param", "deep-sad.lr=0"]) == 2
    assert "The 'lr' parameter of DeepSAD" in capsys.readouterr().err and not out.exists()


def test_a_plugin_reusing_a_builtin_name_is_one_line(tmp_path):
    plugin = tmp_path / "my_dup.py"
    plugin.write_text(
        "from detectors import SemiSupervisedDetector, register\n\n"
        "@register('deep-sad')\n"
        "class MySAD(SemiSupervisedDetector):\n"
        "    pass\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "run_benchmark.py", "--plugin", str(plugin), "--detectors", "deep-sad",
                           "--out", str(out), "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert "'deep-sad'" in line and "detectors.deep_sad" in line and "MySAD" in line and "rename" in line
    assert "Traceback" not in done.stderr and not out.exists()


def test_dry_run_reports_missing_data_and_how_to_run_without_it(tmp_path, capsys, toy_plugin):
    empty = tmp_path / "data"
    empty.mkdir()
    empty.chmod(0o555)  # read-only: nothing could be downloaded into it, so a real run would stop
    try:
        code = main(["--out", str(tmp_path / "o"), "--suite", "pollution", "--detectors", "deep-sad",
                     "--data-dir", str(empty), "--dry-run"])
    finally:
        empty.chmod(0o755)
    captured = capsys.readouterr()
    assert "jobs" in captured.out  # the plan is still listed
    if code == 0:  # root can write anywhere, so the download would be tried
        assert "a real run would try to download" in captured.err
    else:
        assert code == 2
    assert "cifar-10-python.tar.gz" in captured.err and "fashion-mnist" in captured.err
    assert "--datasets fashion-mnist,cifar10-jpeg" in captured.err
    assert "run without cifar10: --datasets fashion-mnist" in captured.err
    assert list(empty.iterdir()) == [] and not (tmp_path / "o").exists()


def test_dry_run_says_when_the_data_is_there(tmp_path, capsys, data_dir, toy_plugin):
    code = main(["--out", str(tmp_path / "o"), *TOY, "--suite", "tabular", "--detectors", "toy-centroid",
                 "--datasets", "thyroid", "--data-dir", str(data_dir), "--dry-run"])
    assert code == 0 and "data: thyroid found" in capsys.readouterr().out


def test_rerun_commands_name_the_setup_venv_when_it_ran_the_job(monkeypatch):
    from benchmark import jobs

    monkeypatch.setattr(sys, "prefix", str(REPO / ".venv"))
    assert jobs.python_command() == ".venv/bin/python"
    monkeypatch.setattr(sys, "prefix", "/some/other/env")
    assert jobs.python_command() == "python"
