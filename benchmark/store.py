"""The results store: one long-format CSV row per job, appended atomically, resumable.

Each row is rendered in full and written with one ``write`` on a file opened in append mode (a
short write is completed, or the file is cut back and the error raised), then flushed to disk,
so a run killed at any moment leaves whole rows only, bar a partial last line when the kill,
a full disk or a lost connection falls inside the write. Every reader of a runs CSV reads it
through :func:`read_runs_csv`, which leaves such a line out and says so once; a run that takes
the folder cuts it off. Only the main process writes, under a lock on the output folder, so two
runs never interleave.

Every row records the computation version of its detector and the suite's version
(:mod:`benchmark.versions`). A runs CSV written before rows recorded them is refused by a run
until :mod:`benchmark.migrate` marks its rows.
"""
from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from filelock import FileLock, Timeout

from .resume import resume_state
from .versions import VERSION_COLUMNS

if TYPE_CHECKING:
    from .resume import ResumeState

RUNS_FILE = "runs.csv"
LOCK_FILE = ".run.lock"

COLUMNS = (
    "job_key", "suite", "protocol_version", "dataset", "normal_class", "known_classes", "k_l",
    "gamma_l", "gamma_p", "seed", "selection", "scale", "max_train_normals", "max_test", "detector",
    "detector_params", "detector_version", "status", "error", "auroc", "auprc", "n_train", "n_collected", "n_test",
    "fit_seconds", "score_seconds", "device", "selected_epoch", "selected_score", "flags",
    "suite_version", "versions", "timestamp", "rerun",
)


class OutputDirError(RuntimeError):
    """The output folder cannot be used (not a folder, not writable, or locked by another run)."""


class ResultsStore:
    """The runs CSV of one output folder."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RUNS_FILE
        self._lock: FileLock | None = None
        self._header_checked = False

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
        try:
            check_versions_recorded(self.path)
        except OutputDirError:
            self.release()
            raise
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
        """Every whole stored row (a rerun job appears once per attempt), see :func:`read_runs_csv`."""
        rows = read_runs_csv(self.path, dtype={"known_classes": str, "error": str, "flags": str}, keep_default_na=False,
                             na_values={"auroc": [""], "auprc": [""], "fit_seconds": [""], "score_seconds": [""]})
        return pd.DataFrame(columns=list(COLUMNS)) if rows is None else rows

    def latest(self) -> pd.DataFrame:
        """The last row of each job: what reports use."""
        rows = self.rows()
        return rows.drop_duplicates("job_key", keep="last").reset_index(drop=True)

    def resume(self, jobs: list) -> "ResumeState":
        """Which of ``jobs`` are stored as done by their detector's current version, and which
        stored rows are of another version (:func:`benchmark.resume.resume_state`)."""

        return resume_state(jobs, self.latest())

    # -- writing -------------------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        """Append one row with a single write, then fsync."""
        missing = set(COLUMNS) - set(row)
        if missing:
            raise ValueError(f"row lacks columns {sorted(missing)}")
        if not self._header_checked:
            header = _header(self.path)
            if header and header != list(COLUMNS):
                raise OutputDirError(f"{self.path} has the columns {header}, not those this version of the suite "
                                     f"writes: appended rows would not line up with them")
            self._header_checked = True
        append_csv_row(self.path, COLUMNS, row)

    def _repair(self) -> None:
        cut_partial_line(self.path)
        add_missing_columns(self.path, COLUMNS)


def append_csv_row(path: Path, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    """Append ``row`` (header first when the file is new or empty) with one ``write`` on a file
    opened in append mode, then fsync: a kill at any moment leaves whole rows only, bar a partial
    last line that the readers leave out (:func:`read_runs_csv`) and :func:`cut_partial_line` removes.

    ``os.write`` may write fewer bytes than asked (a signal, a network file system); the rest is
    written until the row is whole. A write that fails (a full disk) or makes no progress cuts the
    file back to where it was and raises, so no later row is glued to a fragment.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not path.exists() or path.stat().st_size == 0:
        writer.writerow(columns)
    writer.writerow(["" if row[c] is None else row[c] for c in columns])
    data = memoryview(buffer.getvalue().encode())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(fd).st_size
        try:
            while data:
                written = os.write(fd, data)
                if written <= 0:
                    raise OSError(f"writing a row to {path}: the file system accepted no bytes "
                                  f"({len(data)} still to write)")
                data = data[written:]
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def complete_length(data: bytes) -> int:
    """The length of the longest prefix of ``data`` made of whole CSV records: up to the last line
    end that lies outside a quoted field (a quoted field may hold line ends of its own)."""
    end = len(data)
    while end > 0:
        if data[end - 1:end] == b"\n" and data.count(b'"', 0, end) % 2 == 0:
            return end
        end = data.rfind(b"\n", 0, end - 1) + 1
    return 0


_TORN_SAID: set[tuple[str, bytes]] = set()  # (file, fragment) already reported by this process


