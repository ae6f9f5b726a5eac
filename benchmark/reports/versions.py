"""Rows of different detector versions: the reports use the newest and list the others.

A row records the computation version of its detector (:mod:`benchmark.versions`). Two versions of
one detector compute different things, so the reports never average them into one cell:

- of two rows of one job, the newer version's is kept (then the later one), whatever the order of
  the rows (a merge may put an older folder last);
- per report group, method and dataset, only the rows of the newest version stored are used; the
  older ones are **left out** of every table and figure;
- rows kept whose version differs from the version the detector's code has now (stored before a
  change of the detector, not rerun yet) stay in the tables, as the newest there is, but are
  **outdated**.

Both kinds are listed (``superseded.csv`` in the reports folder, with the reason for each row) and
every cell that holds one is marked. Versions compare within a dataset only: a detector whose
change touched one network family has different current versions on different datasets.

A runs CSV without a ``detector_version`` column (written before rows recorded it) is not
relabelled here: its rows are used as they are, and :func:`versions_note` says that their versions
cannot be told apart until :mod:`benchmark.migrate` marks them.
"""
from __future__ import annotations

import pandas as pd

from ..versions import detector_version, stored_versions

LISTED_COLUMNS = ["job_key", "suite", "selection", "protocol_version", "dataset", "normal_class", "known_classes",
                  "k_l", "gamma_l", "gamma_p", "seed", "detector", "method", "detector_params", "status", "auroc",
                  "detector_version", "newest_version", "in_tables", "reason"]
_GROUP_KEYS = ("smoke", "data_cap", "scale", "selection", "protocol_version")
MARK = "§"
MARK_TEX = r"$^{\S}$"


def _version_rank(runs: pd.DataFrame) -> pd.Series:
    """The stored version as a number to sort by; a row without one ranks below every version."""
    return stored_versions(runs).astype("Float64").fillna(-1.0).astype(float)


def newest_per_job(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per ``job_key``: the newest detector version's, then the last written."""
    if "detector_version" not in runs:
        return runs.drop_duplicates("job_key", keep="last")
    ordered = runs.assign(_v=_version_rank(runs), _pos=range(len(runs))).sort_values(["_v", "_pos"], kind="stable")
    kept = ordered.drop_duplicates("job_key", keep="last").sort_values("_pos")
    return runs.loc[kept.index]


def job_superseded(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows that an attempt of the same job by a newer version replaced (earlier attempts of the same
    version, e.g. a failure then its rerun, are not listed: they are attempts, not versions)."""
    if "detector_version" not in raw or raw.empty:
        return raw.iloc[0:0]
    rank = _version_rank(raw)
    best = rank.groupby(raw["job_key"]).transform("max")
    return raw[rank < best].assign(newest_version=best[rank < best].astype(int))


def _code_versions(runs: pd.DataFrame) -> pd.Series:
    """The version each row's detector has in this process's code (NA where it is not registered)."""
    cache: dict[tuple[str, str, str], int | None] = {}
    values = []
    for det, params, dataset in zip(runs["detector"], runs["detector_params"], runs["dataset"]):
        key = (det, params, dataset)
        if key not in cache:
            cache[key] = detector_version(det, params, dataset)
        values.append(cache[key])
    return pd.Series(values, index=runs.index, dtype="Int64")


def split_superseded(runs: pd.DataFrame, replaced: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs`` (one row per job, with ``method``, ``smoke`` and ``data_cap``) as (rows the reports
    use, rows to list); ``replaced`` are rows :func:`job_superseded` took out earlier, listed too.

    The listed frame has :data:`LISTED_COLUMNS`: ``in_tables`` tells a left-out row from an
    outdated one that is kept, ``newest_version`` is the version the row gave way to (the newest
    stored, or the code's), and ``reason`` says it in words.
    """
    empty = pd.DataFrame(columns=LISTED_COLUMNS)
    if "detector_version" not in runs or runs.empty:
        return runs, empty
    version = stored_versions(runs)
    rank = _version_rank(runs)
    keys = [c for c in _GROUP_KEYS if c in runs] + ["method", "dataset"]
    newest = rank.groupby([runs[c] for c in keys], dropna=False).transform("max")
    left_out = rank < newest
    code = _code_versions(runs)
    outdated = ~left_out & code.notna() & (version.isna() | (version != code)).fillna(True)
    listed = []
    for mask, versions, in_tables, reason in [
            (left_out, newest, False, "left out: rows of version {v} of {d} on {ds} are stored"),
            (outdated, code, True, "kept, outdated: the code of {d} is at version {v} on {ds}; rerun to replace")]:
        if mask.any():
            part = runs[mask].copy()
            part["newest_version"] = versions[mask].astype(int)
            part["in_tables"] = in_tables
            part["reason"] = [reason.format(v=v, d=d, ds=ds)
                              for v, d, ds in zip(part["newest_version"], part["detector"], part["dataset"])]
            listed.append(part)
    if replaced is not None and not replaced.empty:
        part = replaced.copy()
        part["in_tables"] = False
        part["reason"] = "left out: a newer version's row of the same job is stored"
        listed.append(part)
    frame = pd.concat(listed, ignore_index=True) if listed else empty
    frame["detector_version"] = stored_versions(frame) if len(frame) else frame["detector_version"]
    columns = LISTED_COLUMNS + [c for c in _GROUP_KEYS if c in runs and c not in LISTED_COLUMNS]
    return runs[~left_out].reset_index(drop=True), frame.reindex(columns=columns)


def versions_note(raw: pd.DataFrame) -> str:
    """A sentence for runs that do not record versions ("" when they do)."""
    if "detector_version" in raw or raw.empty:
        return ""
    return ("These rows carry no detector_version (written before rows recorded it): rows of different versions "
            "of a detector cannot be told apart here. `python -m benchmark.migrate FOLDER` marks them with the "
            "version in force when they were made.")


def summary_line(listed: pd.DataFrame) -> str:
    """One sentence on the listed rows for the console and report.md ("" when there are none)."""
    if listed.empty:
        return ""
    out = int((~listed["in_tables"].astype(bool)).sum())
    kept = len(listed) - out
    per = listed.groupby("detector").size()
    who = ", ".join(f"{d} {n}" for d, n in per.items())
    return (f"{len(listed)} rows of another version of their detector ({who}): {out} left out of the tables "
            f"(a newer version's rows are stored), {kept} kept but outdated (the detector's code is at another "
            f"version; rerun them to replace). Cells that hold them are marked {MARK}; each row and its reason "
            "are in superseded.csv.")
