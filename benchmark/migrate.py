"""Mark the rows of a runs CSV written before rows recorded their versions.

    python -m benchmark.migrate results/tabular-paper [more folders] [--version DETECTOR=N ...]

Rows record the computation version of their detector and the suite's version
(:mod:`benchmark.versions`); a runs CSV written before that has neither column, and a run refuses
it, because it could not tell a current row from a stale one. This command adds the two columns,
in place, with what was in force when the rows were made:

- ``detector_version``: 1 for every detector, the version every detector had before versions were
  recorded (a detector's first raise came with the recording). ``--version DETECTOR=N`` sets
  another number for one detector, for rows known to come from a later computation.
- ``suite_version``: ``unrecorded``. The rows did not record it, and it is not guessed.

Nothing else changes: every other field is copied as text, the row order is kept, a partial last
line (a write cut short) is dropped with a warning, and the file is replaced in one step under the
folder's run lock. A folder whose rows already record their versions is left as it is.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd
from filelock import FileLock, Timeout

from .store import LOCK_FILE, RUNS_FILE, OutputDirError, read_runs_csv
from .versions import VERSION_COLUMNS

FIRST_VERSION = 1
UNRECORDED = "unrecorded"


@dataclass
class Migration:
    """What :func:`migrate_folder` did to one folder."""

    path: Path
    rows: int
    per_detector: dict[str, tuple[int, int]]  # detector -> (version given, rows)
    changed: bool

    def describe(self) -> str:
        if not self.changed:
            return f"{self.path}: its rows already record their versions; left as it is"
        parts = ", ".join(f"{d} {n} (version {v})" for d, (v, n) in sorted(self.per_detector.items()))
        return (f"{self.path}: {self.rows} rows marked with detector_version {parts}; "
                f"suite_version {UNRECORDED!r}")


def migrate_folder(folder: Path | str, versions: dict[str, int] | None = None) -> Migration:
    """Add ``detector_version`` and ``suite_version`` to ``folder``'s runs CSV (see the module
    docstring); ``versions`` gives a detector another version than :data:`FIRST_VERSION`."""
    folder = Path(folder)
    path = folder / RUNS_FILE
    if not path.is_file():
        raise OutputDirError(f"{folder}: no {RUNS_FILE} there")
    lock = FileLock(str(folder / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputDirError(f"{folder}: a run is writing there (its lock is held); migrate it when the run ends") \
            from None
    try:
        rows = read_runs_csv(path, dtype=str, keep_default_na=False)  # text in, text out
        if rows is None:
            raise OutputDirError(f"{path} holds no whole line")
        if all(c in rows for c in VERSION_COLUMNS):
            return Migration(path, len(rows), {}, changed=False)
        versions = versions or {}
        numbers = rows["detector"].map(lambda d: versions.get(d, FIRST_VERSION))
        if "detector_version" not in rows:
            rows.insert(rows.columns.get_loc("detector_params") + 1, "detector_version", numbers.astype(str))
        if "suite_version" not in rows:
            where = rows.columns.get_loc("versions") if "versions" in rows else len(rows.columns)
            rows.insert(where, "suite_version", UNRECORDED)
        per_detector = {d: (versions.get(d, FIRST_VERSION), int(n)) for d, n in rows["detector"].value_counts().items()}
        tmp = path.with_suffix(".migrating")
        rows.to_csv(tmp, index=False)
        tmp.replace(path)
        return Migration(path, len(rows), per_detector, changed=True)
    finally:
        lock.release()


def _version(text: str) -> tuple[str, int]:
    name, sep, number = text.partition("=")
    if not sep or not name or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected DETECTOR=N with N >= 1, e.g. aa-bigan=1; got {text!r}")
    return name, int(number)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="output folders whose runs.csv to mark")
    parser.add_argument("--version", type=_version, action="append", default=[], metavar="DETECTOR=N",
                        help=f"the computation version of one detector's rows (default {FIRST_VERSION})")
    args = parser.parse_args(argv)
    versions = dict(args.version)
    code = 0
    for folder in args.folders:
        try:
            print(migrate_folder(folder, versions).describe())
        except OutputDirError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = 2
    return code


if __name__ == "__main__":
    sys.exit(main())
