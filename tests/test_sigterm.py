"""SIGTERM (what a cluster scheduler sends) ends a run like Ctrl-C, and a resume says what it skips.

As in tests/test_interrupt.py, the signal is sent once the run is known to be inside a job (the toy
detector's marker of a held fit), never after a wait for time."""
from __future__ import annotations

import subprocess

from benchmark.store import ResultsStore
from tests.conftest import REPO
from tests.test_interrupt import N_SEEDS, WAIT_LIMIT, command, start_held


def test_sigterm_stops_like_ctrl_c_and_the_resume_says_what_it_skips(tmp_path, data_dir):
    import signal

    out = tmp_path / "terminated"
    process = start_held(out, data_dir, tmp_path / "markers", 2, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=WAIT_LIMIT)
    assert process.returncode == 130, err
    assert f"interrupted (SIGTERM): 2 of {N_SEEDS} jobs are stored" in err
    assert "run the same command again to resume" in err and "Traceback" not in err
    stored = ResultsStore(out).rows()
    assert len(stored) == 2 and stored["status"].eq("ok").all()
    assert not (out / ".run.lock").exists() or _lock_is_free(out)

    again = subprocess.run(command(out, data_dir), cwd=REPO, capture_output=True, text=True, timeout=WAIT_LIMIT)
    assert again.returncode == 0, again.stderr
    assert f"resuming: 2 stored, skipping; {N_SEEDS - 2} of {N_SEEDS} jobs to run" in again.stderr


def _lock_is_free(out) -> bool:
    from filelock import FileLock

    lock = FileLock(str(out / ".run.lock"))
    lock.acquire(timeout=0)
    lock.release()
    return True
