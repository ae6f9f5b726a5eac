"""What the figures and Table 1 show, as numbers with their uncertainty.

**Curves (Fig. 2: AUROC against γp; Fig. 3: AUROC against k_l).** For each dataset and method,
the unit of every statistic is a *class pair*: the experiments of one normal class (and seed)
along the whole curve. At the ``cpu`` scale each normal class has one known class, so a unit is
one (normal, known) pair; at the paper's size a unit averages the nine known classes of its
normal class at each point (the k_l = 0 point has one experiment per normal class, so that is
the finest unit every point shares). With ``Y[u, j]`` the AUROC (%) of unit ``u`` at point
``x_j`` (the points where the method has results, in order), and only the units that have every
one of those points:

- change: ``mean_u (Y[u, last] − Y[u, first])``, the curve's fall or rise from its first to its
  last point;
- slope: the least-squares slope of the mean curve against x, which equals the mean of the
  units' own least-squares slopes (x is the same for every unit). γp is taken in percent, so the
  slope is in AUROC points per percentage point of pollution; k_l per known class;
- each with a paired bootstrap interval: units are drawn with replacement, each carrying its
  whole curve, so that the pairing across points is kept (scipy.stats.bootstrap, percentile
  method, :data:`N_RESAMPLES` resamples, fixed seed: the tables are reproducible);
- against AA-BiGAN: per unit, the method's change minus AA-BiGAN's change over the same two
  points, on the units both have; its mean with a bootstrap interval, and the two-sided Wilcoxon
  signed-rank test of the per-unit changes (scipy.stats.wilcoxon). With n units the exact test
  cannot go below p = 2 / 2**n (0.002 with 10, 0.031 with 6).

**Table 1 against the paper.** Per setting (dataset, γl): the rank of each method by mean AUROC
here and in the paper (1 = best, ties averaged), over the methods that have a number in both;
Kendall's τ-b between the two orderings and its p (scipy.stats.kendalltau; with five to seven
methods only a near-perfect agreement or reversal is significant); and per cell the difference
from the paper in units of the paper's std over its 90 experiments, ``(ours − paper) / paper_std``,
flagged where it is beyond two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scistats

from .aggregate import fig2_rows, fig3_rows
from .labels import dataset_label, detector_label, format_gamma, order_datasets, order_methods
from .load import ok_auroc_percent
from .render import format_p, frame_markdown
from .stats import paired_wilcoxon

REFERENCE_METHOD = "aa-bigan"
CONFIDENCE = 0.95
N_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
UNIT_COLS = ["normal_class", "seed"]
#: Beyond this many paper stds a Table 1 cell is flagged.
STD_FLAG = 2.0

#: name, row filter, x column, x factor (γp in %), x label, unit of the slope, file stem.
CURVES = (
    ("fig2", fig2_rows, "gamma_p", 100.0, "γp", "per percentage point of γp", "trends_fig2_pollution"),
    ("fig3", fig3_rows, "k_l", 1.0, "k_l", "per known class", "trends_fig3_diversity"),
)

TREND_COLUMNS = ["figure", "dataset", "method", "x", "first_x", "last_x", "n_points", "n_pairs", "mean_first",
                 "mean_last", "change", "change_low", "change_high", "slope", "slope_low", "slope_high",
                 "slope_unit", "reference", "n_pairs_vs_reference", "change_vs_reference",
                 "change_vs_reference_low", "change_vs_reference_high", "p_wilcoxon_vs_reference"]


def unit_curves(rows: pd.DataFrame, x: str) -> pd.DataFrame:
    """AUROC (%) per unit (rows: dataset, method, normal class, seed) and point (columns: x values);
    the mean over the unit's ok experiments at that point, NaN where it has none."""
    frame = rows.assign(value=ok_auroc_percent(rows))
    means = frame.groupby(["dataset", "method"] + UNIT_COLS + [x])["value"].mean()
    return means.unstack(x).sort_index(axis=1)


def complete_units(curves: pd.DataFrame) -> pd.DataFrame:
    """The points where any unit has a value, and the units that have all of them."""
    points = curves.columns[curves.notna().any(axis=0)]
    return curves[points].dropna(axis=0, how="any")