def _say_torn(path: Path, fragment: bytes, action: str) -> None:
    """Warn (once per file and fragment) that a partial last line was ``action``."""
    key = (str(Path(path).resolve()), fragment)
    if key in _TORN_SAID:
        return
    _TORN_SAID.add(key)
    preview = fragment[:80].decode("utf-8", "replace") + ("..." if len(fragment) > 80 else "")
    print(f"warning: {path}: its last line is incomplete ({len(fragment)} bytes, a write cut short by a kill, a "
          f"full disk or a lost connection) and was {action}: {preview!r}", file=sys.stderr)


def read_runs_csv(path: Path, **read_csv: Any) -> pd.DataFrame | None:
    """The whole rows of a runs CSV as ``pd.read_csv(**read_csv)`` reads them; None when the file is
    missing or holds nothing whole. A partial last line is left out, with a warning."""
    path = Path(path)
    if not path.exists():
        return None
    data = path.read_bytes()
    end = complete_length(data)
    if end < len(data):
        _say_torn(path, data[end:], "left out (a run on this folder removes it)")
    if end == 0 or not data[:end].strip():
        return None
    return pd.read_csv(io.BytesIO(data[:end]), **read_csv)


def cut_partial_line(path: Path) -> None:
    """Cut a partial last line left by a write cut short (see :func:`complete_length`), with a warning."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        end = complete_length(data)
        if end < len(data):
            _say_torn(path, data[end:], "removed")
            handle.truncate(end)


def _header(path: Path) -> list[str]:
    """The column names of a CSV file ([] when there is none)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def check_versions_recorded(path: Path) -> None:
    """Refuse a runs CSV written before rows recorded their versions: a run would rerun all of it.

    Its rows are marked by :mod:`benchmark.migrate` with the versions in force when they were made;
    nothing here guesses them.
    """

    header = _header(path)
    lacking = [c for c in VERSION_COLUMNS if c not in header]
    if header and lacking:
        raise OutputDirError(
            f"{path} was written before rows recorded the version of their detector and of the suite (no "
            f"{', '.join(lacking)} column), so a run cannot tell which rows are current; mark them first with: "
            f"python -m benchmark.migrate {path.parent}  (see docs/methods.md, 'Versions of a result')")


def add_missing_columns(path: Path, columns: tuple[str, ...]) -> None:
    """Rewrite a runs CSV whose header lacks some of ``columns`` (written before they existed) with
    them added, empty, in ``columns``' order, so that rows appended in the current layout line up.

    The old rows are copied as text; an empty value means "not recorded" and each reader gives
    it its meaning (an empty ``scale``: the suite's own settings, the only scale there was). The
    file is replaced in one step (a temporary file, then a rename).
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if not set(columns) - set(header):
        return
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = [c for c in rows.columns if c not in columns]
    rows = rows.reindex(columns=list(columns) + extra, fill_value="")
    tmp = path.with_suffix(".tmp")
    rows.to_csv(tmp, index=False)
    tmp.replace(path)


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
    """Write ``out_dir``'s runs CSV as the union of the runs CSVs of ``sources`` (output folders), one
    row per job, restricted to ``detectors`` if given.

    For reports over runs made separately (one folder per detector, per policy, per machine): the
    rows are copied as they are, so every report treats them as one run; of two rows of one job, the
    one of the newer detector version wins (then the later one). ``out_dir`` must be new,
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
        check_versions_recorded(path)
        frame = read_runs_csv(path, dtype=str, keep_default_na=False)  # verbatim: text in, text out
        if frame is not None:
            frames.append(frame)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    if detectors is not None:
        unknown = sorted(set(detectors) - set(rows["detector"]))
        if unknown:
            raise OutputDirError(f"--detectors {', '.join(unknown)}: no rows of {'it' if len(unknown) == 1 else 'them'} "
                                 f"in {', '.join(map(str, sources))}")
        rows = rows[rows["detector"].isin(detectors)]
    version = pd.to_numeric(rows["detector_version"], errors="coerce").fillna(-1)
    order = rows.assign(_v=version, _pos=range(len(rows))).sort_values(["_v", "_pos"], kind="stable")
    winners = order.drop_duplicates("job_key", keep="last").sort_values("_pos").index
    rows = rows.loc[winners].reset_index(drop=True)
    check_output_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    rows.to_csv(tmp, index=False)
    tmp.replace(target)
    counts = rows.groupby(["selection", "detector"]).size()
    (out_dir / MERGE_NOTE).write_text(
        "runs.csv = one row of each job (the newest detector version, then the last) from, in this order:\n" + "".join(f"  {s}\n" for s in sources)
        + ("detectors: " + ", ".join(detectors) + "\n" if detectors is not None else "")
        + "jobs per selection and detector:\n" + "".join(f"  {s} {d}: {n}\n" for (s, d), n in counts.items()),
        encoding="utf-8")
    return rows
