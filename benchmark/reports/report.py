"""Build every report of a run from its runs CSV alone, and the index that ties them together.

Reports never train anything: they read the results store, so ``--report-only``
can rebuild them at any time. Each selection policy (and protocol version, and
smoke versus real settings) is a separate group with its own files; nothing is
ever averaged across groups.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from .aggregate import fig2_rows, fig3_rows, table1_rows, table2_rows, unique_experiments
from .figures import plot_cd, plot_curves
from .index import index_markdown, status_line
from .jobs import missing_jobs
from .labels import dataset_label, detector_label, format_gamma, order_methods
from .load import Group, prepare_runs_and_superseded, read_raw_runs, split_groups
from .many_sets import write_many_set_reports
from .policies import write_policy_reports
from .render import format_p, frame_latex, frame_markdown
from .reproduction import REFERENCE_PATH, SOURCE_NOTE, compare_to_paper, display_frame, load_reference, \
    summary_sentence
from .stats import ALPHA, rank_table
from .styles import detector_styles
from .tables import CellTable, build_cell_table, to_markdown, write_cell_table
from .versions import summary_line, versions_note
from .trends import write_table1_agreement, write_trend_reports

ALL_SETTINGS_BY = ["dataset", "gamma_l", "gamma_p", "k_l"]

#: name, row filter, row keys, title, pooled subset for the CD diagram (with its label).
TABLES = (
    ("table1", table1_rows, ["dataset", "gamma_l"],
     "Table 1: AUROC (%) on image data, one known anomaly class, no pollution",
     lambda r: r[r["gamma_l"] > 0], "all γl > 0"),
    ("table2", table2_rows, ["dataset"], "Table 2: AUROC (%) on ODDS data, γl = .01, no pollution",
     lambda r: r, "all"),
)


def write_reports(runs_csv: Path, out_dir: Path, expected: pd.DataFrame | None = None, *,
                  reference: Path | None = REFERENCE_PATH, alpha: float = ALPHA) -> list[Path]:
    """Write every table, figure and statistic the runs CSV has data for into ``out_dir/reports``.

    ``expected`` is the plan (job keys, or experiment columns plus detector); with it
    the index lists the jobs that never ran and marks their cells. Tables or figures
    without rows are skipped silently. Returns the written paths, the index last.
    """
    report_dir = Path(out_dir) / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    raw = read_raw_runs(runs_csv)
    jobs, superseded = prepare_runs_and_superseded(raw)
    missing = missing_jobs(jobs, expected) if expected is not None else None
    ref = load_reference(reference) if reference is not None and Path(reference).exists() else None
    written: list[Path] = []
    sections: list[str] = []
    paths, text = _write_superseded(superseded, versions_note(raw), report_dir)
    written += paths
    sections += [text] if text else []
    for group, group_jobs in split_groups(jobs):
        paths, text = _write_group(group, unique_experiments(group_jobs), _missing_for(missing, group),
                                   report_dir, ref, alpha, _of_group(superseded, group))
        written += paths
        sections.append(text)
    paths, texts = write_policy_reports(jobs, report_dir)  # e.g. strict against paper, when both are here
    written += paths
    sections += texts
    index = report_dir / "report.md"
    index.write_text(index_markdown(Path(runs_csv), jobs, missing, sections), encoding="utf-8")
    return written + [index]


def format_markdown_table(runs: pd.DataFrame | Path | str, alpha: float = ALPHA) -> str:
    """Every setting of a run, one markdown table per policy group: what the runner prints at the end.

    Accepts the runs CSV path or the runs frame itself (as read from that CSV).
    """
    raw = read_raw_runs(runs) if isinstance(runs, (str, Path)) else runs
    jobs, superseded = prepare_runs_and_superseded(raw)
    if jobs.empty:
        return "No runs.\n"
    blocks = [status_line(jobs)] + [line + "\n" for line in (summary_line(superseded), versions_note(raw)) if line]
    for group, group_jobs in split_groups(jobs):
        table = build_cell_table(unique_experiments(group_jobs), ALL_SETTINGS_BY, "summary",
                                 f"All settings ({group.tag})", group.caption, alpha=alpha,
                                 superseded=_of_group(superseded, group))
        blocks.append(to_markdown(table))
    return "\n".join(blocks)


def _missing_for(missing: pd.DataFrame | None, group: Group) -> pd.DataFrame | None:
    """The planned-but-absent jobs that belong to one group, with a method column for cell marks."""
    if missing is None or missing.empty:
        return missing
    part = missing
    if "selection" in part:
        part = part[part["selection"] == group.selection]
    if "protocol_version" in part:
        part = part[part["protocol_version"] == group.protocol_version]
    if "suite" in part:
        part = part[part["suite"].str.lower().eq("smoke") == group.smoke]
    if "scale" in part:
        part = part[part["scale"].fillna("").replace("", "paper") == group.scale]
    return part.assign(method=part["detector"]) if "detector" in part else part


def _filtered(filt, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """Apply a table's row filter to planned jobs when they carry the columns it needs."""
    if frame is None or frame.empty:
        return None
    try:
        return filt(frame)
    except KeyError:
        return None