def slopes(values: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``values`` against ``xs``."""
    centred = xs - xs.mean()
    return (values - values.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)


def bootstrap_mean_interval(values: np.ndarray, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                            seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per unit): NaN without
    units; the value itself with one unit or with identical values (a distribution of one point)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return float("nan"), float("nan")
    if len(values) == 1 or np.all(values == values[0]):
        return float(values.mean()), float(values.mean())
    res = scistats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def curve_trends(rows: pd.DataFrame, x: str, x_factor: float = 1.0, reference: str = REFERENCE_METHOD,
                 confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """One row per (dataset, method) with at least two points: change and slope with their
    bootstrap intervals, and the paired comparison of the change with ``reference``'s (see the
    module text). ``x_factor`` scales x before the slope (100: γp in percent)."""
    curves = unit_curves(rows, x)
    records = []
    for dataset in order_datasets(curves.index.get_level_values("dataset")):
        part = curves.xs(dataset, level="dataset")
        ref_curves = part.xs(reference, level="method") if reference in part.index.get_level_values("method") else None
        for method in order_methods(part.index.get_level_values("method")):
            mine = complete_units(part.xs(method, level="method"))
            if mine.shape[1] < 2 or mine.empty:
                continue
            xs = np.asarray(mine.columns, dtype=float) * x_factor
            values = mine.to_numpy()
            change_u = values[:, -1] - values[:, 0]
            slope_u = slopes(values, xs)
            rec = {"dataset": dataset, "method": method, "x": x, "first_x": mine.columns[0],
                   "last_x": mine.columns[-1], "n_points": mine.shape[1], "n_pairs": len(mine),
                   "mean_first": values[:, 0].mean(), "mean_last": values[:, -1].mean(),
                   "change": change_u.mean(), "slope": slope_u.mean(), "reference": reference}
            rec["change_low"], rec["change_high"] = bootstrap_mean_interval(change_u, confidence, n_resamples, seed)
            rec["slope_low"], rec["slope_high"] = bootstrap_mean_interval(slope_u, confidence, n_resamples, seed)
            if ref_curves is not None and method != reference:
                ref = ref_curves.reindex(columns=mine.columns)
                common = mine.index.intersection(ref.dropna(subset=[mine.columns[0], mine.columns[-1]]).index)
                ours = mine.loc[common]
                theirs = ref.loc[common]
                d_mine = (ours.iloc[:, -1] - ours.iloc[:, 0]).to_numpy()
                d_ref = (theirs.iloc[:, -1] - theirs.iloc[:, 0]).to_numpy()
                diff = d_mine - d_ref
                rec["n_pairs_vs_reference"] = len(common)
                if len(common):
                    rec["change_vs_reference"] = diff.mean()
                    rec["change_vs_reference_low"], rec["change_vs_reference_high"] = \
                        bootstrap_mean_interval(diff, confidence, n_resamples, seed)
                    rec["p_wilcoxon_vs_reference"] = paired_wilcoxon(d_mine, d_ref)[1]
            records.append(rec)
    out = pd.DataFrame.from_records(records)
    return out.reindex(columns=[c for c in TREND_COLUMNS if c != "figure"])


def _signed(value: float, digits: int = 1) -> str:
    return "–" if pd.isna(value) else f"{value:+.{digits}f}".replace("-", "−")


def _interval(value: float, low: float, high: float, digits: int = 1) -> str:
    if pd.isna(value):
        return "–"
    return f"{_signed(value, digits)} [{_signed(low, digits)}, {_signed(high, digits)}]"


def _x_text(value: object, x: str) -> str:
    return format_gamma(float(value)) if x.startswith("gamma") else str(int(value))


def trends_markdown(trends: pd.DataFrame, title: str, x_label: str, slope_unit: str, context: str,
                    reference: str = REFERENCE_METHOD, confidence: float = CONFIDENCE) -> str:
    """The trend table of one figure, one block of rows per dataset."""
    pct = f"{confidence:.0%}"
    ref = detector_label(reference)
    shown = pd.DataFrame({
        "Dataset": trends["dataset"].map(dataset_label),
        "Detector": trends["method"].map(detector_label),
        f"{x_label}": [f"{_x_text(a, trends['x'].iloc[0])} → {_x_text(b, trends['x'].iloc[0])}"
                       for a, b in zip(trends["first_x"], trends["last_x"])],
        "Pairs": trends["n_pairs"].astype(int).astype(str),
        "AUROC first → last": [f"{a:.1f} → {b:.1f}" for a, b in zip(trends["mean_first"], trends["mean_last"])],
        f"Change [{pct}]": [_interval(v, lo, hi) for v, lo, hi in
                            zip(trends["change"], trends["change_low"], trends["change_high"])],
        f"Slope [{pct}]": [_interval(v, lo, hi, 2) for v, lo, hi in
                           zip(trends["slope"], trends["slope_low"], trends["slope_high"])],
        f"Change − {ref}'s [{pct}]": [_interval(v, lo, hi) for v, lo, hi in
                                       zip(trends["change_vs_reference"], trends["change_vs_reference_low"],
                                           trends["change_vs_reference_high"])],
        "Wilcoxon p": trends["p_wilcoxon_vs_reference"].map(format_p),
    })
    caption = (f"AUROC in %. Unit of every statistic: a class pair (one normal class with its known class, "
               f"followed along the whole curve); Pairs: how many have every point of the detector's curve. "
               f"Change: last point − first point, mean over the pairs. Slope: least-squares slope of the mean "
               f"curve, AUROC points {slope_unit}. [{pct}]: paired percentile bootstrap over the pairs "
               f"({N_RESAMPLES:,} resamples). Change − {ref}'s: per pair, this detector's change minus {ref}'s "
               f"over the same two points; Wilcoxon p: two-sided signed-rank test of the two changes over the "
               f"pairs both ran. {context}")
    return frame_markdown(shown, title, caption)


def write_trend_reports(rows: pd.DataFrame, context: str, tag: str, report_dir: Path, extra: dict[str, object],
                        title_suffix: str = "") -> tuple[list[Path], list[str]]:
    """The trend table (CSV and markdown) of each figure that has a curve in ``rows``."""
    written: list[Path] = []
    texts: list[str] = []
    for figure, filt, x, factor, x_label, unit, stem_name in CURVES:
        part = filt(rows)
        if part.empty:
            continue
        trends = curve_trends(part, x, factor)
        if trends.empty:
            continue
        trends.insert(0, "figure", figure)
        trends["slope_unit"] = unit
        stem = report_dir / f"{stem_name}_{tag}"
        trends.assign(**extra).to_csv(stem.with_suffix(".csv"), index=False)
        title = ("Figure 2 trends: AUROC against pollution γp" if figure == "fig2"
                 else "Figure 3 trends: AUROC against the number of known anomaly classes k_l") + title_suffix
        text = trends_markdown(trends, title, x_label, unit, context)
        stem.with_suffix(".md").write_text(text, encoding="utf-8")
        written += [stem.with_suffix(".md"), stem.with_suffix(".csv")]
        texts.append(text)
    return written, texts


# -- Table 1 against the paper's ranking ---------------------------------------------------------

AGREEMENT_COLUMNS = ["dataset", "gamma_l", "n_methods", "kendall_tau", "p_kendall", "ranking_ours",
                     "ranking_paper", "cells_beyond_two_std"]
CELL_COLUMNS = ["dataset", "gamma_l", "method", "ours_mean", "ours_n", "paper_mean", "paper_std", "rank_ours",
                "rank_paper", "diff", "diff_in_paper_std", "beyond_two_std"]


def std_units(ours: pd.Series | np.ndarray, paper: pd.Series | np.ndarray,
              paper_std: pd.Series | np.ndarray) -> np.ndarray:
    """``(ours − paper) / paper_std``: a cell's distance from the paper in the paper's stds (NaN
    where the paper gives no positive std)."""
    ours, paper, sd = (np.asarray(v, dtype=float) for v in (ours, paper, paper_std))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, (ours - paper) / sd, np.nan)


def ranking_agreement(ours: np.ndarray, paper: np.ndarray) -> tuple[float, float]:
    """Kendall's τ-b between two sets of scores of the same methods, and its two-sided p (NaN
    with fewer than two methods or when one side is constant)."""
    ours, paper = np.asarray(ours, dtype=float), np.asarray(paper, dtype=float)
    if len(ours) < 2 or np.all(ours == ours[0]) or np.all(paper == paper[0]):
        return float("nan"), float("nan")
    res = scistats.kendalltau(ours, paper)
    return float(res.statistic), float(res.pvalue)


def table1_agreement(comparison: pd.DataFrame, flag: float = STD_FLAG) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per setting (dataset, γl) the agreement of the rankings, and per cell the ranks and the
    difference in paper stds. ``comparison`` is :func:`.reproduction.compare_to_paper`'s frame;
    only cells with a number on both sides take part."""
    both = comparison[comparison["paper_mean"].notna() & comparison["ours_mean"].notna()].copy()
    cells, settings = [], []
    for (dataset, gamma_l), part in both.groupby(["dataset", "gamma_l"], sort=False):
        part = part.copy()
        part["rank_ours"] = scistats.rankdata(-part["ours_mean"].to_numpy())
        part["rank_paper"] = scistats.rankdata(-part["paper_mean"].to_numpy())
        part["diff"] = part["ours_mean"] - part["paper_mean"]
        part["diff_in_paper_std"] = std_units(part["ours_mean"], part["paper_mean"], part["paper_std"])
        part["beyond_two_std"] = part["diff_in_paper_std"].abs() > flag
        tau, p = ranking_agreement(part["ours_mean"].to_numpy(), part["paper_mean"].to_numpy())

        def ranking(col: str) -> str:
            """Best to worst; tied methods joined by '='."""
            ordered = part.sort_values([col, "method"])
            text = ""
            for i, (m, r) in enumerate(zip(ordered["method"], ordered[col])):
                text += ("" if i == 0 else (" = " if r == previous else " > ")) + detector_label(m)
                previous = r
            return text
        settings.append({"dataset": dataset, "gamma_l": gamma_l, "n_methods": len(part), "kendall_tau": tau,
                         "p_kendall": p, "ranking_ours": ranking("rank_ours"), "ranking_paper": ranking("rank_paper"),
                         "cells_beyond_two_std": ", ".join(detector_label(m) for m in
                                                           part.loc[part["beyond_two_std"], "method"])})
        cells.append(part)
    cell_frame = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=CELL_COLUMNS)
    return pd.DataFrame(settings, columns=AGREEMENT_COLUMNS), cell_frame.reindex(columns=CELL_COLUMNS)


