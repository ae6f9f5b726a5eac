"""SIGTERM (what a cluster scheduler sends) ends a run like Ctrl-C, and a resume says what it skips."""
from __future__ import annotations

import signal
import subprocess
import time

from benchmark.store import ResultsStore
from tests.conftest import REPO
from tests.test_interrupt import command, n_rows


def test_sigterm_stops_like_ctrl_c_and_the_resume_says_what_it_skips(tmp_path, data_dir):
    out = tmp_path / "terminated"
    process = subprocess.Popen(command(out, data_dir), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 120
    while n_rows(out) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted (SIGTERM):" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    stored = ResultsStore(out).rows()
    assert 1 <= len(stored) < 8 and stored["status"].eq("ok").all()
    assert not (out / ".run.lock").exists() or _lock_is_free(out)

    again = subprocess.run(command(out, data_dir), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {len(stored)} stored, skipping; {8 - len(stored)} of 8 jobs to run" in again.stderr


def _lock_is_free(out) -> bool:
    from filelock import FileLock

    lock = FileLock(str(out / ".run.lock"))
    lock.acquire(timeout=0)
    lock.release()
    return True
