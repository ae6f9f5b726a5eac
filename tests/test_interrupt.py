"""A suite killed with SIGKILL at several points resumes to exactly the rows of an uninterrupted run."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd

from benchmark.store import ResultsStore
from tests.conftest import REPO, TOY_PLUGIN

N_SEEDS = 8


def command(out, data_dir):
    return [sys.executable, "run_benchmark.py", "--suite", "tabular", "--plugin", str(TOY_PLUGIN),
            "--detectors", "toy-centroid", "--param", "toy-centroid.delay=0.4", "--datasets", "thyroid",
            "--seeds", str(N_SEEDS), "--out", str(out), "--data-dir", str(data_dir), "--no-progress"]


def n_rows(out) -> int:
    path = out / "runs.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def kill_when(out, data_dir, rows_at_least: int, extra_wait: float) -> None:
    process = subprocess.Popen(command(out, data_dir), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while n_rows(out) < rows_at_least and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(extra_wait)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_sigkill_at_several_points_then_resume(tmp_path, data_dir):
    reference = tmp_path / "reference"
    subprocess.run(command(reference, data_dir), cwd=REPO, check=True, capture_output=True, timeout=300)

    out = tmp_path / "killed"
    # Before any row, in the middle of a job, right after a row was written.
    for rows_at_least, extra_wait in ((0, 0.8), (2, 0.2), (4, 0.0), (6, 0.35)):
        kill_when(out, data_dir, rows_at_least, extra_wait)
        stored = ResultsStore(out).rows()
        assert stored["job_key"].is_unique  # never a job twice, never a torn row
    subprocess.run(command(out, data_dir), cwd=REPO, check=True, capture_output=True, timeout=300)

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
    process = subprocess.Popen(command(out, data_dir), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while n_rows(out) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    parent_sigint = signal.getsignal(signal.SIGINT)
    assert process.returncode == 130, f"exit {process.returncode}; the test process's SIGINT: {parent_sigint}"
    assert "run the same command again to resume" in err
    assert ResultsStore(out).rows()["status"].eq("ok").all()