def ranking_markdown(settings: pd.DataFrame, context: str, title_suffix: str = "") -> str:
    """The rankings per setting of :func:`table1_agreement`, as one markdown table."""
    shown = pd.DataFrame({
        "Dataset": settings["dataset"].map(dataset_label),
        "γl": settings["gamma_l"].map(format_gamma),
        "Methods": settings["n_methods"].astype(str),
        "Kendall τ": settings["kendall_tau"].map(lambda v: "–" if pd.isna(v) else f"{v:+.2f}".replace("-", "−")),
        "p": settings["p_kendall"].map(format_p),
        "Ranking here": settings["ranking_ours"],
        "Ranking in the paper": settings["ranking_paper"],
        f"Beyond {STD_FLAG:g} paper stds": settings["cells_beyond_two_std"].replace("", "none"),
    })
    return frame_markdown(
        shown, "Table 1: the ranking of the methods here and in the paper" + title_suffix,
        "Per setting (dataset, γl), over the methods with a mean AUROC both here and in the paper: the methods from "
        "best to worst here and in the paper, Kendall's τ-b between the two orderings (1: same order, −1: "
        "reversed) and its two-sided p (scipy; with this few methods only a near-perfect agreement can reach "
        f"p < .05), and the cells more than {STD_FLAG:g} of the paper's stds (over its 90 experiments) away from "
        f"the paper's mean. {context}")


