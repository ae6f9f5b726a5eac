"""Which version of the code made a row: the detector's computation version and the suite's own.

Every stored row records ``detector_version`` (the detector class's ``computation_version`` for
the job's network family, see :func:`detector_version`) and ``suite_version`` (the installed
package's version). A job key names what a job computes on (data, detector, parameters, policy),
not the code that computed it, so the version is what tells a current row from one that a later
change of the detector made stale:

- a resumed run treats a stored row of another version as not done and reruns it, saying how
  many and why (:func:`benchmark.resume.resume_state`);
- the reports use, per detector and dataset, the rows of the newest version only, and list the
  others (:mod:`benchmark.reports.load`).

A row without a version (written before rows recorded one) is of an unknown version: it is never
taken for the current one. :mod:`benchmark.migrate` marks such rows explicitly.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

DONE_STATUSES = ("ok", "n.a.")  # stored rows that a resumed run does not repeat

PACKAGE = "aabench"
VERSION_COLUMNS = ("detector_version", "suite_version")


@lru_cache(maxsize=1)
def suite_version() -> str:
    """The installed package's version (``pyproject.toml``), or "unknown" when it is not installed."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


def version_of_class(cls: type, arch: str | None) -> int:
    """The computation version of ``cls`` on network family ``arch``.

    ``computation_version`` is the newest; walking down from it, a raise listed in
    ``computation_changes`` that did not touch ``arch`` gives way to the version before it. A class
    without these attributes (a user's detector of the same API) is at version 1.
    """
    current = int(getattr(cls, "computation_version", 1))
    changes = getattr(cls, "computation_changes", {}) or {}
    while current > 1 and current in changes and arch not in changes[current]:
        current -= 1
    return current


def detector_version(detector: str, params: dict[str, Any] | str, dataset: str) -> int | None:
    """The computation version a job of ``detector`` with ``params`` on ``dataset`` gets from the
    code of this process; None when the detector is not registered here (e.g. a plugin not loaded).

    The network family is the ``arch`` parameter when the job sets one, else the dataset's.
    """
    from datasets import DATASETS
    from detectors import get_detector_class

    try:
        cls = get_detector_class(detector)
    except KeyError:
        return None
    if isinstance(params, str):
        try:
            params = json.loads(params) if params else {}
        except json.JSONDecodeError:
            params = {}
    arch = params.get("arch") if isinstance(params, dict) else None
    if arch in (None, "auto"):
        info = DATASETS.get(dataset)
        arch = info.arch if info is not None else None
    return version_of_class(cls, arch)


def stored_versions(rows: pd.DataFrame) -> pd.Series:
    """The ``detector_version`` of each row as a nullable integer; missing (no column, empty
    field, not a number) where the row does not say."""
    if "detector_version" not in rows:
        return pd.Series(pd.NA, index=rows.index, dtype="Int64")
    return pd.to_numeric(rows["detector_version"], errors="coerce").astype("Int64")
