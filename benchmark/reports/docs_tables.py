"""The result tables of the docs pages, rebuilt from the stored results.

``python -m benchmark.reports.docs_tables`` rewrites, in ``README.md`` and every ``docs/*.md``
page, the text between a pair of markers::

    <!-- table:NAME -->
    ...
    <!-- /table:NAME -->

with the table :data:`TABLES` names ``NAME``, computed by the report code of this package from
the published results: the rows of ``results/*/runs.csv`` (a folder built by ``--report-only
--merge`` is read from the sources its ``merged_from.txt`` lists, as the merge builds it), the
study and reproduction CSVs in ``experiments/results/``, the paper's numbers in
``reference/paper_table1.csv`` and, when it is there, the speed table in ``results/perf/``. A
number on a docs page is therefore never typed by hand, and a change of the report code or of the
stored rows shows up as a stale page. ``--check`` writes nothing and exits with 1 when some page
differs from what it would write (the test suite runs it); an unknown ``NAME`` or a marker
without its end is an error.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import MERGE_NOTE
from .aggregate import summarize, table1_rows, table2_rows, unique_experiments
from .labels import (DETECTOR_ORDER, canonical_dataset, dataset_label, detector_label, format_gamma, order_datasets,
                     order_methods)
from .load import Group, prepare_runs, read_runs, split_groups
from .many_sets import adbench_rows, per_set_long, rank_frame, rank_rows
from .policies import policy_cells, policy_summary, summary_markdown
from .render import format_p, frame_markdown
from .reproduction import compare_to_paper, load_reference
from .stats import rank_table
from .tables import build_cell_table, to_markdown
from .trends import CURVES, STD_FLAG, curve_trends, ranking_markdown, table1_agreement, trends_markdown

ROOT = Path(__file__).resolve().parents[2]
DOCS = "docs"

TABULAR = "results/tabular-both"  # Table 2 under both policies (tabular-paper and tabular-strict merged)
ADBENCH = "results/adbench-both"  # ADBench, seventeen detectors under both policies
REFERENCE_CURVE = "experiments/results/aa_bigan_reference_mnist_0_vs_1.csv"
REFERENCE_PRINTOUT = "experiments/results/aa_bigan_reference_mnist_0_vs_1.txt"
TABLE1_RUNS = ("experiments/results/aa_bigan_table1_mnist.csv", "experiments/results/aa_bigan_table1_fashion-mnist.csv")
TABULAR_STUDY = "experiments/results/aa_bigan_tabular_study.csv"
PERF_CPU = "results/perf/perf_cpu.csv"
# The published --scale cpu runs: Fig. 2, Fig. 3 and Table 1 under `paper` selection, Fig. 3 and Table 1
# under `strict`.
POLLUTION_CPU, DIVERSITY_CPU, IMAGES_CPU = "results/pollution-cpu", "results/diversity-cpu", "results/images-cpu"
DIVERSITY_CPU_STRICT, IMAGES_CPU_STRICT = "results/diversity-cpu-strict", "results/images-cpu-strict"
CPU_SCALE_RUNS = (POLLUTION_CPU, DIVERSITY_CPU, IMAGES_CPU, DIVERSITY_CPU_STRICT, IMAGES_CPU_STRICT)
IMAGES_CPU_BOTH = "results/images-cpu-both"  # the two Table 1 runs reported as one (--merge)

_MARKER = re.compile(r"<!-- table:(?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)<!-- /table:(?P=name) -->", re.S)
_OPEN = re.compile(r"<!-- table:([a-z0-9-]+) -->")


# -- reading the stored results ---------------------------------------------------------------

def merge_sources(note: Path) -> tuple[list[str], list[str] | None]:
    """The source folders (in merge order) and the ``--detectors`` filter that a ``merged_from.txt`` records."""
    lines = note.read_text(encoding="utf-8").splitlines()
    sources: list[str] = []
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        sources.append(line.strip())
    detectors = next(([d.strip() for d in line[len("detectors: "):].split(",")] for line in lines
                      if line.startswith("detectors: ")), None)
    return sources, detectors


@lru_cache(maxsize=8)
def published_rows(folder: str, root: Path = ROOT) -> pd.DataFrame:
    """The rows of a published results folder, prepared as the reports read them.

    A merged folder (one with ``merged_from.txt``) is rebuilt from its sources as ``--merge``
    builds it: the last row of each job, in the order listed, restricted to the detectors listed.
    Read once per process and shared by the tables: callers must not modify the frame.
    """
    folder = root / folder
    note = folder / MERGE_NOTE
    if note.exists():
        sources, detectors = merge_sources(note)
        paths = [root / s / "runs.csv" for s in sources]
    else:
        paths, detectors = [folder / "runs.csv"], None
    raw = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)
    if detectors is not None:
        raw = raw[raw["detector"].isin(detectors)]
    return prepare_runs(raw)


def _groups(rows: pd.DataFrame, capped: bool = False) -> dict[str, tuple[Group, pd.DataFrame]]:
    """Report groups by selection policy (the published folders hold one protocol version and one
    size: full settings, or with ``capped`` a run whose data is capped, as a CPU-scale run's is)."""
    out: dict[str, tuple[Group, pd.DataFrame]] = {}
    for group, part in split_groups(rows):
        if group.smoke or bool(group.data_cap) != capped:
            continue
        if group.selection in out:
            raise ValueError(f"two groups of policy {group.selection!r} (protocol versions?): say which to show")
        out[group.selection] = (group, part)
    return out


def _odds_order(frame: pd.DataFrame, dataset_first: bool = False) -> pd.DataFrame:
    """Rows sorted by policy and the paper's order of the sets (column ``dataset``, dropped), or the other way."""
    order = {d: i for i, d in enumerate(order_datasets(frame["dataset"].unique()))}
    keys = ["_d", "Policy"] if dataset_first else ["Policy", "_d"]
    return (frame.assign(_d=frame["dataset"].map(order)).sort_values(keys, kind="stable")
            .drop(columns=["_d", "dataset"]).reset_index(drop=True))


def _without_title(markdown: str) -> str:
    """A report block without its '### title' line: the docs page has its own heading."""
    lines = markdown.strip("\n").splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    return "\n".join(lines).strip("\n") + "\n"


# -- Table 2 ----------------------------------------------------------------------------------

def _table2(policy: str, root: Path) -> str:
    group, rows = _groups(published_rows(TABULAR, root))[policy]
    part = table2_rows(unique_experiments(rows))
    table = build_cell_table(part, ["dataset"], "table2", "Table 2", group.caption)
    return _without_title(to_markdown(table))


def tabular_paper(root: Path = ROOT) -> str:
    """Table 2 under ``paper``: mean ± std AUROC per set and detector, best in bold, paired tests."""
    return _table2("paper", root)


def tabular_strict(root: Path = ROOT) -> str:
    """Table 2 under ``strict``."""
    return _table2("strict", root)


def tabular_ranks(root: Path = ROOT) -> str:
    """Average rank of each detector over the 60 experiments of Table 2, per policy, with Friedman and CD."""
    records = []
    for policy, (group, rows) in _groups(published_rows(TABULAR, root)).items():
        part = table2_rows(unique_experiments(rows))
        _, res = rank_table(part, ["dataset"], part, "all")
        if res is None:
            continue
        rec: dict[str, object] = {"Policy": f"`{policy}`", "Experiments": str(res.n_blocks)}
        rec.update({detector_label(m): f"{r:.2f}" for m, r in res.avg_ranks.items()})
        rec["Friedman p"] = format_p(res.friedman_p)
        rec["CD (Nemenyi)"] = f"{res.critical_difference:.2f}"
        records.append(rec)
    caption = ("Average rank of AUROC (1 = best) over the experiments (set × seed) where every detector ran; "
               "Friedman test over them, Nemenyi critical difference at α = 0.05 in ranks.")
    return _without_title(frame_markdown(pd.DataFrame.from_records(records).fillna("–"), "ranks", caption))


def _policy_table(folder: str, root: Path, capped: bool = False) -> str:
    groups = _groups(published_rows(folder, root), capped)
    (base, base_rows), (other, other_rows) = groups["paper"], groups["strict"]
    summary = policy_summary(policy_cells(base_rows, other_rows))
    return _without_title(summary_markdown(summary, "paper", "strict", f"Groups {base.tag} and {other.tag}."))


def tabular_policy(root: Path = ROOT) -> str:
    """Per detector, what ``strict`` changes from ``paper`` on Table 2's cells."""
    return _policy_table(TABULAR, root)


def _headline(frame: pd.DataFrame, digits: int) -> str:
    """One row per policy, the detectors in the order of their ``strict`` rank."""
    order = frame.loc["strict"].sort_values().index if "strict" in frame.index else frame.columns
    shown = pd.DataFrame({"policy": [f"`{p}`" for p in frame.index]})
    for m in order:
        shown[detector_label(m)] = [f"{v:.{digits}f}" for v in frame[m]]
    return tabulate_pipe(shown)


def tabulate_pipe(frame: pd.DataFrame) -> str:
    """A bare pipe table (no caption): for the README's headline tables."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def headline_tabular(root: Path = ROOT) -> str:
    """Table 2's average ranks over the 60 experiments, one row per policy (the README's headline)."""
    ranks = {}
    for policy, (group, rows) in _groups(published_rows(TABULAR, root)).items():
        part = table2_rows(unique_experiments(rows))
        _, res = rank_table(part, ["dataset"], part, "all")
        if res is not None:
            ranks[policy] = res.avg_ranks
    return _headline(pd.DataFrame(ranks).T, 2)


def headline_adbench(root: Path = ROOT) -> str:
    """ADBench's average ranks over the (set, γl) blocks, one row per policy (the README's headline)."""
    ranks = {}
    for policy, (group, rows) in _groups(published_rows(ADBENCH, root)).items():
        pooled = [res for _, gamma, res, _ in rank_rows(per_set_long(adbench_rows(unique_experiments(rows))))
                  if gamma is None and res is not None]
        if pooled:
            ranks[policy] = pooled[0].avg_ranks
    return _headline(pd.DataFrame(ranks).T, 1)


# -- ADBench ----------------------------------------------------------------------------------

def adbench_ranks(root: Path = ROOT) -> str:
    """Average ranks over ADBench's sets (one block per set, or per set and γl pooled), per policy."""
    frames = []
    for policy, (group, rows) in _groups(published_rows(ADBENCH, root)).items():
        frame = rank_frame(rank_rows(per_set_long(adbench_rows(unique_experiments(rows)))))
        frames.append(frame.assign(policy=f"`{policy}`"))
    table = pd.concat(frames, ignore_index=True)
    table = table[["policy"] + [c for c in table.columns if c != "policy"]].rename(columns={"policy": "Policy"})
    caption = ("Average rank of the mean AUROC over seeds (1 = best), one block per set and γl; only blocks where "
               "every detector has an ok result count ('sets': used of those with any result). Friedman p over "
               "those blocks; CD: Nemenyi critical difference at α = 0.05, in ranks.")
    return _without_title(frame_markdown(table.fillna("–"), "ranks", caption))