def agreement_markdown(settings: pd.DataFrame, cells: pd.DataFrame, context: str, title_suffix: str = "") -> str:
    """Two markdown tables from :func:`table1_agreement`: the rankings per setting, then each cell."""
    per_cell = pd.DataFrame({
        "Dataset": cells["dataset"].map(dataset_label),
        "γl": cells["gamma_l"].map(format_gamma),
        "Detector": cells["method"].map(detector_label),
        "Here": cells["ours_mean"].map(lambda v: f"{v:.1f}"),
        "Paper": [f"{m:.1f}±{s:.1f}" for m, s in zip(cells["paper_mean"], cells["paper_std"])],
        "Rank here": cells["rank_ours"].map(lambda v: f"{v:g}"),
        "Rank in paper": cells["rank_paper"].map(lambda v: f"{v:g}"),
        "Diff": cells["diff"].map(_signed),
        "Diff / paper std": [("–" if pd.isna(v) else _signed(v, 2)) + (" **" if b else "")
                             for v, b in zip(cells["diff_in_paper_std"], cells["beyond_two_std"])],
    })
    return ranking_markdown(settings, context, title_suffix) + "\n" + frame_markdown(
        per_cell, "Table 1: each cell against the paper" + title_suffix,
        "Rank: 1 = best mean of the setting (ties averaged). Diff = here − paper, AUROC points; Diff / paper std: "
        f"the same in units of the paper's std over its 90 experiments; ** beyond {STD_FLAG:g}. {context}")


def write_table1_agreement(comparison: pd.DataFrame, context: str, tag: str, report_dir: Path,
                           extra: dict[str, object], title_suffix: str = "") -> tuple[list[Path], str]:
    """Table 1's agreement with the paper: two CSVs (per setting, per cell) and one markdown file."""
    settings, cells = table1_agreement(comparison)
    if settings.empty:
        return [], ""
    stem = report_dir / f"agreement_table1_{tag}"
    settings.assign(**extra).to_csv(stem.with_suffix(".csv"), index=False)
    cells_path = report_dir / f"agreement_table1_cells_{tag}.csv"
    cells.assign(**extra).to_csv(cells_path, index=False)
    text = agreement_markdown(settings, cells, context, title_suffix)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), cells_path], text