def _of_group(frame: pd.DataFrame, group: Group) -> pd.DataFrame:
    """The rows of ``frame`` that belong to ``group`` (every field of the group that is a column)."""
    for name, value in dataclasses.asdict(group).items():
        if name in frame and not frame.empty:
            frame = frame[frame[name] == value]
    return frame


def _write_superseded(superseded: pd.DataFrame, note: str, report_dir: Path) -> tuple[list[Path], str]:
    """superseded.csv (the rows of another detector version, each with its reason) and the index's
    section about them; none of either when every row is of its detector's current version."""
    path = report_dir / "superseded.csv"
    if superseded.empty:
        path.unlink(missing_ok=True)
        return [], (f"## Versions\n\n{note}\n" if note else "")
    superseded.to_csv(path, index=False)
    shown = superseded.groupby(["detector", "dataset", "detector_version", "newest_version", "in_tables"],
                               dropna=False).size().rename("rows").reset_index()
    table = shown.to_markdown(index=False)
    return [path], "\n".join(["## Rows of another detector version", "", summary_line(superseded), "",
                              f"[{path.name}]({path.name})", "", table, ""] + ([note, ""] if note else []))


def _write_group(group: Group, rows: pd.DataFrame, missing: pd.DataFrame | None, report_dir: Path,
                 ref: pd.DataFrame | None, alpha: float,
                 superseded: pd.DataFrame | None = None) -> tuple[list[Path], str]:
    """All files of one group, and its section of the index; ``superseded``: the group's rows of
    another detector version, whose cells get a mark."""
    tag, context = group.tag, group.caption
    extra = {"selection": group.selection, "protocol_version": group.protocol_version, "scale": group.scale,
             "settings": "smoke" if group.smoke else (group.scale if group.scale != "paper" else
                                                      ("capped" if group.data_cap else "full"))}
    # Every title says the scale when it is not the paper's size (captions say it through ``context``).
    suffix = "" if group.scale == "paper" else f" ({group.scale} scale)"
    written: list[Path] = []
    embedded: list[str] = []
    # One style per detector for every figure of the group, so a detector keeps its colour throughout.
    everyone = list(rows["method"]) + (list(missing["method"]) if missing is not None and "method" in missing else [])
    styles = detector_styles(order_methods(everyone))
    all_table = build_cell_table(rows, ALL_SETTINGS_BY, "all_settings", f"All settings of the run ({tag}){suffix}",
                                 context, missing, alpha, superseded)
    written += write_cell_table(all_table, report_dir, tag, extra)
    test_frames = []
    for name, filt, by, title, pooled_of, pooled_label in TABLES:
        part = filt(rows)
        if part.empty:
            continue
        title += suffix
        table = build_cell_table(part, by, name, title, context, _filtered(filt, missing), alpha,
                                 _filtered(filt, superseded))
        written += write_cell_table(table, report_dir, tag, extra)
        embedded.append(to_markdown(table))
        test_frames.append(_tests_frame(table))
        written += _write_ranks(name, title, part, by, pooled_of(part), pooled_label, context, tag, report_dir,
                                alpha, extra, styles)
        if name == "table1" and ref is not None:
            paths, text = _write_reproduction(table, ref, context, tag, report_dir, extra)
            written += paths
            embedded.append(text)
            paths, text = write_table1_agreement(compare_to_paper(table.cells, ref), context, tag, report_dir,
                                                 extra, suffix)
            written += paths
            if text:
                embedded.append(text)
    paths, text = write_many_set_reports(rows, context, tag, report_dir, extra, alpha)
    written += paths
    if text:
        embedded.append(text)
    tests = pd.concat(test_frames, ignore_index=True) if test_frames else pd.DataFrame()
    if not tests.empty:
        written += _write_tests(tests, context, tag, report_dir, extra)
    fig2 = plot_curves(fig2_rows(rows), "gamma_p", r"pollution $\gamma_p$ (% of the unlabeled training data)",
                       r"Figure 2: AUROC (%) against pollution ($\gamma_l$ = .05, $k_l$ = 1)" + suffix, context,
                       report_dir / f"fig2_pollution_{tag}", x_percent=True, missing=_filtered(fig2_rows, missing), styles=styles)
    fig3 = plot_curves(fig3_rows(rows), "k_l", r"known anomaly classes $k_l$ (count)",
                       r"Figure 3: AUROC (%) against anomaly diversity ($\gamma_l$ = .05, $\gamma_p$ = .1)" + suffix, context,
                       report_dir / f"fig3_diversity_{tag}", missing=_filtered(fig3_rows, missing), styles=styles)
    written += fig2 + fig3
    # Beside each figure, its per-detector trends with their uncertainty.
    paths, texts = write_trend_reports(rows, context, tag, report_dir, extra, suffix)
    written += paths
    embedded += texts
    lines = [f"## {tag}", "", context, "", "Files:", ""]
    lines += [f"- [{p.name}]({p.name})" for p in written]
    lines += [""] + embedded
    return written, "\n".join(lines)