def adbench_policy(root: Path = ROOT) -> str:
    """Per detector, what ``strict`` changes from ``paper`` on ADBench's (set, γl) cells."""
    return _policy_table(ADBENCH, root)


# -- Reproduction -----------------------------------------------------------------------------

def reference_curve(root: Path = ROOT) -> str:
    """This project's AA-BiGAN curve on MNIST 0 vs 1 and the stored comparison with the public code."""
    curve = pd.read_csv(root / REFERENCE_CURVE)
    later = curve[curve["epoch"] >= 2]
    pick = curve.loc[np.argmax(np.maximum(curve["val_recon"], curve["val_latent"]).to_numpy())]
    score = "recon" if pick["val_recon"] >= pick["val_latent"] else "latent"
    first = curve[curve["epoch"] <= 7]
    table = pd.DataFrame({
        "measure": [f"test recon AUROC, mean over epochs 2–{int(curve['epoch'].max())}",
                    "its range", "D_xx loss at epoch 2",
                    "`paper` policy (epoch and score best on validation)",
                    "test recon AUROC at epochs 1–7"],
        "this project": [f"{100 * later['test_recon'].mean():.1f}",
                         f"{100 * later['test_recon'].min():.1f}–{100 * later['test_recon'].max():.1f}",
                         f"{curve.loc[curve['epoch'] == 2, 'd_xx'].iloc[0]:.3f}",
                         f"{100 * pick['test_' + score]:.1f} (epoch {int(pick['epoch'])}, {score})",
                         ", ".join(f"{100 * v:.1f}" for v in first["test_recon"])],
    })
    printout = (root / REFERENCE_PRINTOUT).read_text(encoding="utf-8").splitlines()
    verdict = [line for line in printout if line.startswith(("reference ", "public code "))]
    text = _without_title(frame_markdown(table, "curve", f"From `{REFERENCE_CURVE}`."))
    return (text + f"\nThe comparison with the public code's curves, as the script printed it "
            f"(`{REFERENCE_PRINTOUT}`):\n\n```text\n" + "\n".join(verdict) + "\n```\n")


