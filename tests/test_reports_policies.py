"""The policy report (strict against paper) and ``--report-only --merge``: differences are computed per
cell from means over seeds, cells without two ok results are left out, groups of other settings
are never subtracted, and a merge copies rows verbatim without overwriting a real run.

Expected numbers are recomputed here with pandas and scipy from synthetic rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.cli import main
from benchmark.reports import write_reports
from benchmark.reports.load import prepare_runs
from benchmark.reports.policies import policy_cells, policy_summary, summary_markdown
from benchmark.store import MERGE_NOTE

SETS = [f"adbench/set{i:02d}" for i in range(8)]
SHIFT = {"xgbod": 0.0, "nda": -0.04}  # what strict does to each detector's AUROC, on average
NA_CELL = ("adbench/set07", 0.05)  # n.a. under strict only: must be left out, not counted as a change


def _rows(selection: str, seeds: int = 3, version: str = "1") -> pd.DataFrame:
    rng = np.random.default_rng(0 if selection == "paper" else 1)
    records = []
    for ds in SETS:
        for gl in (0.01, 0.05):
            for seed in range(seeds):
                for det, shift in SHIFT.items():
                    auroc = 0.8 + rng.normal(0, 0.02) + (shift if selection == "strict" else 0.0)
                    status, error = "ok", ""
                    if selection == "strict" and (ds, gl) == NA_CELL:
                        status, error, auroc = "n.a.", "too few collected anomalies to hold some out", np.nan
                    records.append(dict(
                        job_key=f"{selection}-{version}-{ds}-{gl}-{seed}-{det}", suite="adbench",
                        protocol_version=version, dataset=ds, normal_class=-1, known_classes="1", k_l=1, gamma_l=gl,
                        gamma_p=0.0, seed=seed, selection=selection, detector=det, detector_params="{}",
                        status=status, error=error, auroc=auroc, auprc=auroc, max_train_normals=np.nan,
                        max_test=np.nan, rerun="", detector_version=1, suite_version="0.1.0"))
    return pd.DataFrame.from_records(records)


def test_differences_are_per_cell_means_and_na_cells_are_left_out():
    paper, strict = prepare_runs(_rows("paper")), prepare_runs(_rows("strict"))
    cells = policy_cells(paper, strict)
    assert len(cells) == len(SETS) * 2 * len(SHIFT)
    left_out = cells[cells["diff"].isna()]
    assert set(zip(left_out["dataset"], left_out["gamma_l"])) == {NA_CELL}
    for det in SHIFT:
        mean_p = paper[paper["detector"] == det].groupby(["dataset", "gamma_l"])["auroc"].mean() * 100
        mean_s = strict[strict["detector"] == det].groupby(["dataset", "gamma_l"])["auroc"].mean() * 100
        expected = (mean_s - mean_p).dropna()
        got = cells[(cells["method"] == det) & cells["diff"].notna()].set_index(["dataset", "gamma_l"])["diff"]
        pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    summary = policy_summary(cells).set_index("method")
    nda = summary.loc["nda"]
    assert nda["cells"] == 15 and nda["cells_left_out"] == 1
    assert nda["mean_diff"] == pytest.approx(-4.0, abs=1.0) and nda["better"] + nda["worse"] == 15
    nda_cells = cells[(cells["method"] == "nda") & cells["diff"].notna()]
    assert nda["p_wilcoxon"] == pytest.approx(stats.wilcoxon(nda_cells["mean_other"], nda_cells["mean_base"]).pvalue)
    assert nda["min_cell"].startswith("adbench/set") and nda["min_diff"] == nda_cells["diff"].min()
    assert "normal" not in nda["min_cell"] and "k_l" not in nda["min_cell"]  # tables: set and γl say it all
    assert abs(summary.loc["xgbod", "mean_diff"]) < 1.5  # no shift put in: only noise


def test_a_detector_without_any_comparable_cell_is_listed_not_dropped():
    strict = _rows("strict")
    strict.loc[strict["detector"] == "nda", ["status", "auroc"]] = ["n.a.", np.nan]
    summary = policy_summary(policy_cells(prepare_runs(_rows("paper")), prepare_runs(strict))).set_index("method")
    assert summary.loc["nda", "cells"] == 0 and summary.loc["nda", "cells_left_out"] == 16
    assert np.isnan(summary.loc["nda", "mean_diff"]) and summary.loc["xgbod", "cells"] == 15
    text = summary_markdown(summary.reset_index(), "paper", "strict", "")
    assert "| NDA " in text and "| 0 " in text


def test_report_written_only_for_twin_groups(tmp_path):
    rows = pd.concat([_rows("paper"), _rows("strict"), _rows("strict", version="2")])  # v2 has no paper twin
    path = tmp_path / "runs.csv"
    rows.to_csv(path, index=False)
    written = {p.name for p in write_reports(path, tmp_path)}
    assert {"policy_strict_vs_paper_paper_v1.md", "policy_strict_vs_paper_paper_v1.csv",
            "policy_strict_vs_paper_paper_v1_cells.csv"} <= written
    assert not any("v2" in name and name.startswith("policy_") for name in written)
    text = (tmp_path / "reports" / "policy_strict_vs_paper_paper_v1.md").read_text()
    assert "NDA" in text and "15 of 15" not in text  # strict is worse for NDA in most cells
    assert "strict against paper" in (tmp_path / "reports" / "report.md").read_text()


def test_merge_builds_one_run_from_several_folders(tmp_path, capsys):
    a, b, out = tmp_path / "paper", tmp_path / "strict", tmp_path / "both"
    for folder, rows in ((a, _rows("paper")), (b, _rows("strict"))):
        folder.mkdir()
        rows.to_csv(folder / "runs.csv", index=False)
    code = main(["--report-only", "--out", str(out), "--merge", f"{a},{b}", "--detectors", "nda", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    merged = pd.read_csv(out / "runs.csv")
    assert set(merged["detector"]) == {"nda"} and set(merged["selection"]) == {"paper", "strict"}
    assert len(merged) == 2 * len(SETS) * 2 * 3
    assert (out / "reports" / "policy_strict_vs_paper_paper_v1.md").exists()
    assert "strict nda: 48" in (out / MERGE_NOTE).read_text()
    # rebuilding the merge is allowed; merging into a folder with a run of its own is not
    assert main(["--report-only", "--out", str(out), "--merge", str(a), "--no-progress"]) == 0
    assert set(pd.read_csv(out / "runs.csv")["selection"]) == {"paper"}
    before = (a / "runs.csv").read_bytes()
    assert main(["--report-only", "--out", str(a), "--merge", str(b), "--no-progress"]) == 2
    assert "holds a run of its own" in capsys.readouterr().err and (a / "runs.csv").read_bytes() == before


@pytest.mark.parametrize("argv, message", [
    (["--merge", "x"], "--merge goes with --report-only"),
    (["--report-only", "--detectors", "nda"], "--detectors with --report-only needs --merge"),
    (["--report-only", "--merge", "{missing}"], "no runs.csv there"),
])
def test_merge_misuse_is_refused(tmp_path, capsys, argv, message):
    argv = [a.replace("{missing}", str(tmp_path / "nothing")) for a in argv]
    code = main(["--out", str(tmp_path / "o"), *argv])
    assert code == 2 and message in capsys.readouterr().err
