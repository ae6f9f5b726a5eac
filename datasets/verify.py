"""Hashing with a per-process memo, and the checksum comparison every loader uses.

Hashing the large files takes a noticeable fraction of a second each; a runner that builds
ninety jobs should pay it once.  The memo is keyed by the file's identity *and* its size and
modification time, so a file replaced during the process (as the tests do) is hashed again.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .errors import DataError, problem_message

_CHUNK = 1 << 20
_memo: dict[tuple, str] = {}
_lock = threading.Lock()


def _stat_key(path: Path, tag: str) -> tuple:
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, tag)


def memoized(path: Path, tag: str, compute: Callable[[], str]) -> str:
    """Return ``compute()`` for this version of ``path``, computing it at most once."""
    key = _stat_key(path, tag)
    with _lock:
        if key in _memo:
            return _memo[key]
    value = compute()
    with _lock:
        _memo[key] = value
    return value


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file's bytes (``algo`` is ``"sha256"`` or ``"md5"``), memoized."""

    def compute() -> str:
        h = hashlib.new(algo)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        return h.hexdigest()

    return memoized(path, f"file:{algo}", compute)


def check_digest(dataset: str, path: Path, what: str, actual: str, expected: str, fix: str) -> None:
    """Raise a :class:`DataError` naming the file when a digest does not match."""
    if actual.lower() != expected.lower():
        raise DataError(problem_message(
            dataset,
            f"{what} does not match the known value (file corrupt, truncated or a different version)",
            file=path,
            notes=[f"expected {expected}", f"got      {actual}"],
            fix=fix,
        ))


def verify_file(dataset: str, path: Path, algo: str, expected: str, fix: str) -> str:
    """Check a whole file against its known digest; returns the digest."""
    actual = file_digest(path, algo)
    check_digest(dataset, path, f"{algo} of the file", actual, expected, fix)
    return actual


def clear_memo() -> None:
    """Forget every verified digest (for tests and long-lived processes)."""
    with _lock:
        _memo.clear()