def table1_aa_bigan(root: Path = ROOT) -> str:
    """AA-BiGAN's Table 1 cells at γl .05 over the measured pairs, next to the paper's 90-pair cells."""
    ref = load_reference(root / "reference" / "paper_table1.csv")
    runs = pd.concat([pd.read_csv(root / p, dtype={"max_train_normals": str, "max_test": str},
                                  keep_default_na=False, na_values={"auroc": [""], "selected_epoch": [""]})
                      for p in TABLE1_RUNS], ignore_index=True)
    full = runs[runs["max_train_normals"].isin(["None", ""]) & runs["max_test"].isin(["None", ""])]
    records = []
    for (dataset, epochs, selection), part in full.groupby(["dataset", "epochs", "selection"], sort=False):
        paper = ref[(ref["key"] == canonical_dataset(dataset)) & (ref["gamma_l"] == 0.05)
                    & (ref["detector"] == "aa-bigan")]
        paper_text = "–" if paper.empty else f"{paper['auroc_mean'].iloc[0]:.1f} ± {paper['auroc_std'].iloc[0]:.1f}"
        records.append({
            "Dataset": dataset_label(dataset), "Epochs": str(epochs), "Selection": f"`{selection}`",
            "Pairs (normal:known)": ", ".join(f"{n}:{k}" for n, k in zip(part["normal"], part["known"])),
            "AUROC (%)": f"**{part['auroc'].mean():.1f} ± {part['auroc'].std(ddof=1):.1f}**",
            "per pair": ", ".join(f"{v:.1f}" for v in part["auroc"]),
            "chosen epochs": ", ".join(str(int(e)) for e in part["selected_epoch"]),
            "paper (90 pairs, 200 epochs)": paper_text,
        })
    caption = ("γl .05, one known class, γp 0, full training data and test split, seed 0 per pair; mean ± std over "
               f"the pairs listed. From {', '.join(f'`{p}`' for p in TABLE1_RUNS)} and `reference/paper_table1.csv`.")
    return _without_title(frame_markdown(pd.DataFrame.from_records(records), "table1", caption))


