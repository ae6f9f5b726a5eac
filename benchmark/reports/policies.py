"""What a selection policy changes: the same cells run under ``paper`` and under another policy.

A run (or a merge of runs, ``run_benchmark.py --report-only --merge``) that holds both ``paper`` and,
say, ``strict`` rows for the same settings gets one more report: per cell (every experiment column
but the seed, and the detector), the mean AUROC over seeds under each policy and their difference;
per detector, the mean, median, spread and extremes of that difference over the cells, how many
cells the other policy does better in, and the two-sided Wilcoxon signed-rank test over the cells
(one pair per cell, Demšar's unit; the seeds of one cell are not independent samples). Cells
where either policy has no ok result (n.a., failed) are left out and counted. Groups are matched
on everything but the policy (protocol version, smoke or not, scale, data caps), so numbers of different
settings are never subtracted from each other.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .aggregate import summarize, unique_experiments
from .labels import dataset_label, detector_label, format_gamma, order_methods
from .load import EXPERIMENT_COLS, Group, split_groups
from .render import format_p, frame_markdown
from .stats import paired_wilcoxon

#: The policy the others are compared against (the AA-BiGAN code's, docs/methods.md §2).
BASE_POLICY = "paper"
#: A cell: one setting of one experiment, all seeds together.
CELL_COLS: list[str] = [c for c in EXPERIMENT_COLS if c != "seed"]


def policy_cells(base_rows: pd.DataFrame, other_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, detector) that both policies ran: mean AUROC (%) under each, counts and
    statuses, and ``diff`` = other − base (NaN where either has no ok result)."""
    cols = CELL_COLS + ["method"]
    base = summarize(unique_experiments(base_rows), CELL_COLS)[cols + ["mean", "n", "status"]]
    other = summarize(unique_experiments(other_rows), CELL_COLS)[cols + ["mean", "n", "status"]]
    cells = base.merge(other, on=cols, suffixes=("_base", "_other"), how="inner")
    both_ok = (cells["status_base"] == "ok") & (cells["status_other"] == "ok")
    cells["diff"] = (cells["mean_other"] - cells["mean_base"]).where(both_ok)
    return cells.sort_values(cols, kind="stable").reset_index(drop=True)


def _where(row: pd.Series) -> str:
    """A cell's name for a reader: the dataset, its normal and known classes where it has classes
    (images), γl, and γp and k_l where they are not the tables' defaults (0 and 1)."""
    parts = [dataset_label(row["dataset"])]
    if int(row["normal_class"]) >= 0:
        parts.append(f"normal {row['normal_class']} known {row['known_classes'] or '–'}")
    parts.append(f"γl {format_gamma(row['gamma_l'])}")
    if row["gamma_p"]:
        parts.append(f"γp {format_gamma(row['gamma_p'])}")
    if int(row["k_l"]) != 1:
        parts.append(f"k_l {row['k_l']}")
    return " ".join(parts)


SUMMARY_COLUMNS = ["method", "cells", "cells_left_out", "base_mean", "other_mean", "mean_diff", "median_diff",
                   "std_diff", "min_diff", "min_cell", "max_diff", "max_cell", "better", "worse", "p_wilcoxon"]


