"""Read the runs CSV into one clean frame, and split it into report groups.

Everything downstream trusts this module for three things: one row per job (the last
attempt wins, so a rerun after a failure replaces the failure), comparable keys (the
γ values rounded so that 0.05 written twice is equal, known classes as text), and a
``method`` column that separates two configurations of one detector instead of
silently averaging them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import POLICY_DESCRIPTIONS
from .versions import job_superseded, newest_per_job, split_superseded

#: The scale of rows that do not name one (written before rows recorded it): each suite's own settings.
PAPER_SCALE = "paper"


def scale_description(name: str) -> str:
    """What a scale is (benchmark.scales), for captions; the name alone for a scale not defined here."""
    from ..scales import SCALES

    return SCALES[name].description if name in SCALES else f"scale {name!r}, not defined in this version"

#: The columns that define an experiment: every detector of one experiment sees the same split.
EXPERIMENT_COLS: list[str] = ["dataset", "normal_class", "known_classes", "k_l", "gamma_l", "gamma_p", "seed"]

_TEXT_COLS = ("job_key", "suite", "protocol_version", "dataset", "known_classes", "selection", "scale", "detector",
              "detector_params", "status", "error", "flags", "rerun", "device", "versions", "timestamp")
_INT_COLS = ("normal_class", "k_l", "seed")
_FLOAT_COLS = ("gamma_l", "gamma_p", "auroc", "auprc", "fit_seconds", "score_seconds")


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the columns we key on one dtype each; used for runs and for planned jobs alike."""
    out = frame.copy()
    for col in _TEXT_COLS:
        if col in out:
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else str(v))
    if "known_classes" in out:
        # A single class may have been written as 1.0 by a spreadsheet round trip.
        out["known_classes"] = out["known_classes"].map(
            lambda s: ";".join(str(int(float(p))) if re.fullmatch(r"-?\d+(\.0+)?", p) else p
                               for p in s.split(";") if p != ""))
    for col in _INT_COLS:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").fillna(-1).astype(int)
    for col in _FLOAT_COLS:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in ("gamma_l", "gamma_p"):
        if col in out:
            out[col] = out[col].round(6)
    if "status" in out:
        out["status"] = out["status"].str.strip().str.lower()
    if "scale" in out:
        out["scale"] = out["scale"].replace("", PAPER_SCALE)
    return out


def read_runs(path: Path | str) -> pd.DataFrame:
    """Load the runs CSV (text columns kept as text) and prepare it, see :func:`prepare_runs`."""
    return prepare_runs(read_raw_runs(path))


def read_raw_runs(path: Path | str) -> pd.DataFrame:
    """The whole rows of a runs CSV, text columns as text; a partial last line (a write cut short) is
    left out with a warning (:func:`benchmark.store.read_runs_csv`)."""
    from ..store import read_runs_csv

    raw = read_runs_csv(Path(path), dtype={c: str for c in _TEXT_COLS}, keep_default_na=True)
    if raw is None:
        raise ValueError(f"{path} holds no whole line, not even the header")
    return raw


def prepare_runs(raw: pd.DataFrame) -> pd.DataFrame:
    """The rows the reports use, see :func:`prepare_runs_and_superseded`."""
    return prepare_runs_and_superseded(raw)[0]