def table2_aa_bigan(root: Path = ROOT) -> str:
    """Table 2: AA-BiGAN against the best of the paper's other detectors on each set, per policy."""
    records = []
    for policy, (group, rows) in _groups(published_rows(TABULAR, root)).items():
        part = table2_rows(unique_experiments(rows))
        part = part[part["detector"].isin(DETECTOR_ORDER)]
        cells = build_cell_table(part, ["dataset"], "table2", "Table 2", group.caption).cells
        for dataset, cell in cells.groupby("dataset", sort=False):
            ours = cell[cell["method"] == "aa-bigan"].iloc[0]
            others = cell[cell["method"] != "aa-bigan"]
            best = others.loc[others["mean"].idxmax()]
            records.append({
                "Policy": f"`{policy}`", "dataset": dataset, "Dataset": dataset_label(dataset),
                "AA-BiGAN": f"{ours['mean']:.1f} ± {ours['std']:.1f}",
                "best of the paper's other detectors": f"{detector_label(best['method'])} {best['mean']:.1f} ± "
                                                       f"{best['std']:.1f}",
                "difference": f"{ours['mean'] - best['mean']:+.1f}".replace("-", "−"),
                "AA-BiGAN significantly below the best": "yes" if ours["significant"] else "no",
            })
    caption = (f"Mean ± std AUROC (%) over the seeds of each set; the paper's detectors: "
               f"{', '.join(detector_label(m) for m in DETECTOR_ORDER)}. Significance: paired Wilcoxon signed-rank "
               "test over the seeds against the best detector of the row among these eight, Holm-corrected within "
               "the row, p < 0.05.")
    return _without_title(frame_markdown(_odds_order(pd.DataFrame.from_records(records)), "table2", caption))


