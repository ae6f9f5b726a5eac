"""Exceptions for data problems, and the one message layout they all share.

Every failure a user can fix by moving files around (missing, truncated, wrong checksum,
wrong format) is a :class:`DataError`.  The message always says which file, where the loader
looked, and what to do about it, because the person reading it is usually running a long
benchmark on a machine where "file not found" alone does not say which of several data
folders was used.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

#: How to point the loaders at another data folder; appended to every fix.
DATA_DIR_HINT = (
    "or point the loader at a data folder that has it: --data-dir DIR on the command line, "
    "load_dataset(..., data_dir=DIR), or the environment variable BENCH_DATA_DIR=DIR"
)


class DataError(Exception):
    """A data file is missing, corrupt or of the wrong kind; the message says how to fix it."""


class UnknownDatasetError(DataError, ValueError):
    """The dataset name is not in the registry; the message lists the valid names."""


def problem_message(
    dataset: str,
    problem: str,
    *,
    file: Path | str | None = None,
    searched: Iterable[Path | str] = (),
    fix: str | None = None,
    notes: Iterable[str] = (),
) -> str:
    """Lay out a multi-line message: what went wrong, with which file, where, and the fix."""
    lines = [f"{dataset}: {problem}"]
    if file is not None:
        lines.append(f"  file: {file}")
    searched = [str(s) for s in searched]
    if searched:
        lines.append("  searched: " + "; ".join(searched))
    lines.extend(f"  {note}" for note in notes)
    if fix:
        lines.append(f"  fix: {fix}")
    return "\n".join(lines)


class MissingDataError(DataError):
    """Raised when source files are absent, so the loader can try a download and retry.

    It keeps its parts rather than a finished string so that the outcome of the download
    attempt (skipped, not available, failed and why) can be added to the same message.
    """

    def __init__(
        self,
        dataset: str,
        missing: Sequence[Path],
        *,
        searched: Sequence[str],
        fix: str,
        notes: Sequence[str] = (),
    ) -> None:
        self.dataset = dataset
        self.missing = tuple(missing)
        self.searched = tuple(searched)
        self.fix = fix
        self.notes = tuple(notes)
        super().__init__(self._render())

    def _render(self) -> str:
        names = ", ".join(p.name for p in self.missing)
        problem = f"missing file{'s' if len(self.missing) > 1 else ''} {names}"
        notes = [f"not found: {p}" for p in self.missing] + list(self.notes)
        return problem_message(
            self.dataset, problem, searched=self.searched, fix=self.fix, notes=notes
        )

    def with_note(self, note: str) -> "MissingDataError":
        """A copy with one more line (e.g. why a download did not help)."""
        return MissingDataError(
            self.dataset,
            self.missing,
            searched=self.searched,
            fix=self.fix,
            notes=(*self.notes, note),
        )