def _tests_frame(table: CellTable) -> pd.DataFrame:
    """The Wilcoxon-against-best rows of one table, with the table named."""
    cells = table.cells[table.cells["p_raw"].notna() | table.cells["n_pairs"].notna()]
    cols = table.by + ["method", "mean", "n_pairs", "p_raw", "p_holm", "significant", "can_reach"]
    best = table.cells[table.cells["best"]].groupby(table.by)["method"].agg(";".join).rename("best")
    frame = cells[cols].merge(best.reset_index(), on=table.by, how="left")
    return frame.assign(table=table.name)


def _write_tests(tests: pd.DataFrame, context: str, tag: str, report_dir: Path,
                 extra: dict[str, object]) -> list[Path]:
    """Every paired test of the tables, raw and Holm-adjusted, as CSV and markdown."""
    cols = ["table", "dataset", "gamma_l", "method", "best", "mean", "n_pairs", "p_raw", "p_holm", "significant",
            "can_reach"]
    tests = tests.reindex(columns=cols)
    csv_path, md_path = report_dir / f"stats_wilcoxon_{tag}.csv", report_dir / f"stats_wilcoxon_{tag}.md"
    tests.assign(**extra).to_csv(csv_path, index=False)
    shown = pd.DataFrame({
        "Table": tests["table"],
        "Dataset": tests["dataset"].map(dataset_label),
        "γl": tests["gamma_l"].map(lambda v: "" if pd.isna(v) else format_gamma(v)),
        "Detector": tests["method"].map(detector_label),
        "Best": tests["best"].map(lambda s: ", ".join(detector_label(m) for m in str(s).split(";"))),
        "Pairs": tests["n_pairs"].map(lambda v: "–" if pd.isna(v) else str(int(v))),
        "p": tests["p_raw"].map(format_p),
        "p (Holm)": tests["p_holm"].map(format_p),
        "Significant": tests["significant"].map(lambda v: "yes" if v else "no"),
        "Could be": tests["can_reach"].map(lambda v: "–" if pd.isna(v) else ("yes" if v else "no (too few pairs)")),
    })
    md_path.write_text(frame_markdown(
        shown, "Paired Wilcoxon signed-rank tests against the best detector of each cell",
        "Two-sided scipy.stats.wilcoxon over the experiments both detectors ran (same split); Holm correction "
        f"(statsmodels) over the detectors of one cell. 'Could be': whether any result could have been significant "
        f"at p < {ALPHA} with that many pairs (the smallest exact p is 0.5 with 2 pairs, 0.0625 with 5, before Holm "
        f"multiplies it by the number of tests of the cell). {context}"), encoding="utf-8")
    return [csv_path, md_path]