def aa_bigan_selection(root: Path = ROOT) -> str:
    """What AA-BiGAN chooses on Table 2's sets under each policy: its epoch, its score, and the AUROC it gets."""
    groups = _groups(published_rows(TABULAR, root))
    records = []
    for policy, (group, rows) in groups.items():
        part = table2_rows(unique_experiments(rows))
        part = part[(part["detector"] == "aa-bigan") & (part["status"] == "ok")]
        for dataset, runs in part.groupby("dataset", sort=False):
            epochs = pd.to_numeric(runs["selected_epoch"], errors="coerce")
            records.append({"dataset": dataset, "Dataset": dataset_label(dataset), "Policy": f"`{policy}`",
                            "AUROC (%)": f"{100 * runs['auroc'].mean():.1f} ± {100 * runs['auroc'].std(ddof=1):.1f}",
                            "median chosen epoch": f"{epochs.median():.0f}",
                            "seeds choosing recon": f"{int((runs['selected_score'] == 'recon').sum())} of {len(runs)}"})
    frame = _odds_order(pd.DataFrame.from_records(records), dataset_first=True)
    caption = ("AA-BiGAN on Table 2's sets (10 seeds each): the test AUROC of the chosen model, the median chosen "
               "epoch and how many seeds chose the reconstruction error over the latent norm.")
    return _without_title(frame_markdown(frame, "selection", caption))


def tabular_study(root: Path = ROOT) -> str:
    """The tabular design study: ``design_auroc`` per design and set, mean over the seeds each design ran."""
    study = pd.read_csv(root / TABULAR_STUDY)
    sets = [s for s in study["set"].unique() if s != "shuttle"]
    part = study[study["set"].isin(sets)]
    blocks = []
    for seeds in ([0], [0, 1]):
        runs = part[part["seed"].isin(seeds)]
        complete = runs.groupby("config")["seed"].nunique() == len(seeds)
        runs = runs[runs["config"].isin(complete[complete].index)]
        table = runs.pivot_table(index="config", columns="set", values="design_auroc", aggfunc="mean")[sets]
        table["mean"] = table.mean(axis=1)
        table["steps (sets above)"] = runs[runs["seed"] == seeds[0]].groupby("config")["steps_run"].sum()
        table = table.sort_values("mean", ascending=False)
        params = runs.groupby("config")["params"].first()
        shown = pd.DataFrame({"design": table.index, "change": [f"`{params[c]}`" for c in table.index]})
        for s in sets + ["mean"]:
            shown[s] = [f"{v:.1f}" for v in table[s]]
        shown["steps (sets above)"] = [f"{int(v):,}" for v in table["steps (sets above)"]]
        label = "seed 0" if seeds == [0] else "seeds 0 and 1"
        blocks.append(f"{label} (`design_auroc`, %):\n\n" + _without_title(frame_markdown(shown, "study", "")).lstrip())
    return f"From `{TABULAR_STUDY}`, shuttle left out of the comparison. " + "\n".join(blocks)


