"""Statistical tests behind the tables: paired Wilcoxon against the best, ranks, Friedman.

Cells of these tables differ by less than their std, so a bold maximum alone says
little. Every test pairs detectors on the same experiments (same split), which is
the design that makes the differences meaningful. The tests themselves come from
scipy, scikit-posthocs and statsmodels (Holm); only the bookkeeping lives here.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .aggregate import experiment_matrix, sort_rows
from .labels import order_methods

ALPHA = 0.05


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values; NaN entries (tests that could not run) stay NaN and do not count."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def paired_wilcoxon(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """scipy's two-sided signed-rank test with its defaults; (NaN, NaN) without pairs.

    Identical samples have no signed ranks at all: that is no evidence of a
    difference, so p = 1 rather than an undefined value.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) == 0:
        return float("nan"), float("nan")
    if np.all(x - y == 0):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.wilcoxon(x, y)
    return float(res.statistic), float(res.pvalue)


def smallest_wilcoxon_p(n_pairs: int) -> float:
    """The smallest two-sided p the exact signed-rank test can give with ``n_pairs`` pairs: 2 / 2**n.

    It is reached when every difference has the same sign; scipy uses the exact distribution for
    samples this small. With two pairs it is 0.5, with five 0.0625: no difference, however large,
    can be significant at α = .05 below six experiments.
    """
    return 1.0 if n_pairs < 1 else min(1.0, 2.0 ** (1 - n_pairs))


def can_reach(n_pairs: int, n_tests: int, alpha: float = ALPHA) -> bool:
    """Whether one of ``n_tests`` Holm-corrected tests with ``n_pairs`` pairs could fall below ``alpha``."""
    return n_tests * smallest_wilcoxon_p(n_pairs) < alpha


def tests_against_best(rows: pd.DataFrame, summary: pd.DataFrame, by: list[str],
                       alpha: float = ALPHA) -> pd.DataFrame:
    """For each cell, test every detector against the one with the best mean.

    Pairs are the experiments where both have an ok result. The Holm correction runs
    over the detectors of one cell, the family a reader compares when scanning a row.
    ``can_reach`` says whether the test could be significant at all with that many pairs
    (:func:`can_reach`): where it cannot, a missing mark is no evidence of a tie.
    """
    records = []
    for key, cell in summary.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ok = cell[cell["status"] == "ok"]
        if ok.empty:
            continue
        ordered = ok.set_index("method").loc[order_methods(ok["method"])]
        best = ordered["mean"].idxmax()
        mask = np.ones(len(rows), dtype=bool)
        for col, val in zip(by, key):
            mask &= (rows[col] == val).to_numpy()
        matrix = experiment_matrix(rows[mask])
        cell_records = []
        for method in ordered.index:
            if method == best:
                continue
            pair = matrix[[method, best]].dropna() if method in matrix else pd.DataFrame(columns=[method, best])
            stat, p = paired_wilcoxon(pair[method].to_numpy(), pair[best].to_numpy())
            cell_records.append(dict(zip(by, key), method=method, best=best, n_pairs=len(pair),
                                     mean_diff=float((pair[method] - pair[best]).mean()) if len(pair) else np.nan,
                                     statistic=stat, p_raw=p))
        adjusted = holm([r["p_raw"] for r in cell_records])
        n_tests = int(np.isfinite([r["p_raw"] for r in cell_records]).sum())
        for rec, p_adj in zip(cell_records, adjusted):
            rec["p_holm"] = p_adj
            rec["significant"] = bool(np.isfinite(p_adj) and p_adj < alpha)
            rec["can_reach"] = bool(rec["n_pairs"] > 0 and can_reach(rec["n_pairs"], max(n_tests, 1), alpha))
        records.extend(cell_records)
    columns = by + ["method", "best", "n_pairs", "mean_diff", "statistic", "p_raw", "p_holm", "significant",
                    "can_reach"]
    return pd.DataFrame.from_records(records, columns=columns)


@dataclass
class RankResult:
    """Average ranks (1 = best) over complete blocks, with the Friedman test and its post hoc."""

    avg_ranks: pd.Series
    n_blocks: int
    n_dropped: int
    friedman_stat: float
    friedman_p: float
    posthoc: pd.DataFrame
    posthoc_name: str
    critical_difference: float


def rank_analysis(matrix: pd.DataFrame, alpha: float = ALPHA) -> RankResult | None:
    """Friedman test with a Nemenyi post hoc over the experiments where every detector ran.

    Detectors undefined in the whole scope are dropped first; then blocks with any
    gap are dropped (Friedman needs complete blocks), and the count is reported so a
    reader sees how much data the ranks rest on. None when fewer than two detectors
    or two blocks remain.
    """
    matrix = matrix.dropna(axis=1, how="all")
    complete = matrix.dropna(axis=0, how="any")
    k, n = complete.shape[1], complete.shape[0]
    if k < 2 or n < 2:
        return None
    complete = complete[order_methods(complete.columns)]
    ranks = complete.rank(axis=1, ascending=False, method="average").mean(axis=0)
    if k >= 3:
        stat, p = stats.friedmanchisquare(*[complete[c].to_numpy() for c in complete.columns])
        posthoc = sp.posthoc_nemenyi_friedman(complete.to_numpy())
        posthoc.index = posthoc.columns = complete.columns
        name = "Nemenyi"
    else:
        stat, p = paired_wilcoxon(complete.iloc[:, 0].to_numpy(), complete.iloc[:, 1].to_numpy())
        posthoc = pd.DataFrame([[1.0, p], [p, 1.0]], index=complete.columns, columns=complete.columns)
        name = "Wilcoxon signed-rank"
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    cd = float(q * np.sqrt(k * (k + 1) / (6.0 * n)))
    return RankResult(avg_ranks=ranks, n_blocks=n, n_dropped=len(matrix) - n, friedman_stat=float(stat),
                      friedman_p=float(p), posthoc=posthoc, posthoc_name=name, critical_difference=cd)


def rank_table(rows: pd.DataFrame, by: list[str], pooled: pd.DataFrame | None,
               pooled_label: str = "all") -> tuple[pd.DataFrame, RankResult | None]:
    """Average ranks per cell plus one pooled row; returns the table and the pooled analysis.

    ``pooled`` is the subset of rows over which the critical-difference diagram is
    drawn (e.g. Table 1 without γl = 0, where two detectors are undefined).
    """
    records = []
    for key, cell in rows.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        res = rank_analysis(experiment_matrix(cell))
        if res is not None:
            records.append({**dict(zip(by, key)), "n_blocks": res.n_blocks, **res.avg_ranks.to_dict(),
                            "friedman_p": res.friedman_p})
    records = sort_rows(pd.DataFrame.from_records(records), by).to_dict("records") if records else []
    pooled_res = rank_analysis(experiment_matrix(pooled)) if pooled is not None and len(pooled) else None
    if pooled_res is not None:
        label = {col: (pooled_label if i == 0 else "") for i, col in enumerate(by)}
        records.append({**label, "n_blocks": pooled_res.n_blocks, **pooled_res.avg_ranks.to_dict(),
                        "friedman_p": pooled_res.friedman_p})
    table = pd.DataFrame.from_records(records)
    if not table.empty:
        methods = order_methods([c for c in table.columns if c not in by + ["n_blocks", "friedman_p"]])
        table = table[by + ["n_blocks"] + methods + ["friedman_p"]]
    return table, pooled_res
