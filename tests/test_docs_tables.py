"""The result tables of the docs pages are the ones the stored results give (benchmark.reports.docs_tables)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmark.reports import docs_tables
from benchmark.reports.docs_tables import ROOT, MarkerError, merge_sources, render_page, update_docs


def test_docs_tables_are_up_to_date() -> None:
    """Fails when a page's table was edited by hand, or the rows or the report code changed since it was
    generated: run `python -m benchmark.reports.docs_tables`."""
    stale = update_docs(check=True)
    assert [str(p.relative_to(ROOT)) for p in stale] == []


def test_a_hand_edited_table_is_rewritten() -> None:
    text = (ROOT / "docs" / "results-tabular.md").read_text(encoding="utf-8")
    start = text.index("<!-- table:tabular-ranks -->")
    block = text[start:text.index("<!-- /table:tabular-ranks -->") + len("<!-- /table:tabular-ranks -->")]
    edited = block.replace("| `paper`  | 60", "| `paper`  | 61", 1)
    assert edited != block
    assert render_page(edited) == block


def test_markers_must_pair_up_and_name_a_known_table() -> None:
    with pytest.raises(MarkerError, match="without its"):
        render_page("<!-- table:tabular-ranks -->\nold\n")
    with pytest.raises(MarkerError, match="unknown table"):
        render_page("<!-- table:no-such-table -->\nold\n<!-- /table:no-such-table -->\n")
    assert render_page("no markers here\n") == "no markers here\n"


def test_a_merged_folder_is_read_from_the_sources_it_lists(tmp_path: Path) -> None:
    note = tmp_path / "merged_from.txt"
    note.write_text("runs.csv = the last row of each job from, in this order:\n  results/a\n  results/b\n"
                    "detectors: x, y\njobs per selection and detector:\n  paper x: 3\n", encoding="utf-8")
    assert merge_sources(note) == (["results/a", "results/b"], ["x", "y"])
    note.write_text("runs.csv = the last row of each job from, in this order:\n  results/a\n"
                    "jobs per selection and detector:\n  paper x: 3\n", encoding="utf-8")
    assert merge_sources(note) == (["results/a"], None)


def test_the_perf_table_shows_date_machine_and_numbers(tmp_path: Path) -> None:
    assert "No published measurement" in docs_tables.perf_cpu(tmp_path)
    (tmp_path / "results" / "perf").mkdir(parents=True)
    pd.DataFrame([{"detector": "deep-sad", "stage": "train", "k": 1, "cpu_s_per_epoch": 0.5123,
                   "cpu_s_fastest_epoch": 0.5, "wall_s_per_epoch": 0.52, "setup_wall_s": 1.3, "score_wall_s": 0.55,
                   "peak_rss_growth_mib": 196.0, "threads": 1, "dataset": "mnist", "torch": "2.13.0+cpu",
                   "cpu": "Some CPU, 2 cores", "timestamp": "2030-01-02T03:04:05+00:00"}]
                 ).to_csv(tmp_path / docs_tables.PERF_CPU, index=False)
    text = docs_tables.perf_cpu(tmp_path)
    assert "2030-01-02" in text and "Some CPU, 2 cores" in text and "2.13.0+cpu" in text
    assert "| deep-sad   | train   | 0.512" in text


def test_table1_at_cpu_scale_ranks_and_measures_each_cell_against_the_paper(tmp_path: Path) -> None:
    """The Fig. 2 run's γp = 0 points are Table 1 cells (F-MNIST, γl .05, one known class): read as
    the Table 1 run, each cell's distance from the paper is (mean − paper) / paper std."""
    assert "No rows yet" in docs_tables.table1_cpu_cells(tmp_path)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "paper_table1.csv").write_bytes((ROOT / "reference" / "paper_table1.csv").read_bytes())
    rows = pd.read_csv(ROOT / "results" / "pollution-cpu" / "runs.csv")
    (tmp_path / "results" / "images-cpu").mkdir(parents=True)
    rows.to_csv(tmp_path / "results" / "images-cpu" / "runs.csv", index=False)

    paper = pd.read_csv(ROOT / "reference" / "paper_table1.csv")
    paper = paper[(paper["dataset"] == "fmnist") & (paper["gamma_l"] == 0.05)].set_index("detector")
    point = rows[(rows["gamma_p"] == 0) & (rows["status"] == "ok")]
    mean = 100 * point[point["detector"] == "ssad-raw"]["auroc"].mean()
    expected = (mean - paper.loc["ssad-raw", "auroc_mean"]) / paper.loc["ssad-raw", "auroc_std"]
    cells = docs_tables.table1_cpu_cells(tmp_path)
    line = next(line for line in cells.splitlines() if line.startswith("| SSAD raw"))
    assert f"{mean:.1f} ({expected:+.1f})".replace("-", "−") in line
    assert "F-MNIST .05" in cells and sum(line.startswith("| ") for line in cells.splitlines()) == 1 + 7  # header, seven methods

    ranking = docs_tables.table1_cpu_ranking(tmp_path)
    setting = next(line for line in ranking.splitlines() if line.startswith("| F-MNIST"))
    assert "| 7 " in setting and "AA-BiGAN" in setting