# -- Speed ------------------------------------------------------------------------------------

def perf_cpu(root: Path = ROOT) -> str:
    """The published ``python -m benchmark.perf`` table, with the date, machine and torch build it records."""
    path = root / PERF_CPU
    if not path.exists():
        return (f"No published measurement: `{PERF_CPU}` is not in the repository. Run `python -m benchmark.perf` on "
                "an idle machine to make one.\n")
    perf = pd.read_csv(path)
    perf = perf[perf["k"] == 1] if "k" in perf else perf

    def num(v: object, digits: int) -> str:
        return "" if pd.isna(v) else f"{float(v):.{digits}f}"

    shown = pd.DataFrame({
        "detector": perf["detector"], "stage": perf["stage"],
        "CPU s/epoch": perf["cpu_s_per_epoch"].map(lambda v: num(v, 3)),
        "fastest epoch, CPU s": perf["cpu_s_fastest_epoch"].map(lambda v: num(v, 3)),
        "wall s/epoch": perf["wall_s_per_epoch"].map(lambda v: num(v, 3)),
        "setup s": perf["setup_wall_s"].map(lambda v: num(v, 2)),
        "score s": perf["score_wall_s"].map(lambda v: num(v, 2)),
        "peak RSS +MiB": perf["peak_rss_growth_mib"].map(lambda v: num(v, 0)),
    })
    stamp = str(perf["timestamp"].min())[:10]
    machine = "; ".join(sorted(perf["cpu"].astype(str).unique()))
    caption = (f"Measured {stamp} on {machine}, torch {', '.join(sorted(perf['torch'].astype(str).unique()))}, "
               f"{', '.join(str(t) for t in sorted(perf['threads'].unique()))} thread(s), "
               f"{', '.join(sorted(perf['dataset'].astype(str).unique()))} (normal 0, known 1, γl .05), from `{PERF_CPU}`.")
    return _without_title(frame_markdown(shown, "perf", caption))


# -- The image suites at CPU scale ---------------------------------------------------------------

def cpu_scale_progress(root: Path = ROOT) -> str:
    """How far each CPU-scale run has come: its planned jobs, the jobs stored, and their class pairs."""
    rows = []
    for folder in CPU_SCALE_RUNS:
        plan_path, runs_path = root / folder / "planned_jobs.csv", root / folder / "runs.csv"
        if not plan_path.exists():
            rows.append({"run": f"`{folder}`", "planned jobs": 0, "stored": 0, "ok": 0, "failed": 0, "n.a.": 0,
                         "normal classes stored": "not started"})
            continue
        plan = pd.read_csv(plan_path)
        runs = read_runs(runs_path) if runs_path.exists() else pd.DataFrame(columns=["job_key", "status"])
        stored = runs[runs["job_key"].isin(plan["job_key"])]
        status = stored["status"].value_counts()
        normals = sorted(int(c) for c in stored["normal_class"].unique()) if len(stored) else []
        rows.append({"run": f"`{folder}`", "planned jobs": len(plan), "stored": len(stored),
                     "ok": int(status.get("ok", 0)), "failed": int(status.get("failed", 0)),
                     "n.a.": int(status.get("n.a.", 0)),
                     "normal classes stored": ", ".join(map(str, normals)) or "none"})
    return pd.DataFrame(rows).to_markdown(index=False) + "\n"


def _cpu_scale_trends(folder: str, figure: str, root: Path) -> str:
    """One figure's trend table (:mod:`benchmark.reports.trends`) from a CPU-scale run's rows, per policy."""
    path = root / folder / "runs.csv"
    if not path.exists():
        return f"No rows yet: `{folder}/runs.csv` is not in the repository.\n"
    name, filt, x, factor, x_label, unit, _ = next(c for c in CURVES if c[0] == figure)
    title = ("Figure 2 trends: AUROC against pollution γp" if figure == "fig2"
             else "Figure 3 trends: AUROC against the number of known anomaly classes k_l")
    blocks = []
    for group, rows in split_groups(read_runs(path)):
        trends = curve_trends(filt(unique_experiments(rows)), x, factor)
        if not trends.empty:
            blocks.append(_without_title(trends_markdown(trends, title, x_label, unit, group.caption)))
    return "\n".join(blocks) or "No complete curve yet.\n"