def policy_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Per detector: the distribution of ``diff`` over its cells and the signed-rank test (NaN where
    no cell has a result under both policies)."""
    out = []
    for method in order_methods(cells["method"].unique()):
        part = cells[cells["method"] == method]
        ok = part[part["diff"].notna()]
        row: dict[str, object] = {"method": method, "cells": len(ok), "cells_left_out": len(part) - len(ok)}
        if len(ok):
            diff = ok["diff"]
            lo, hi = ok.loc[diff.idxmin()], ok.loc[diff.idxmax()]
            row.update(base_mean=ok["mean_base"].mean(), other_mean=ok["mean_other"].mean(), mean_diff=diff.mean(),
                       median_diff=diff.median(), std_diff=diff.std(ddof=1) if len(ok) > 1 else np.nan,
                       min_diff=lo["diff"], min_cell=_where(lo), max_diff=hi["diff"], max_cell=_where(hi),
                       better=int((diff > 0).sum()), worse=int((diff < 0).sum()),
                       p_wilcoxon=paired_wilcoxon(ok["mean_other"].to_numpy(), ok["mean_base"].to_numpy())[1])
        out.append(row)
    return pd.DataFrame(out).reindex(columns=SUMMARY_COLUMNS)


def _pairs(groups: list[tuple[Group, pd.DataFrame]]) -> list[tuple[Group, pd.DataFrame, Group, pd.DataFrame]]:
    """(base group, its rows, other group, its rows) for every non-base group with a base twin."""
    def twin_key(group: Group) -> tuple:
        return group.protocol_version, group.smoke, group.data_cap, group.scale

    bases = {twin_key(g): (g, rows) for g, rows in groups if g.selection == BASE_POLICY}
    return [(*bases[twin_key(g)], g, rows) for g, rows in groups
            if g.selection != BASE_POLICY and twin_key(g) in bases]


def _signed(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:+.2f}".replace("-", "−")


def summary_markdown(summary: pd.DataFrame, base: str, other: str, context: str) -> str:
    """The per-detector table with its caption."""
    shown = pd.DataFrame({
        "Detector": summary["method"].map(detector_label),
        "Cells": summary["cells"].astype(str),
        f"{base}": summary["base_mean"].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}"),
        f"{other}": summary["other_mean"].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}"),
        "Mean Δ": summary["mean_diff"].map(_signed),
        "Median Δ": summary["median_diff"].map(_signed),
        "Std Δ": summary["std_diff"].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}"),
        "Min Δ (cell)": [f"{_signed(v)} ({c})" if isinstance(c, str) else "–"
                         for v, c in zip(summary["min_diff"], summary["min_cell"])],
        "Max Δ (cell)": [f"{_signed(v)} ({c})" if isinstance(c, str) else "–"
                         for v, c in zip(summary["max_diff"], summary["max_cell"])],
        f"Better under {other}": [f"{b:.0f} of {n}" if n else "–"
                                  for b, n in zip(summary["better"].fillna(0), summary["cells"])],
        "Wilcoxon p": summary["p_wilcoxon"].map(format_p),
    })
    return frame_markdown(
        shown, f"What changes from `{base}` to `{other}` (AUROC %, per cell: mean over seeds)",
        f"Δ = {other} − {base} per cell (dataset, classes, γl, γp, k_l), the mean AUROC over the seeds each policy "
        f"ran; columns {base} and {other}: the mean of those cell means. Cells where either policy has no ok "
        "result are left out. Wilcoxon: two-sided signed-rank test over the cells (scipy). "
        f"The other settings are the same in both groups. {context}")


def write_policy_reports(jobs: pd.DataFrame, report_dir: Path) -> tuple[list[Path], list[str]]:
    """For every policy with a ``paper`` twin group in ``jobs``: a per-cell CSV, a per-detector CSV and
    markdown. Returns the paths and the markdown sections for the index."""
    written: list[Path] = []
    sections: list[str] = []
    for base_group, base_rows, other_group, other_rows in _pairs(split_groups(jobs)):
        cells = policy_cells(base_rows, other_rows)
        if cells.empty:
            continue
        summary = policy_summary(cells)
        stem = f"policy_{other_group.selection}_vs_{base_group.selection}_{base_group.tag}"
        extra = {"base_policy": base_group.selection, "other_policy": other_group.selection,
                 "protocol_version": base_group.protocol_version}
        cells_path, summary_path = report_dir / f"{stem}_cells.csv", report_dir / f"{stem}.csv"
        cells.assign(**extra).to_csv(cells_path, index=False)
        summary.assign(**extra).to_csv(summary_path, index=False)
        context = f"Groups {base_group.tag} and {other_group.tag}."
        text = summary_markdown(summary, base_group.selection, other_group.selection, context)
        md_path = report_dir / f"{stem}.md"
        md_path.write_text(text, encoding="utf-8")
        written += [cells_path, summary_path, md_path]
        sections.append(f"## {other_group.selection} against {base_group.selection}\n\n"
                        + "\n".join(f"- [{p.name}]({p.name})" for p in (cells_path, summary_path, md_path))
                        + "\n\n" + text)
    return written, sections
