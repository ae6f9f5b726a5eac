"""Reports over many tabular sets (ADBench): one Friedman block per set, the per-set long CSV,
n.a. splits left out of the ranks with their reason, and ADBench rows kept out of Table 2.

Expected ranks are recomputed here with pandas and scipy from the synthetic rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.reports import write_reports
from benchmark.reports.aggregate import table2_rows
from benchmark.reports.load import prepare_runs
from benchmark.reports.many_sets import per_set_long, rank_rows

DETECTORS = {"devnet": 0.90, "xgbod": 0.86, "pyod-iforest": 0.80}
SETS = [f"adbench/set{i:02d}" for i in range(12)]
INFEASIBLE = ("adbench/set11", 0.05)  # a split that cannot exist: n.a. for everyone
FAILED = ("adbench/set10", 0.01, "xgbod")  # one failure drops that block from the ranks
SEEDS = 3


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    records = []
    for ds in SETS + ["cardio"]:
        for gl in (0.01, 0.05):
            for seed in range(SEEDS):
                for det, base in DETECTORS.items():
                    status, error, auroc = "ok", "", float(np.clip(base + rng.normal(0, 0.05), 0, 1))
                    if (ds, gl) == INFEASIBLE:
                        status, error, auroc = "n.a.", "split not possible: too few training outliers", np.nan
                    if (ds, gl, det) == FAILED:
                        status, error, auroc = "failed", "MemoryError: boom", np.nan
                    records.append(dict(
                        job_key=f"{ds}-{gl}-{seed}-{det}", suite="adbench", protocol_version="1", dataset=ds,
                        normal_class=-1, known_classes="1", k_l=1, gamma_l=gl, gamma_p=0.0, seed=seed,
                        selection="paper", detector=det, detector_params="{}", status=status, error=error,
                        auroc=auroc, auprc=auroc, max_train_normals=np.nan, max_test=np.nan, rerun=""))
    return pd.DataFrame.from_records(records)


def test_blocks_are_sets_not_seeds():
    runs = prepare_runs(_rows())
    long = per_set_long(runs[runs["dataset"].str.startswith("adbench/")])
    ranked = {label: (res, feasible) for label, _, res, feasible in rank_rows(long)}
    res, feasible = ranked["γl = .01"]
    assert feasible == 12 and res.n_blocks == 11 and res.n_dropped == 1  # set10 has a failed detector
    res05, feasible05 = ranked["γl = .05"]
    assert feasible05 == 11 and res05.n_blocks == 11 and res05.n_dropped == 0  # set11 cannot exist at .05
    # Recompute: mean over seeds per set, rank per set, average over the complete sets.
    part = runs[(runs["gamma_l"] == 0.01) & runs["dataset"].str.startswith("adbench/") & (runs["dataset"] != FAILED[0])]
    means = part.groupby(["dataset", "detector"])["auroc"].mean().unstack()
    expected = means.rank(axis=1, ascending=False).mean()
    for det in DETECTORS:
        assert res.avg_ranks[det] == np.float64(expected[det])
    assert res.friedman_p == stats.friedmanchisquare(*[means[c] for c in res.avg_ranks.index]).pvalue


def test_per_set_long_csv_ranks_and_reasons(tmp_path):
    path = tmp_path / "runs.csv"
    _rows().to_csv(path, index=False)
    written = {p.name for p in write_reports(path, tmp_path)}
    assert {"adbench_per_set_paper_v1.csv", "ranks_adbench_paper_v1.md", "cd_adbench_gl01_paper_v1.png",
            "cd_adbench_all_paper_v1.png"} <= written
    long = pd.read_csv(tmp_path / "reports" / "adbench_per_set_paper_v1.csv")
    assert len(long) == len(SETS) * 2 * len(DETECTORS)
    assert set(long["dataset"]) == set(SETS)  # cardio (ODDS) is not an ADBench set
    na = long[(long["dataset"] == INFEASIBLE[0]) & (long["gamma_l"] == INFEASIBLE[1])]
    assert (na["status"] == "n.a.").all() and na["reason"].str.contains("too few training outliers").all()
    assert na["rank_in_set"].isna().all()
    ok = long[long["status"] == "ok"]
    assert ok.groupby(["dataset", "gamma_l"])["rank_in_set"].min().eq(1).all()
    failed = long[(long["dataset"] == FAILED[0]) & (long["gamma_l"] == FAILED[1]) & (long["method"] == FAILED[2])]
    assert failed["status"].item() == "failed" and "MemoryError" in failed["reason"].item()
    text = (tmp_path / "reports" / "ranks_adbench_paper_v1.md").read_text()
    assert "11 of 12" in text and "11 of 11" in text


def test_table2_keeps_only_the_odds_sets():
    runs = prepare_runs(_rows())
    assert set(table2_rows(runs)["dataset"]) == {"cardio"}
