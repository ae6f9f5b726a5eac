"""Reports over many tabular sets (ADBench's 43): ranks per set, Friedman/Nemenyi, CD diagrams.

With dozens of sets, Demšar's convention is the one that holds: one block per *set* (its mean
AUROC over seeds), not one per seed, because seeds of one set are not independent samples of the
population of sets the test speaks about; counting them as blocks would shrink the critical
difference by √(number of seeds) for no reason. So the rank table has one row per γl (and one
pooling both γl, where a block is a (set, γl) pair), over the sets where every detector has an ok
mean; how many sets were dropped, and why (n.a., failed), is written next to it. The per-set
numbers go to a long CSV (one row per set, γl and detector, with the rank inside the set and the
n.a. reason), which is what a reader filters or plots.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .aggregate import summarize
from .figures import plot_cd
from .labels import detector_label, format_gamma, order_methods
from .render import format_p, frame_markdown
from .stats import ALPHA, RankResult, rank_analysis

#: Dataset-name prefix of the sets these reports cover (datasets/registry.py names them so).
ADBENCH_PREFIX = "adbench/"
BY = ["dataset", "gamma_l"]


def adbench_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of ADBench's sets."""
    return rows[rows["dataset"].str.startswith(ADBENCH_PREFIX)]


def per_set_long(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (set, γl, detector): mean/std AUROC (%) over seeds, counts, rank in the set, reason if n.a."""
    summary = summarize(rows, BY)
    ok = summary["status"] == "ok"
    summary["rank_in_set"] = summary["mean"].where(ok).groupby([summary[c] for c in BY]).rank(
        ascending=False, method="average")
    summary["n_methods_ranked"] = ok.groupby([summary[c] for c in BY]).transform("sum").astype(int)
    reasons = (rows[rows["status"] != "ok"].groupby(BY + ["method"])["error"]
               .agg(lambda e: next((x for x in e if x), "")).rename("reason").reset_index())
    out = summary.merge(reasons, on=BY + ["method"], how="left")
    out["reason"] = out["reason"].fillna("")
    out = out.sort_values(BY + ["rank_in_set", "method"], na_position="last").reset_index(drop=True)
    return out[BY + ["method", "status", "mean", "std", "n", "n_failed", "n_na", "rank_in_set", "n_methods_ranked",
                     "reason"]]


def set_matrix(long: pd.DataFrame, gamma_l: float | None) -> pd.DataFrame:
    """Mean AUROC per block (a set, or a (set, γl) pair when pooling) × detector; NaN where not ok."""
    part = long if gamma_l is None else long[long["gamma_l"] == gamma_l]
    values = part.assign(value=part["mean"].where(part["status"] == "ok"))
    matrix = values.pivot_table(index=BY, columns="method", values="value", aggfunc="first", dropna=False)
    return matrix.dropna(axis=0, how="all")  # a block without any result is a split that cannot exist


def _feasible(matrix: pd.DataFrame) -> int:
    """Blocks where at least one detector has a result (set_matrix drops the others)."""
    return int(matrix.notna().any(axis=1).sum())


def rank_rows(long: pd.DataFrame) -> list[tuple[str, float | None, RankResult | None, int]]:
    """(label, γl or None for pooled, ranks, blocks available) per γl and pooled."""
    out = []
    for gamma in sorted(long["gamma_l"].unique()):
        matrix = set_matrix(long, float(gamma))
        out.append((f"γl = {format_gamma(float(gamma))}", float(gamma), rank_analysis(matrix), _feasible(matrix)))
    if long["gamma_l"].nunique() > 1:
        matrix = set_matrix(long, None)
        out.append(("both γl (block = set × γl)", None, rank_analysis(matrix), _feasible(matrix)))
    return out


def rank_frame(ranked: list[tuple[str, float | None, RankResult | None, int]]) -> pd.DataFrame:
    """The average-rank table: one row per γl (and pooled), one column per detector."""
    methods = order_methods({m for _, _, r, _ in ranked if r is not None for m in r.avg_ranks.index})
    records = []
    for label, _, res, blocks in ranked:
        rec: dict[str, object] = {"scope": label, "sets": "–" if res is None else f"{res.n_blocks} of {blocks}"}
        for m in methods:
            rec[detector_label(m)] = "–" if res is None or m not in res.avg_ranks else f"{res.avg_ranks[m]:.2f}"
        rec["Friedman p"] = "–" if res is None else format_p(res.friedman_p)
        rec["CD (Nemenyi)"] = "–" if res is None else f"{res.critical_difference:.2f}"
        records.append(rec)
    return pd.DataFrame.from_records(records)


def write_many_set_reports(rows: pd.DataFrame, context: str, tag: str, report_dir: Path, extra: dict[str, object],
                           alpha: float = ALPHA) -> tuple[list[Path], str]:
    """Per-set long CSV, average ranks per γl with Friedman/Nemenyi, CD diagrams; '' when no ADBench rows."""
    rows = adbench_rows(rows)
    if rows.empty:
        return [], ""
    long = per_set_long(rows)
    written: list[Path] = []
    csv_path = report_dir / f"adbench_per_set_{tag}.csv"
    long.assign(**extra).to_csv(csv_path, index=False)
    written.append(csv_path)
    ranked = rank_rows(long)
    frame = rank_frame(ranked)
    n_sets = long["dataset"].nunique()
    caption = (f"Average rank of the mean AUROC over seeds (1 = best), one block per set ({n_sets} ADBench sets "
               f"in the run); only sets where every detector has an ok result count ('sets': used of those with "
               f"any result; a set without any is a split that cannot exist at that γl, a dropped one has an n.a. or failed detector: see "
               f"adbench_per_set_{tag}.csv). Friedman p over those sets; CD: Nemenyi critical difference at "
               f"α = {alpha}, in ranks. {context}")
    text = frame_markdown(frame, "Average ranks over ADBench's classical sets", caption)
    md_path = report_dir / f"ranks_adbench_{tag}.md"
    md_path.write_text(text, encoding="utf-8")
    frame.assign(**extra).to_csv(md_path.with_suffix(".csv"), index=False)
    written += [md_path, md_path.with_suffix(".csv")]
    for label, gamma, res, _ in ranked:
        if res is None:
            continue
        suffix = "all" if gamma is None else f"gl{format_gamma(gamma).lstrip('.')}"
        res.posthoc.to_csv(report_dir / f"posthoc_adbench_{suffix}_{tag}.csv")
        written.append(report_dir / f"posthoc_adbench_{suffix}_{tag}.csv")
        written += plot_cd(res, f"Critical difference, ADBench classical sets, {label}",
                           f"One block per set (mean over seeds). {context}",
                           report_dir / f"cd_adbench_{suffix}_{tag}", alpha,
                           blocks="sets" if gamma is not None else "(set, γl) pairs")
    return written, text

