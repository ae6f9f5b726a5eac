"""A suite killed with SIGKILL at several points resumes to exactly the rows of an uninterrupted run;
Ctrl-C stops it cleanly.

The tests never wait for time: the toy detector writes a marker file as each fit starts, and can hold
one fit open (tests/plugins/toy_detectors.py), so a signal sent once that fit's marker exists lands in
the middle of that job however loaded the machine is, and what must be stored then is known exactly.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from benchmark.store import ResultsStore
from tests.conftest import REPO, TOY_PLUGIN
from tests.plugins.toy_detectors import HOLD_ENV, MARKERS_ENV

N_SEEDS = 8
WAIT_LIMIT = 300  # seconds: only a guard against a hung run, never what a test waits for


def command(out, data_dir):
    return [sys.executable, "run_benchmark.py", "--suite", "tabular", "--plugin", str(TOY_PLUGIN),
            "--detectors", "toy-centroid", "--param", "toy-centroid.delay=0.05", "--datasets", "thyroid",
            "--seeds", str(N_SEEDS), "--out", str(out), "--data-dir", str(data_dir), "--no-progress"]


def n_rows(out) -> int:
    path = out / "runs.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def start_held(out, data_dir, markers: Path, hold: int, **popen) -> subprocess.Popen:
    """Start the run with its ``hold``-th fit (0 = the first job it runs) held open; return once that
    fit has started, so the run is known to be inside that job (and its signal handlers installed)."""
    markers.mkdir(parents=True, exist_ok=True)
    for old in markers.glob("fit-*"):
        old.unlink()
    env = {**os.environ, MARKERS_ENV: str(markers), HOLD_ENV: str(hold)}
    process = subprocess.Popen(command(out, data_dir), cwd=REPO, env=env, **popen)
    deadline = time.monotonic() + WAIT_LIMIT
    while not (markers / f"fit-{hold}").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out_err = process.communicate()
            raise AssertionError(f"the run ended or hung before its fit {hold} started: {out_err}")
        time.sleep(0.01)
    return process


def test_sigkill_at_several_points_then_resume(tmp_path, data_dir):
    reference = tmp_path / "reference"
    subprocess.run(command(reference, data_dir), cwd=REPO, check=True, capture_output=True, timeout=WAIT_LIMIT)

    out, markers = tmp_path / "killed", tmp_path / "markers"
    stored = 0
    # Inside the first job (nothing stored yet), then inside later jobs, the last one included.
    for hold in (0, 3, 2, 2):
        process = start_held(out, data_dir, markers, hold, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT_LIMIT)
        rows = ResultsStore(out).rows()
        assert rows["job_key"].is_unique  # never a job twice, never a torn row
        # The kill landed mid-run, inside the held job: the jobs before it are stored, it is not.
        stored += hold
        assert len(rows) == stored < N_SEEDS
        assert sorted(rows["seed"]) == list(range(stored))
    assert stored == N_SEEDS - 1  # the last kill was inside the last job
    subprocess.run(command(out, data_dir), cwd=REPO, check=True, capture_output=True, timeout=WAIT_LIMIT)

    want = ResultsStore(reference).rows().set_index("job_key").sort_index()
    got = ResultsStore(out).rows().set_index("job_key").sort_index()
    assert len(got) == len(want) == N_SEEDS and got.index.is_unique
    columns = ["dataset", "seed", "detector", "status", "auroc", "auprc", "n_train", "n_test"]
    pd.testing.assert_frame_equal(got[columns], want[columns])


def _default_sigint() -> None:
    """In the child before it starts: Ctrl-C's default disposition, whatever the test process has.

    A non-interactive shell starts a background command (``pytest ... &``) with SIGINT ignored;
    the test process and its children inherit that, and Python installs its KeyboardInterrupt
    handler only where SIGINT is not ignored, so the run would go on to its end and exit 0
    (measured: started that way, the child's SigIgn mask has SIGINT set and it exits 0; started
    from a shell with job control, it exits 130). A user's Ctrl-C reaches a run started from a
    terminal, where SIGINT has its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, data_dir):
    out = tmp_path / "interrupted"
    process = start_held(out, data_dir, tmp_path / "markers", 1, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=_default_sigint)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=WAIT_LIMIT)
    parent_sigint = signal.getsignal(signal.SIGINT)
    assert process.returncode == 130, f"exit {process.returncode}; the test process's SIGINT: {parent_sigint}\n{err}"
    assert f"interrupted: 1 of {N_SEEDS} jobs are stored" in err and "run the same command again to resume" in err
    rows = ResultsStore(out).rows()
    assert len(rows) == 1 and rows["status"].eq("ok").all()
