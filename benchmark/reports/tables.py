"""Tables of cells (mean ± std AUROC per detector), as in the paper's Tables 1 and 2.

A cell table is built once (numbers, best flags, significance, failure and missing
marks) and then rendered to markdown, LaTeX and a wide CSV from that one object.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .aggregate import sort_rows, summarize
from .labels import dataset_label, detector_label, format_gamma, order_methods
from .render import latex_block, markdown_block, slug, tex_escape
from .stats import ALPHA, tests_against_best
from .versions import MARK, MARK_TEX

ROW_LABELS = {"dataset": "Dataset", "gamma_l": "γl", "gamma_p": "γp", "k_l": "k_l"}
_TEX_ROW_LABELS = {"dataset": "Dataset", "gamma_l": r"$\gamma_l$", "gamma_p": r"$\gamma_p$", "k_l": r"$k_l$"}

LEGEND = ("Bold: best mean of the row. *: significantly below the row's best (paired Wilcoxon signed-rank "
          "test over the experiments both ran, Holm-corrected within the row, p < {alpha}). †: some jobs of "
          "the cell failed; the mean is over the ok ones (see report.md). ‡: planned jobs missing. "
          "§: rows of another version of the detector: left out of the cell (a newer version's are stored), or "
          "the cell's rows are of another version than the detector's code now (see superseded.csv). "
          "n.a.: detector undefined in this setting.")


@dataclass
class CellTable:
    """Everything one rendered table shows, in long form (one row per cell and method)."""

    name: str
    title: str
    caption: str  # without the title: markdown shows the title as a heading above it
    by: list[str]
    methods: list[str]
    cells: pd.DataFrame
    alpha: float = ALPHA

    def row_keys(self) -> list[tuple]:
        """Row keys in display order."""
        keys = sort_rows(self.cells[self.by].drop_duplicates(), self.by)
        return [tuple(r) for r in keys.itertuples(index=False)]


def build_cell_table(rows: pd.DataFrame, by: list[str], name: str, title: str, context: str,
                     missing: pd.DataFrame | None = None, alpha: float = ALPHA,
                     superseded: pd.DataFrame | None = None) -> CellTable:
    """Aggregate rows into cells, flag the best, test against it, and count failures, gaps and rows
    of another detector version (``superseded``, :mod:`benchmark.reports.versions`).

    ``context`` is the group's caption sentence (policy, protocol, smoke or not); the
    caption adds the experiment counts, which is how a partial cell shows itself.
    """
    summary = summarize(rows, by)
    tests = tests_against_best(rows, summary, by, alpha)
    cells = summary.merge(tests[by + ["method", "n_pairs", "p_raw", "p_holm", "significant", "can_reach"]],
                          on=by + ["method"], how="left")
    cells["significant"] = cells["significant"].fillna(False).astype(bool)
    cells["can_reach"] = cells["can_reach"].astype("boolean")
    shown = cells["mean"].round(1).where(cells["status"] == "ok")
    row_best = shown.groupby([cells[c] for c in by], dropna=False).transform("max")
    cells["best"] = (shown == row_best) & shown.notna()
    cells["n_missing"] = 0
    if missing is not None and not missing.empty and set(by + ["method"]) <= set(missing.columns):
        counts = missing.groupby(by + ["method"]).size().rename("m").reset_index()
        cells = cells.merge(counts, on=by + ["method"], how="left")
        cells["n_missing"] = cells.pop("m").fillna(0).astype(int)
    cells["n_superseded"] = 0
    if superseded is not None and not superseded.empty and set(by + ["method"]) <= set(superseded.columns):
        # outer: a cell whose rows were all left out still shows, as "–" with its mark
        counts = superseded.groupby(by + ["method"]).size().rename("s").reset_index()
        cells = cells.drop(columns="n_superseded").merge(counts, on=by + ["method"], how="outer")
        cells["n_superseded"] = cells.pop("s").fillna(0).astype(int)
        cells["status"] = cells["status"].fillna("empty")
        for col in ("n", "n_failed", "n_na", "n_missing"):
            cells[col] = cells[col].fillna(0).astype(int)
        for col in ("best", "significant"):
            cells[col] = cells[col].astype("boolean").fillna(False).astype(bool)
    n_ok = cells.loc[cells["status"] == "ok", "n"]
    if n_ok.empty:
        count = "no successful experiment (nothing to average)"
    elif n_ok.min() == n_ok.max():
        count = f"{int(n_ok.min())} experiment{'s' if n_ok.min() != 1 else ''} per cell"
    else:
        count = f"{int(n_ok.min())} to {int(n_ok.max())} experiments per cell (see the CSV)"
    caption = f"Mean ± std AUROC (%) over {count}. {_power_note(cells, alpha)}{context}"
    return CellTable(name=name, title=title, caption=caption, by=by, methods=order_methods(cells["method"]),
                     cells=cells, alpha=alpha)


def _power_note(cells: pd.DataFrame, alpha: float) -> str:
    """Say where the paired test could not reach significance at all, so no mark means nothing there."""
    tested = cells["can_reach"].notna()
    blind = int((cells.loc[tested, "can_reach"] == False).sum())  # noqa: E712 - pandas nullable boolean
    if not blind:
        return ""
    scope = "any cell" if blind == int(tested.sum()) else f"{blind} of {int(tested.sum())} comparisons"
    return (f"With this few experiments the paired test cannot reach p < {alpha} in {scope} (the smallest "
            "possible p is 0.5 with 2 pairs, 0.0625 with 5, before Holm multiplies it by the number of tests): "
            "the absence of * says nothing there. ")


def cell_text(cell: pd.Series | None, fmt: str = "md") -> str:
    """One cell as text: 'n.a.', a dash, or mean±std with bold and marks."""
    if cell is None or cell["status"] == "empty":
        return "–" + (MARK if fmt == "md" else MARK_TEX) * int(cell is not None and cell.get("n_superseded", 0) > 0)
    dag = {"md": "†", "tex": r"$^{\dagger}$"}[fmt]
    ddag = {"md": "‡", "tex": r"$^{\ddagger}$"}[fmt]
    star = {"md": "*", "tex": r"$^{*}$"}[fmt]
    pm = {"md": "±", "tex": r"$\pm$"}[fmt]
    sect = {"md": MARK, "tex": MARK_TEX}[fmt]
    marks = (dag if cell["n_failed"] > 0 else "") + (ddag if cell.get("n_missing", 0) > 0 else "") + \
        (sect if cell.get("n_superseded", 0) > 0 else "")
    if cell["status"] == "n.a.":
        return "n.a." + marks
    if cell["status"] == "failed":
        return "failed" + marks
    std = cell["std"]
    text = f"{cell['mean']:.1f}" + ("" if std is None or math.isnan(std) else f"{pm}{std:.1f}")
    if cell["best"]:
        text = f"**{text}**" if fmt == "md" else rf"\textbf{{{text}}}"
    if cell["significant"]:
        text += star
    return text + marks


def _label(col: str, value: object) -> str:
    if col == "dataset":
        return dataset_label(str(value))
    if col in ("gamma_l", "gamma_p"):
        return format_gamma(float(value))
    return str(value)


def _body(table: CellTable, fmt: str) -> tuple[list[list[str]], list[int]]:
    """Rows of cell texts, and the row indices after which the dataset changes (for rules)."""
    index = table.cells.set_index(table.by + ["method"])
    body, rules = [], []
    keys = table.row_keys()
    for i, key in enumerate(keys):
        labels = [_label(c, v) for c, v in zip(table.by, key)]
        if fmt == "tex":
            labels = [tex_escape(x) for x in labels]
        row = labels + [cell_text(index.loc[key + (m,)] if key + (m,) in index.index else None, fmt)
                        for m in table.methods]
        body.append(row)
        if i + 1 < len(keys) and key[0] != keys[i + 1][0]:
            rules.append(i)
    return body, rules


def to_markdown(table: CellTable) -> str:
    """Markdown (pipe) table for terminals and READMEs."""
    headers = [ROW_LABELS.get(c, c) for c in table.by] + [detector_label(m) for m in table.methods]
    body, _ = _body(table, "md")
    return markdown_block(table.title, table.caption, headers, body, LEGEND.format(alpha=table.alpha))


def to_latex(table: CellTable, tag: str) -> str:
    """booktabs LaTeX table, a rule between datasets as in the paper."""
    headers = [_TEX_ROW_LABELS.get(c, tex_escape(c)) for c in table.by] + \
              [tex_escape(detector_label(m)) for m in table.methods]
    body, rules = _body(table, "tex")
    # LaTeX numbers the table itself ("Table 1:"), so the title's own "Table 1: " is dropped.
    title = re.sub(r"^(Table|Figure)\s+\w+:\s*", "", table.title)
    caption = tex_escape(f"{title}. {table.caption} {LEGEND.format(alpha=table.alpha)}")
    return latex_block(caption, f"tab:{slug(table.name)}-{slug(tag)}", headers, body, len(table.by), rules)


def to_wide_csv(table: CellTable, extra: dict[str, object]) -> pd.DataFrame:
    """One row per table row; per detector its mean, std, n, failures, test result and shown text."""
    index = table.cells.set_index(table.by + ["method"])
    records = []
    for key in table.row_keys():
        rec: dict[str, object] = {**extra, **dict(zip(table.by, key))}
        for m in table.methods:
            cell = index.loc[key + (m,)] if key + (m,) in index.index else None
            for field in ("mean", "std", "n", "n_failed", "n_missing", "n_superseded", "status", "best", "p_raw",
                          "p_holm", "significant", "can_reach"):
                rec[f"{m}_{field}"] = (np.nan if cell is None else cell[field])
            rec[f"{m}_cell"] = cell_text(cell, "md").replace("**", "")
        records.append(rec)
    return pd.DataFrame.from_records(records)


def write_cell_table(table: CellTable, out_dir: Path, tag: str, extra: dict[str, object]) -> list[Path]:
    """Write the .md, .tex and wide .csv of one table; returns their paths."""
    stem = out_dir / f"{table.name}_{tag}"
    paths = [stem.with_suffix(".md"), stem.with_suffix(".tex"), stem.with_suffix(".csv")]
    paths[0].write_text(to_markdown(table), encoding="utf-8")
    paths[1].write_text(to_latex(table, tag), encoding="utf-8")
    to_wide_csv(table, extra).to_csv(paths[2], index=False)
    return paths