def fig2_cpu_trends(root: Path = ROOT) -> str:
    """Fig. 2 at CPU scale: each method's change and slope against pollution, with intervals and tests."""
    return _cpu_scale_trends(POLLUTION_CPU, "fig2", root)


def fig3_cpu_trends(root: Path = ROOT) -> str:
    """Fig. 3 at CPU scale: each method's change and slope as more anomaly classes are known."""
    return _cpu_scale_trends(DIVERSITY_CPU, "fig3", root)


def fig3_cpu_strict_trends(root: Path = ROOT) -> str:
    """The same for the Fig. 3 run under `strict` selection."""
    return _cpu_scale_trends(DIVERSITY_CPU_STRICT, "fig3", root)


def _table1_cpu_comparisons(root: Path, folder: str = IMAGES_CPU) -> list[tuple[Group, pd.DataFrame]]:
    """Per group of a Table 1 CPU-scale run, its cells paired with the paper's (compare_to_paper)."""
    path = root / folder / "runs.csv"
    if not path.exists():
        return []
    ref = load_reference(root / "reference" / "paper_table1.csv")
    out = []
    for group, rows in split_groups(read_runs(path)):
        cells = summarize(table1_rows(unique_experiments(rows)), ["dataset", "gamma_l"])
        out.append((group, compare_to_paper(cells[cells["status"] == "ok"], ref)))
    return out


def table1_cpu_ranking(root: Path = ROOT, folder: str = IMAGES_CPU) -> str:
    """Table 1 at CPU scale: per column, the methods' ranking here and in the paper, Kendall's τ."""
    blocks = []
    for group, comparison in _table1_cpu_comparisons(root, folder):
        settings, _ = table1_agreement(comparison)
        if not settings.empty:
            blocks.append(_without_title(ranking_markdown(settings, group.caption)))
    return "\n".join(blocks) or f"No rows yet: `{folder}/runs.csv` has no Table 1 cell.\n"


def table1_cpu_strict_ranking(root: Path = ROOT) -> str:
    """The same ranking table for the Table 1 run under `strict` selection."""
    return table1_cpu_ranking(root, IMAGES_CPU_STRICT)


def table1_cpu_policy(root: Path = ROOT) -> str:
    """Per detector, what ``strict`` changes from ``paper`` on Table 1's cells at CPU scale."""
    if not (root / IMAGES_CPU_BOTH / MERGE_NOTE).exists():
        return f"No rows yet: `{IMAGES_CPU_BOTH}/{MERGE_NOTE}` is not in the repository.\n"
    return _policy_table(IMAGES_CPU_BOTH, root, capped=True)


def table1_cpu_cells(root: Path = ROOT) -> str:
    """Table 1 at CPU scale as the paper prints it, each cell with its distance from the paper's."""
    blocks = []
    for group, comparison in _table1_cpu_comparisons(root):
        _, cells = table1_agreement(comparison)
        if cells.empty:
            continue
        cells = cells.assign(column=[f"{dataset_label(d)} {format_gamma(g)}"
                                     for d, g in zip(cells["dataset"], cells["gamma_l"])],
                             text=[f"{m:.1f} ({_signed_std(v)}{' **' if b else ''})" for m, v, b in
                                   zip(cells["ours_mean"], cells["diff_in_paper_std"], cells["beyond_two_std"])])
        matrix = cells.pivot(index="method", columns="column", values="text")
        matrix = matrix.reindex(index=order_methods(list(matrix.index)),
                                columns=list(dict.fromkeys(cells["column"]))).fillna("–")
        matrix.index = [detector_label(m) for m in matrix.index]
        caption = ("AUROC (%) here, mean over the class pairs, and in brackets its distance from the paper's cell "
                   f"in the paper's stds, (here − paper) / paper std; ** beyond {STD_FLAG:g}. Columns: dataset and "
                   f"γl, one known class, no pollution. {group.caption}")
        blocks.append(_without_title(frame_markdown(matrix.rename_axis("Detector").reset_index(), "t1", caption)))
    return "\n".join(blocks) or f"No rows yet: `{IMAGES_CPU}/runs.csv` has no Table 1 cell.\n"