def prepare_runs_and_superseded(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one row per job_key (the newest detector version's, then the last), normalise dtypes,
    add the ``method`` and ``smoke`` columns, and take out the rows of an older detector version
    (:mod:`benchmark.reports.versions`); returns the rows the reports use and the listed ones.

    A row with status "ok" but no AUROC is demoted to "failed": a number that is not
    there must not quietly shrink a cell's experiment count.
    """
    runs = normalise(raw if "scale" in raw else raw.assign(scale=PAPER_SCALE))
    replaced = job_superseded(runs)
    runs = newest_per_job(runs).reset_index(drop=True)
    bad = (runs["status"] == "ok") & runs["auroc"].isna()
    runs.loc[bad, "status"] = "failed"
    errors = runs.loc[bad, "error"]
    runs.loc[bad, "error"] = errors.where(errors != "", "status ok without an AUROC")
    runs["smoke"] = runs["suite"].str.lower().eq("smoke")
    runs["data_cap"] = _data_caps(runs)
    runs["method"] = _method_names(runs)
    if not replaced.empty:
        replaced = replaced.assign(smoke=replaced["suite"].str.lower().eq("smoke"), data_cap=_data_caps(replaced),
                                   method=replaced["detector"])
    return split_superseded(runs, replaced)


def _data_caps(runs: pd.DataFrame) -> pd.Series:
    """Describe subsampled data (max_train_normals, max_test), empty for the full protocol.

    Capped rows are not the paper's settings whatever their suite, so they form their
    own group and say so in every caption (rows of a named scale say it through their scale).
    """
    text = pd.Series("", index=runs.index, dtype=object)
    for col, name in (("max_train_normals", "training normals"), ("max_test", "test samples")):
        if col in runs:
            value = pd.to_numeric(runs[col], errors="coerce")
            part = value.map(lambda v, n=name: "" if pd.isna(v) else f"{n} capped at {int(v)}")
            text = text.str.cat(part.astype(object), sep=", ").str.strip(", ")
    return text.astype(str)


def _method_names(runs: pd.DataFrame) -> pd.Series:
    """Detector name, suffixed with its parameters only where one report group ran several configurations."""
    method = runs["detector"].copy()
    keys = ["smoke", "scale", "data_cap", "selection", "protocol_version", "detector"]
    several = runs.groupby(keys)["detector_params"].transform("nunique") > 1
    suffix = runs.loc[several, "detector_params"].map(_short_params)
    method[several] = runs.loc[several, "detector"] + "[" + suffix + "]"
    return method


def _short_params(params: str) -> str:
    """Compact a JSON parameter string for a column header."""
    return re.sub(r'[{}"\s]', "", params)[:40]


@dataclass(frozen=True)
class Group:
    """One report unit: rows of one selection policy, protocol version, scale and kind of settings.

    Policies and scales are never averaged together: each group gets its own files, and the tag
    in every file name says which group it is.
    """

    selection: str
    protocol_version: str
    smoke: bool
    data_cap: str = ""
    scale: str = "paper"

    @property
    def tag(self) -> str:
        """File-name suffix, e.g. ``paper_v1``, ``smoke_strict_v1`` or ``cpu_paper_v1``."""
        kind = ["smoke"] if self.smoke else ([self.scale] if self.scale != PAPER_SCALE else
                                            (["capped"] if self.data_cap else []))
        parts = kind + [self.selection or "unknown", f"v{self.protocol_version}"]
        return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", part) for part in parts)

    @property
    def caption(self) -> str:
        """Sentence naming policy, protocol and settings, appended to every caption."""
        desc = POLICY_DESCRIPTIONS.get(self.selection, "policy not described in docs/methods.md")
        text = (f"Selection policy: {self.selection} ({desc}); protocol version {self.protocol_version}.")
        if self.scale != PAPER_SCALE:
            cap = f"; {self.data_cap}" if self.data_cap else ""
            text = (f"{self.scale.upper()} SCALE ({scale_description(self.scale)}{cap}), not the paper's size. "
                    + text)
        if self.smoke:
            cap = f"; {self.data_cap}" if self.data_cap else ""
            text = f"SMOKE SETTINGS (reduced data and training{cap}), not the paper's protocol. " + text
        elif self.data_cap:
            text = f"REDUCED DATA ({self.data_cap}), not the paper's protocol. " + text
        return text


def split_groups(runs: pd.DataFrame) -> list[tuple[Group, pd.DataFrame]]:
    """Split runs into groups, in a stable order (real settings before smoke, then by scale and policy)."""
    out = []
    runs = runs if "scale" in runs else runs.assign(scale=PAPER_SCALE)
    keys = ["smoke", "scale", "data_cap", "selection", "protocol_version"]
    for (smoke, scale, cap, selection, version), rows in runs.groupby(keys, sort=True):
        out.append((Group(selection=selection, protocol_version=version, smoke=bool(smoke), data_cap=cap,
                          scale=scale), rows))
    return out


def ok_auroc_percent(rows: pd.DataFrame) -> pd.Series:
    """AUROC in % for ok rows, NaN elsewhere: the unit of every published number."""
    return (rows["auroc"] * 100.0).where(rows["status"] == "ok", np.nan)
