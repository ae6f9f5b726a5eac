"""Which rows feed which table or figure, and the per-cell numbers (mean, std, counts).

The paper's settings are written here once (docs/methods.md §2-3), so a reader can check
that Table 1 really is γp = 0 with one known class, and that Fig. 3 uses γl = .05.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .labels import ODDS_DATASETS, canonical_dataset, is_tabular
from .load import EXPERIMENT_COLS, ok_auroc_percent

SUMMARY_COLS = ["mean", "std", "n", "n_failed", "n_na", "status"]


def unique_experiments(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, method): the same experiment run by two suites counts once.

    An ok row beats a failed one; among equals the last written wins, as for job keys.
    """
    rank = (rows["status"] == "ok").astype(int)
    ordered = rows.assign(_ok=rank, _pos=np.arange(len(rows))).sort_values(["_ok", "_pos"], kind="stable")
    keep = ordered.drop_duplicates(EXPERIMENT_COLS + ["method"], keep="last")
    return keep.sort_values("_pos").drop(columns=["_ok", "_pos"])


def _image_mask(rows: pd.DataFrame) -> pd.Series:
    return ~pd.Series([is_tabular(d, c) for d, c in zip(rows["dataset"], rows["normal_class"])],
                      index=rows.index, dtype=bool)


def table1_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Image sets, no pollution, one known class (none at γl = 0): the paper's Table 1."""
    mask = _image_mask(rows) & (rows["gamma_p"] == 0) & rows["k_l"].isin([0, 1])
    return rows[mask]


def table2_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """ODDS sets at γl = .01, γp = 0: the paper's tabular table."""
    odds = rows["dataset"].map(canonical_dataset).isin(ODDS_DATASETS)  # not ADBench's sets (many_sets.py)
    mask = ~_image_mask(rows) & odds & (rows["gamma_l"] == 0.01) & (rows["gamma_p"] == 0)
    return rows[mask]


def fig2_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Image sets at γl = .05 with one known class, every γp: the pollution figure."""
    mask = _image_mask(rows) & (rows["gamma_l"] == 0.05) & (rows["k_l"] == 1)
    return rows[mask]


def fig3_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Image sets at γp = .1, γl = .05, every k_l: the diversity figure.

    k_l = 0 means no collected anomalies, which a runner may record as γl = 0 or keep
    at .05; both are accepted for that point only.
    """
    gl = rows["gamma_l"]
    mask = _image_mask(rows) & (rows["gamma_p"] == 0.1) & (
        ((gl == 0.05) & (rows["k_l"] >= 1)) | ((rows["k_l"] == 0) & gl.isin([0.0, 0.05])))
    return rows[mask]


def summarize(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and sample std (ddof 1) of AUROC in % over the ok experiments of each cell.

    Status of a cell: "ok" when any experiment succeeded, "n.a." when the detector is
    undefined there (and nothing failed), "failed" when only failures exist.
    """
    frame = rows.assign(value=ok_auroc_percent(rows),
                        is_failed=rows["status"].eq("failed"), is_na=rows["status"].eq("n.a."))
    grouped = frame.groupby(by + ["method"], sort=False, dropna=False)
    out = grouped.agg(mean=("value", "mean"), std=("value", lambda v: v.std(ddof=1)),
                      n=("value", "count"), n_failed=("is_failed", "sum"), n_na=("is_na", "sum")).reset_index()
    out["n_failed"] = out["n_failed"].astype(int)
    out["n_na"] = out["n_na"].astype(int)
    out["status"] = np.select([out["n"] > 0, out["n_failed"] > 0, out["n_na"] > 0], ["ok", "failed", "n.a."], "empty")
    return out


def experiment_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """AUROC (%) per experiment (rows) and method (columns); NaN where not ok.

    This is the pairing that the Wilcoxon and Friedman tests need: one block per split.
    """
    frame = rows.assign(value=ok_auroc_percent(rows))
    values = frame.groupby(EXPERIMENT_COLS + ["method"], sort=True)["value"].first()
    return values.unstack("method")


def sort_rows(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort rows the way the paper lists them: its dataset order, then ascending numbers."""
    from .labels import order_datasets

    if frame.empty:
        return frame
    cols = [c for c in by if c in frame]

    def key(s: pd.Series) -> pd.Series:
        if s.name == "dataset":
            order = {d: i for i, d in enumerate(order_datasets(s.dropna().unique()))}
            return s.map(order)
        return s
    return frame.sort_values(cols, key=key, kind="stable").reset_index(drop=True)
