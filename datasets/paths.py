"""Where data lives: the data-directory precedence and the writable cache folder.

One function decides the data folder so that the command line, the runner and the tests
cannot disagree about it: an explicit argument wins, then ``BENCH_DATA_DIR``, then
``~/.cache/aabench/data``.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

ENV_VAR = "BENCH_DATA_DIR"
DEFAULT_DATA_DIR = "~/.cache/aabench/data"
CACHE_ROOT = "~/.cache/aabench"


def _normalize(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data folder to use: ``data_dir`` if given, else ``$BENCH_DATA_DIR``, else the default.

    The result is absolute (resolved against the current directory), so the same folder
    named two ways is one cache key, and messages show a path the user can paste.
    An empty environment variable counts as unset.
    """
    return data_dir_and_origin(data_dir)[0]


def data_dir_and_origin(data_dir: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Like :func:`resolve_data_dir`, plus a phrase saying which rule chose the folder."""
    if data_dir is not None and str(data_dir) != "":
        return _normalize(data_dir), "given as data_dir / --data-dir"
    env = os.environ.get(ENV_VAR, "")
    if env:
        return _normalize(env), f"from {ENV_VAR}"
    return _normalize(DEFAULT_DATA_DIR), f"the default; {ENV_VAR} is not set"


def cache_root() -> Path:
    """Per-user folder for derived files (decoded arrays) when the data folder is read-only."""
    return _normalize(CACHE_ROOT)


def is_writable_dir(path: Path) -> bool:
    """Whether we may create files in ``path`` (or create ``path`` itself if it is missing).

    Besides trying, it honours the permission bits: a folder marked read-only for everyone
    is treated as read-only even for root, who could write there anyway.  Shared data
    folders are marked that way on purpose.  Nothing is created here.
    """
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            return False
        existing = existing.parent
    try:
        mode = existing.stat().st_mode
    except OSError:
        return False
    if not stat.S_ISDIR(mode) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False
    if not os.access(existing, os.W_OK | os.X_OK):
        return False
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True