def _signed_std(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:+.1f}".replace("-", "−")


#: Every table a page can mark, by name: a function of the repository root that returns markdown.
TABLES: dict[str, Callable[[Path], str]] = {
    "tabular-paper": tabular_paper,
    "tabular-strict": tabular_strict,
    "tabular-ranks": tabular_ranks,
    "tabular-policy": tabular_policy,
    "headline-tabular": headline_tabular,
    "adbench-ranks": adbench_ranks,
    "adbench-policy": adbench_policy,
    "headline-adbench": headline_adbench,
    "reference-curve": reference_curve,
    "table1-aa-bigan": table1_aa_bigan,
    "table2-aa-bigan": table2_aa_bigan,
    "aa-bigan-selection": aa_bigan_selection,
    "tabular-study": tabular_study,
    "perf-cpu": perf_cpu,
    "cpu-scale-progress": cpu_scale_progress,
    "fig2-cpu-trends": fig2_cpu_trends,
    "fig3-cpu-trends": fig3_cpu_trends,
    "fig3-cpu-strict-trends": fig3_cpu_strict_trends,
    "table1-cpu-ranking": table1_cpu_ranking,
    "table1-cpu-cells": table1_cpu_cells,
    "table1-cpu-strict-ranking": table1_cpu_strict_ranking,
    "table1-cpu-policy": table1_cpu_policy,
}


# -- the pages --------------------------------------------------------------------------------

class MarkerError(ValueError):
    """A page's markers do not pair up, or name a table this module does not know."""


def render_page(text: str, page: str = "page", root: Path = ROOT,
                cache: dict[str, str] | None = None) -> str:
    """``text`` with every marked table rebuilt; ``cache`` shares tables between pages of one run."""
    cache = {} if cache is None else cache
    opened = _OPEN.findall(text)
    paired = [m.group("name") for m in _MARKER.finditer(text)]
    if sorted(opened) != sorted(paired):
        unpaired = sorted(set(opened) - set(paired)) or sorted(opened)
        raise MarkerError(f"{page}: <!-- table:NAME --> without its <!-- /table:NAME -->: {', '.join(unpaired)}")
    unknown = sorted(set(paired) - set(TABLES))
    if unknown:
        raise MarkerError(f"{page}: unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in cache:
            cache[name] = TABLES[name](root)
        return f"<!-- table:{name} -->\n{cache[name].rstrip()}\n<!-- /table:{name} -->"

    return _MARKER.sub(replace, text)


def pages(root: Path = ROOT) -> list[Path]:
    """The pages whose marked tables this module keeps: README.md and docs/*.md."""
    return [p for p in [root / "README.md", *sorted((root / DOCS).glob("*.md"))] if p.exists()]


def update_docs(root: Path = ROOT, check: bool = False) -> list[Path]:
    """Rebuild the tables of every docs page (``check``: only compare); returns the pages that differ(ed)."""
    stale: list[Path] = []
    cache: dict[str, str] = {}
    for page in pages(root):
        text = page.read_text(encoding="utf-8")
        new = render_page(text, str(page.relative_to(root)), root, cache)
        if new != text:
            stale.append(page)
            if not check:
                page.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.reports.docs_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a page is out of date")
    args = parser.parse_args(argv)
    try:
        stale = update_docs(check=args.check)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for page in stale:
        print(f"{'out of date' if args.check else 'rewrote'}: {page.relative_to(ROOT)}")
    if args.check and stale:
        print("run: python -m benchmark.reports.docs_tables", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
