"""Figures: AUROC curves with ±1 std bands (Figs. 2 and 3) and critical-difference diagrams.

Drawn with the Agg backend so reports build on headless machines. Every detector has its own
colour, marker and line (:mod:`.styles`), so a grey-scale print still tells them apart, and the
paper's detectors (solid, filled) stand apart from the others (dashed, hollow). What a curve must
not hide is drawn too: bands are clipped to the valid AUROC range [0, 100]; a point that rests on
a single experiment (no std) is ringed; a planned point without a result (failed or missing jobs)
is a cross on the bottom edge. The caption names the selection policy, the protocol version and
the number of experiments behind each point.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import pandas as pd  # noqa: E402
import scikit_posthocs as sp  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .aggregate import summarize  # noqa: E402
from .labels import dataset_label, detector_label, order_datasets, order_methods  # noqa: E402
from .stats import ALPHA, RankResult  # noqa: E402
from .styles import Style, detector_styles, is_paper_detector  # noqa: E402

AUROC_RANGE = (0.0, 100.0)  # in %: bands are clipped to it, the axis never runs past 100


def _save(fig: plt.Figure, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def _count_text(summary: pd.DataFrame) -> str:
    n = summary.loc[summary["status"] == "ok", "n"]
    if n.empty:
        return "no successful experiments"
    return f"n = {int(n.min())} experiment{'s' if n.min() != 1 else ''} per point" if n.min() == n.max() else \
        f"n = {int(n.min())} to {int(n.max())} experiments per point"


def _normals_text(rows: pd.DataFrame) -> str:
    """", over N normal classes" for image experiments (a CPU-scale run has one fixed class pair per
    normal class, so N is its number of pairs), else nothing."""
    if "normal_class" not in rows.columns:
        return ""
    n = rows.loc[rows["normal_class"] >= 0, "normal_class"].nunique()
    return f", over {n} normal class{'es' if n != 1 else ''}" if n else ""


def plot_curves(rows: pd.DataFrame, x: str, xlabel: str, title: str, context: str, stem: Path,
                x_percent: bool = False, missing: pd.DataFrame | None = None,
                styles: dict[str, Style] | None = None) -> list[Path]:
    """One panel per dataset, one line per detector: mean AUROC (%) against ``x`` with a ±1 std band.

    ``missing`` (planned jobs without a row, with ``dataset``, ``x`` and ``method`` columns) adds
    their points to the "no result" marks; ``styles`` (from :func:`.styles.detector_styles` over
    every detector of the report) keeps colours equal across figures. Returns the PNG and PDF paths, or nothing when fewer
    than two x values have an ok result: a single point is a table cell, already in a table.
    """
    full = summarize(rows, ["dataset", x])
    summary = full[full["status"] == "ok"]
    if summary[x].nunique() < 2:
        return []
    gaps = full.loc[full["status"].isin(["failed", "empty"]), ["dataset", x, "method"]]
    if missing is not None and not missing.empty and {"dataset", x, "method"} <= set(missing.columns):
        gaps = pd.concat([gaps, missing[["dataset", x, "method"]]], ignore_index=True)
    gaps = gaps.merge(summary[["dataset", x, "method"]], how="left", indicator=True)
    gaps = gaps[gaps["_merge"] == "left_only"].drop(columns="_merge").drop_duplicates()
    datasets = order_datasets(summary["dataset"])
    methods = order_methods(pd.concat([summary["method"], gaps["method"]]))
    styles = {**detector_styles(methods), **(styles or {})}
    scale = 100.0 if x_percent else 1.0
    marks = {"single": False, "gap": False}
    # Fainter bands the more of them overlap, so that the lines stay readable.
    band_alpha = min(0.15, 0.6 / max(1, sum(styles[m].filled for m in methods)))
    with plt.rc_context({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3}):
        fig, axes = plt.subplots(1, len(datasets), figsize=(4.4 * len(datasets), 3.6), squeeze=False,
                                 sharey=False)
        for ax, ds in zip(axes[0], datasets):
            part = summary[summary["dataset"] == ds]
            for m in methods:
                st = styles[m]
                line = part[part["method"] == m].sort_values(x)
                if not line.empty:
                    xs = line[x] * scale
                    ax.plot(xs, line["mean"], marker=st.marker, linestyle=st.linestyle, color=st.color,
                            markerfacecolor=st.color if st.filled else "white", markeredgecolor=st.color,
                            label=detector_label(m), markersize=5, linewidth=st.linewidth)
                    if st.filled:  # bands for the paper's detectors only: thirteen would hide the lines
                        low = (line["mean"] - line["std"].fillna(0.0)).clip(*AUROC_RANGE)
                        high = (line["mean"] + line["std"].fillna(0.0)).clip(*AUROC_RANGE)
                        ax.fill_between(xs, low, high, color=st.color, alpha=band_alpha, linewidth=0)
                    single = line[line["n"] == 1]
                    if len(single):
                        marks["single"] = True
                        ax.scatter(single[x] * scale, single["mean"], s=110, facecolors="none", edgecolors="black",
                                   linewidths=0.9, zorder=5)
                gap = gaps[(gaps["dataset"] == ds) & (gaps["method"] == m)]
                if len(gap):  # crosses on the bottom edge, side by side so that several stay visible
                    marks["gap"] = True
                    bottom = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
                    shift = (methods.index(m) - (len(methods) - 1) / 2) * 3.0
                    ax.scatter(gap[x] * scale, [0.03] * len(gap), marker="x", color=st.color, s=30, linewidths=1.4,
                               zorder=5, clip_on=False,
                               transform=mtransforms.offset_copy(bottom, fig=fig, x=shift, units="points"))
            ax.set_title(dataset_label(ds))
            ax.set_xlabel(xlabel)
            ax.set_ylabel("AUROC (%)")
            ticks = sorted(set(part[x].unique()) | set(gaps.loc[gaps["dataset"] == ds, x].unique()))
            ax.set_xticks([t * scale for t in ticks])
            low, high = ax.get_ylim()
            ax.set_ylim(max(low, AUROC_RANGE[0]), min(high, AUROC_RANGE[1] + 1.0))
        handles = [Line2D([], [], color=styles[m].color, marker=styles[m].marker, linestyle=styles[m].linestyle,
                          linewidth=styles[m].linewidth, markersize=5, markeredgecolor=styles[m].color,
                          markerfacecolor=styles[m].color if styles[m].filled else "white") for m in methods]
        labels = [detector_label(m) for m in methods]
        if marks["single"]:
            handles.append(Line2D([], [], marker="o", markersize=9, markerfacecolor="none", markeredgecolor="black",
                                  linestyle="none"))
            labels.append("one experiment (no std)")
        if marks["gap"]:
            handles.append(Line2D([], [], marker="x", color="black", linestyle="none"))
            labels.append("planned, no result (failed or missing)")
        ncol = min(len(labels), 5)
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False)
        fig.suptitle(title, fontsize=10)
        has_paper = any(is_paper_detector(m) for m in methods)
        has_other = any(not is_paper_detector(m) for m in methods)
        kinds = ("Solid lines, filled markers: the paper's detectors; dashed, hollow: the others. "
                 if has_paper and has_other else "")
        caption = (f"Lines: mean AUROC over experiments; bands (the paper's detectors only): ±1 std over the "
                   f"experiments, clipped to [0, 100]; {_count_text(summary)}{_normals_text(rows)}. {kinds}{context}")
        width = max(60, int(95 * len(datasets) / 2))
        rows_of_legend = (len(labels) - 1) // ncol + 1
        fig.text(0.5, -0.06 - 0.045 * rows_of_legend, textwrap.fill(caption, width), ha="center", va="top",
                 fontsize=8)
        fig.tight_layout()
        return _save(fig, stem)


def plot_cd(result: RankResult, title: str, context: str, stem: Path, alpha: float = ALPHA,
            styles: dict[str, Style] | None = None, blocks: str = "experiments") -> list[Path]:
    """Critical-difference diagram: average ranks, bars joining detectors the post hoc cannot separate.

    ``blocks`` names what a block of the Friedman test is ("experiments", or "sets" when ranks are
    taken per dataset)."""
    styles = {**detector_styles(order_methods(result.avg_ranks.index)), **(styles or {})}
    colors = {detector_label(m): st.color for m, st in styles.items()}
    ranks = result.avg_ranks.rename(index=detector_label)
    sig = result.posthoc.rename(index=detector_label, columns=detector_label)
    k = len(ranks)
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.22 * k))
        # The CD value goes in the caption: drawn as a bar it collides with the rank axis labels.
        sp.critical_difference_diagram(ranks, sig, ax=ax, alpha=alpha,
                                       label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}", color_palette=colors)
        ax.set_title(title, fontsize=10, pad=22)
        caption = (f"Average rank (1 = best AUROC) over {result.n_blocks} {blocks} where every detector ran "
                   f"({result.n_dropped} incomplete dropped). Friedman p = {result.friedman_p:.2g}; bars join "
                   f"detectors that the {result.posthoc_name} post hoc does not separate at α = {alpha}"
                   f" (Nemenyi critical difference {result.critical_difference:.2f} ranks). {context}")
        fig.text(0.5, -0.02, textwrap.fill(caption, 110), ha="center", va="top", fontsize=7.5)
        return _save(fig, stem)
