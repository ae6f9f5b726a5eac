"""The "fix:" sentences of error messages, built from the registry's facts about a dataset.

Kept apart from the format readers so that each reader only has to say *what* is wrong; the
advice (which file, from where, into which folder, or which option to use) is worded once.
"""
from __future__ import annotations

from pathlib import Path

from .errors import DATA_DIR_HINT
from .registry import DatasetInfo


def put_files(info: DatasetInfo, paths: list[Path]) -> str:
    """Advice for missing files (all in one folder, as the layout guarantees)."""
    auto = " (download=True fetches missing files automatically where there is internet)" if info.urls else ""
    names = ", ".join(p.name for p in paths)
    return f"put {names} in {paths[0].parent}/ — get {info.source}{auto}; {DATA_DIR_HINT}"


def replace_file(info: DatasetInfo, path: Path) -> str:
    """Advice for a file that exists but is damaged or not the expected version."""
    again = "; once it is deleted, download=True fetches a fresh copy" if info.urls else ""
    return (f"delete {path} and put a good copy there — get {info.source}{again}; "
            f"{DATA_DIR_HINT}")