def _write_ranks(name: str, title: str, rows: pd.DataFrame, by: list[str], pooled: pd.DataFrame,
                 pooled_label: str, context: str, tag: str, report_dir: Path, alpha: float,
                 extra: dict[str, object], styles: dict | None = None) -> list[Path]:
    """Average-rank table (per cell and pooled), the post hoc matrix, and the CD diagram."""
    ranks, pooled_res = rank_table(rows, by, pooled, pooled_label)
    if ranks.empty:
        return []
    stem = report_dir / f"ranks_{name}_{tag}"
    ranks.assign(**extra).to_csv(stem.with_suffix(".csv"), index=False)
    methods = [c for c in ranks.columns if c not in by + ["n_blocks", "friedman_p"]]
    shown = pd.DataFrame({"Dataset": ranks["dataset"].map(lambda d: dataset_label(d) if d != pooled_label else d)})
    if "gamma_l" in by:
        shown["γl"] = ranks["gamma_l"].map(lambda v: "" if v == "" or pd.isna(v) else format_gamma(float(v)))
    shown["Experiments"] = ranks["n_blocks"].astype(int).astype(str)
    for m in methods:
        shown[detector_label(m)] = ranks[m].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
    shown["Friedman p"] = ranks["friedman_p"].map(format_p)
    caption = (f"Average rank of AUROC ({title.split(':')[0]} settings; 1 = best) over the experiments where every "
               f"detector of the row ran; the last row pools {pooled_label} and is the basis of the "
               f"critical-difference diagram. Friedman p: Friedman test over those experiments (with only two "
               f"detectors, the Wilcoxon signed-rank p instead). {context}")
    stem.with_suffix(".md").write_text(frame_markdown(shown, f"Average ranks, {title.split(':')[0]}", caption),
                                       encoding="utf-8")
    stem.with_suffix(".tex").write_text(frame_latex(shown, caption, f"tab:ranks-{name}-{tag}".lower(),
                                                    len(by) + 1), encoding="utf-8")
    written = [stem.with_suffix(".md"), stem.with_suffix(".tex"), stem.with_suffix(".csv")]
    if pooled_res is not None:
        posthoc = report_dir / f"posthoc_{name}_{tag}.csv"
        pooled_res.posthoc.to_csv(posthoc)
        written.append(posthoc)
        written += plot_cd(pooled_res, f"Critical difference, {title.split(':')[0]} ({pooled_label})", context,
                           report_dir / f"cd_{name}_{tag}", alpha, styles)
    return written


def _write_reproduction(table: CellTable, ref: pd.DataFrame, context: str, tag: str, report_dir: Path,
                        extra: dict[str, object]) -> tuple[list[Path], str]:
    """Paper vs this run for Table 1 cells, in the three formats."""
    comparison = compare_to_paper(table.cells, ref)
    if comparison.empty:
        return [], ""
    stem = report_dir / f"reproduction_table1_{tag}"
    comparison.assign(**extra).to_csv(stem.with_suffix(".csv"), index=False)
    shown = display_frame(comparison)
    caption = f"{summary_sentence(comparison)} {SOURCE_NOTE} This run: {context}"
    text = frame_markdown(shown, "Paper vs this run (Table 1)", caption)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    stem.with_suffix(".tex").write_text(frame_latex(shown, caption, f"tab:reproduction-{tag}".lower(), 3),
                                        encoding="utf-8")
    return [stem.with_suffix(".md"), stem.with_suffix(".tex"), stem.with_suffix(".csv")], text
