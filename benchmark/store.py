"""The results store: one long-format CSV row per job, appended atomically, resumable.

Each row is rendered in full and written with a single ``write`` on a file opened in append
mode, then flushed to disk, so a run killed at any moment leaves whole rows only; a partial
last line (a kill inside the write) is cut off the next time the store is opened. Only the main
process writes, under a lock on the output folder, so two runs never interleave.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

RUNS_FILE = "runs.csv"
LOCK_FILE = ".run.lock"

COLUMNS = (
    "job_key", "suite", "protocol_version", "dataset", "normal_class", "known_classes", "k_l",
    "gamma_l", "gamma_p", "seed", "selection", "max_train_normals", "max_test", "detector",
    "detector_params", "status", "error", "auroc", "auprc", "n_train", "n_collected", "n_test",
    "fit_seconds", "score_seconds", "device", "selected_epoch", "selected_score", "flags",
    "versions", "timestamp", "rerun",
)
DONE_STATUSES = ("ok", "n.a.")  # stored rows that a resumed run does not repeat


class OutputDirError(RuntimeError):
    """The output folder cannot be used (not a folder, not writable, or locked by another run)."""


class ResultsStore:
    """The runs CSV of one output folder."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RUNS_FILE
        self._lock: FileLock | None = None

    # -- the lock ------------------------------------------------------------------------
    def acquire(self) -> None:
        """Create the folder if needed and take its lock; refuse when another run holds it."""
        check_output_dir(self.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.out_dir / LOCK_FILE))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            self._lock = None
            raise OutputDirError(
                f"another run is writing to {self.out_dir} (lock {self.out_dir / LOCK_FILE} is held); "
                "wait for it to finish or choose another --out folder"
            ) from None
        self._repair()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "ResultsStore":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # -- reading -------------------------------------------------------------------------
    def rows(self) -> pd.DataFrame:
        """Every stored row (a rerun job appears once per attempt)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=list(COLUMNS))
        return pd.read_csv(self.path, dtype={"known_classes": str, "error": str, "flags": str}, keep_default_na=False,
                           na_values={"auroc": [""], "auprc": [""], "fit_seconds": [""], "score_seconds": [""]})

    def latest(self) -> pd.DataFrame:
        """The last row of each job: what reports use."""
        rows = self.rows()
        return rows.drop_duplicates("job_key", keep="last").reset_index(drop=True)

    def done_keys(self) -> set[str]:
        rows = self.latest()
        return set(rows.loc[rows["status"].isin(DONE_STATUSES), "job_key"])

    # -- writing -------------------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        """Append one row with a single write, then fsync."""
        missing = set(COLUMNS) - set(row)
        if missing:
            raise ValueError(f"row lacks columns {sorted(missing)}")
        append_csv_row(self.path, COLUMNS, row)

    def _repair(self) -> None:
        cut_partial_line(self.path)


def append_csv_row(path: Path, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    """Append ``row`` (header first when the file is new or empty) with a single ``write`` on a
    file opened in append mode, then fsync: a kill at any moment leaves whole rows only, bar a
    partial last line that :func:`cut_partial_line` removes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not path.exists() or path.stat().st_size == 0:
        writer.writerow(columns)
    writer.writerow(["" if row[c] is None else row[c] for c in columns])
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, buffer.getvalue().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def cut_partial_line(path: Path) -> None:
    """Cut a partial last line left by a process killed inside a write."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


def check_output_dir(out_dir: Path) -> None:
    """Fail early, before any work, when ``out_dir`` cannot hold results."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"--out {out_dir} exists and is not a folder; choose a folder path")
    probe = out_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputDirError(f"--out {out_dir}: {probe} is not a writable folder; choose a folder you can write to")


MERGE_NOTE = "merged_from.txt"  # marks a folder whose runs CSV was built by merge_runs


def merge_runs(sources: list[Path], out_dir: Path, detectors: list[str] | None = None) -> pd.DataFrame:
    """Write ``out_dir``'s runs CSV as the union of the runs CSVs of ``sources`` (output folders), the
    last stored row of each job winning in the order given, restricted to ``detectors`` if given.

    For reports over runs made separately (one folder per detector, per policy, per machine): the
    rows are copied as they are, so every report treats them as one run. ``out_dir`` must be new,
    or a folder this function wrote before (it is rebuilt); a folder with a run of its own is refused
    rather than overwritten. Returns the merged rows.
    """
    out_dir = Path(out_dir)
    target = out_dir / RUNS_FILE
    if target.exists() and not (out_dir / MERGE_NOTE).exists():
        raise OutputDirError(f"{target} holds a run of its own (no {MERGE_NOTE}); merge into a new folder")
    frames = []
    for source in sources:
        path = Path(source) / RUNS_FILE
        if Path(source).resolve() == out_dir.resolve():
            raise OutputDirError(f"--merge {source}: that is the --out folder itself")
        if not path.exists():
            raise OutputDirError(f"--merge {source}: no {RUNS_FILE} there")
        frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))  # verbatim: text in, text out
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    if detectors is not None:
        unknown = sorted(set(detectors) - set(rows["detector"]))
        if unknown:
            raise OutputDirError(f"--detectors {', '.join(unknown)}: no rows of {'it' if len(unknown) == 1 else 'them'} "
                                 f"in {', '.join(map(str, sources))}")
        rows = rows[rows["detector"].isin(detectors)]
    rows = rows.drop_duplicates("job_key", keep="last").reset_index(drop=True)
    check_output_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    rows.to_csv(tmp, index=False)
    tmp.replace(target)
    counts = rows.groupby(["selection", "detector"]).size()
    (out_dir / MERGE_NOTE).write_text(
        "runs.csv = the last row of each job from, in this order:\n" + "".join(f"  {s}\n" for s in sources)
        + ("detectors: " + ", ".join(detectors) + "\n" if detectors is not None else "")
        + "jobs per selection and detector:\n" + "".join(f"  {s} {d}: {n}\n" for (s, d), n in counts.items()),
        encoding="utf-8")
    return rows
