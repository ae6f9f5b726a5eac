"""Figures: AUROC curves with ±1 std bands (Figs. 2 and 3) and critical-difference diagrams.

Drawn with the Agg backend so reports build on headless machines. Every line has
its own marker and dash pattern as well as its colour, so a grey-scale print still
tells the detectors apart; the caption under each figure names the selection
policy, the protocol version and the number of experiments behind each point.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import scikit_posthocs as sp  # noqa: E402
import seaborn as sns  # noqa: E402

from .aggregate import summarize  # noqa: E402
from .labels import dataset_label, detector_label, order_datasets, order_methods  # noqa: E402
from .stats import ALPHA, RankResult  # noqa: E402

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p"]
DASHES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (6, 2))]


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


def plot_curves(rows: pd.DataFrame, x: str, xlabel: str, title: str, context: str, stem: Path,
                x_percent: bool = False) -> list[Path]:
    """One panel per dataset, one line per detector: mean AUROC (%) against ``x`` with a ±1 std band.

    Returns the PNG and PDF paths, or nothing when fewer than two x values have an ok
    result: a single point is a table cell, not a curve, and is already in a table.
    """
    summary = summarize(rows, ["dataset", x])
    summary = summary[summary["status"] == "ok"]
    if summary[x].nunique() < 2:
        return []
    datasets = order_datasets(summary["dataset"])
    methods = order_methods(summary["method"])
    palette = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    with plt.rc_context({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3}):
        fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False,
                                 sharey=False)
        for ax, ds in zip(axes[0], datasets):
            part = summary[summary["dataset"] == ds]
            for i, m in enumerate(methods):
                line = part[part["method"] == m].sort_values(x)
                if line.empty:
                    continue
                xs = line[x] * (100.0 if x_percent else 1.0)
                std = line["std"].fillna(0.0)
                ax.plot(xs, line["mean"], marker=MARKERS[i % len(MARKERS)], linestyle=DASHES[i % len(DASHES)],
                        color=palette[m], label=detector_label(m), markersize=5, linewidth=1.4)
                if len(line) > 1:
                    ax.fill_between(xs, line["mean"] - std, line["mean"] + std, color=palette[m], alpha=0.12,
                                    linewidth=0)
                else:  # a band needs two points; one point shows its std as an error bar
                    ax.errorbar(xs, line["mean"], yerr=std, color=palette[m], capsize=3, linewidth=1)
            ax.set_title(dataset_label(ds))
            ax.set_xlabel(xlabel)
            ax.set_ylabel("AUROC (%)")
            ax.set_xticks(sorted(part[x].unique() * (100.0 if x_percent else 1.0)))
        handles, labels = axes[0][0].get_legend_handles_labels()
        for ax in axes[0][1:]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 5),
                   frameon=False)
        fig.suptitle(title, fontsize=10)
        caption = (f"Lines: mean AUROC over experiments; bands: ±1 std; {_count_text(summary)}. {context}")
        width = max(60, int(95 * len(datasets) / 2))
        fig.text(0.5, -0.14 - 0.04 * ((len(labels) - 1) // 5), textwrap.fill(caption, width), ha="center",
                 va="top", fontsize=8)
        fig.tight_layout()
        return _save(fig, stem)


def plot_cd(result: RankResult, title: str, context: str, stem: Path, alpha: float = ALPHA,
            blocks: str = "experiments") -> list[Path]:
    """Critical-difference diagram: average ranks, bars joining detectors the post hoc cannot separate.

    ``blocks`` names what a block of the Friedman test is ("experiments", or "sets" when ranks are
    taken per dataset)."""
    ranks = result.avg_ranks.rename(index=detector_label)
    sig = result.posthoc.rename(index=detector_label, columns=detector_label)
    k = len(ranks)
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.22 * k))
        # The CD value goes in the caption: drawn as a bar it collides with the rank axis labels.
        sp.critical_difference_diagram(ranks, sig, ax=ax, alpha=alpha,
                                       label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}")
        ax.set_title(title, fontsize=10, pad=22)
        caption = (f"Average rank (1 = best AUROC) over {result.n_blocks} {blocks} where every detector ran "
                   f"({result.n_dropped} incomplete dropped). Friedman p = {result.friedman_p:.2g}; bars join "
                   f"detectors that the {result.posthoc_name} post hoc does not separate at α = {alpha}"
                   f" (Nemenyi critical difference {result.critical_difference:.2f} ranks). {context}")
        fig.text(0.5, -0.02, textwrap.fill(caption, 110), ha="center", va="top", fontsize=7.5)
        return _save(fig, stem)
