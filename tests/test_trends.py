"""Trend tables of the figures and Table 1's agreement with the paper, on made-up rows whose answers are known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.reports import write_reports
from benchmark.reports.load import prepare_runs
from benchmark.reports.reproduction import compare_to_paper, load_reference
from benchmark.reports.trends import bootstrap_mean_interval, curve_trends, ranking_agreement, slopes, std_units, \
    table1_agreement

GAMMAS_P = (0.0, 0.01, 0.05, 0.1, 0.2)


def _rows(curve, methods: dict[str, object], normals=range(10), x="gamma_p", xs=GAMMAS_P, dataset="fashion-mnist"):
    """Rows of a pollution (or diversity) run: ``methods`` maps a detector to f(normal, x) -> AUROC in [0, 1]
    (None: n.a.)."""
    records = []
    for method, f in methods.items():
        for n in normals:
            for value in xs:
                auroc = f(n, value)
                settings = {"gamma_p": value, "k_l": 1} if x == "gamma_p" else {"gamma_p": 0.1, "k_l": value}
                records.append({
                    "job_key": f"{method}-{n}-{value}", "suite": curve, "protocol_version": "1", "dataset": dataset,
                    "normal_class": n, "known_classes": "" if settings["k_l"] == 0 else str((n + 1) % 10),
                    "gamma_l": 0.05, "seed": 0, "selection": "paper", "scale": "cpu", "detector": method,
                    "detector_params": "{}", "status": "ok" if auroc is not None else "n.a.",
                    "auroc": auroc, "error": "", "flags": "", **settings})
    return prepare_runs(pd.DataFrame(records))


def test_exact_linear_curves_give_their_slope_and_change_with_zero_width_intervals():
    # AUROC falls by 0.2 points per percentage point of γp for every pair, from a pair-dependent start.
    rows = _rows("pollution", {"aa-bigan": lambda n, g: 0.90 + 0.005 * n - 0.002 * (100 * g),
                               "deep-sad": lambda n, g: 0.80 + 0.001 * n - 0.005 * (100 * g)})
    trends = curve_trends(rows, "gamma_p", x_factor=100.0).set_index("method")
    aa, ds = trends.loc["aa-bigan"], trends.loc["deep-sad"]
    assert aa["n_pairs"] == 10 and aa["n_points"] == 5
    assert aa["slope"] == pytest.approx(-0.2) and ds["slope"] == pytest.approx(-0.5)
    assert aa["change"] == pytest.approx(-4.0) and ds["change"] == pytest.approx(-10.0)
    for row, slope, change in ((aa, -0.2, -4.0), (ds, -0.5, -10.0)):
        assert row["slope_low"] == pytest.approx(slope) and row["slope_high"] == pytest.approx(slope)
        assert row["change_low"] == pytest.approx(change) and row["change_high"] == pytest.approx(change)
    # Deep SAD loses 6 points more than AA-BiGAN on every pair: the paired test sees ten equal signs.
    assert ds["change_vs_reference"] == pytest.approx(-6.0)
    assert ds["change_vs_reference_low"] == pytest.approx(-6.0) == ds["change_vs_reference_high"]
    assert ds["p_wilcoxon_vs_reference"] == pytest.approx(2 / 2 ** 10)
    assert pd.isna(aa["change_vs_reference"])  # the reference is not compared with itself


def test_noisy_curves_intervals_cover_the_true_slope_and_change():
    rng = np.random.default_rng(3)
    noise = {(n, g): rng.normal(0, 0.01) for n in range(10) for g in GAMMAS_P}
    rows = _rows("pollution", {"aa-bigan": lambda n, g: 0.90 - 0.001 * (100 * g) + noise[n, g]})
    row = curve_trends(rows, "gamma_p", x_factor=100.0).iloc[0]
    assert row["slope_low"] < -0.1 < row["slope_high"]
    assert row["change_low"] < -2.0 < row["change_high"]
    assert row["slope_high"] - row["slope_low"] > 0.01  # noise gives a real interval, not a point
    assert row["change_low"] <= row["change"] <= row["change_high"]


def test_bootstrap_resamples_pairs_with_their_whole_curve():
    # Two groups of pairs whose curves cross: a resampling that broke the pairing across points
    # would mix first points of one group with last points of the other and widen the interval.
    rows = _rows("pollution", {"aa-bigan": lambda n, g: (0.9 - 0.01 * 100 * g) if n % 2 else (0.7 + 0.01 * 100 * g)})
    row = curve_trends(rows, "gamma_p", x_factor=100.0).iloc[0]
    assert row["change"] == pytest.approx(0.0)
    # Per-pair changes are exactly -20 and +20 points: the mean of ten lies in [-20, 20], and the interval too.
    assert -20.0 <= row["change_low"] < 0.0 < row["change_high"] <= 20.0


def test_detector_undefined_at_the_first_point_is_measured_from_its_first_defined_point():
    rows = _rows("diversity", {"aa-bigan": lambda n, k: 0.80 + 0.02 * k,
                               "supervised": lambda n, k: None if k == 0 else 0.60 + 0.05 * k},
                 x="k_l", xs=(0, 1, 2, 3, 4, 5))
    trends = curve_trends(rows, "k_l").set_index("method")
    sup = trends.loc["supervised"]
    assert (sup["first_x"], sup["last_x"], sup["n_points"]) == (1, 5, 5)
    assert sup["change"] == pytest.approx(20.0) and sup["slope"] == pytest.approx(5.0)
    # Against AA-BiGAN's change over the same two points (k_l 1 -> 5: 8 points), not over 0 -> 5.
    assert sup["change_vs_reference"] == pytest.approx(12.0)
    assert trends.loc["aa-bigan", "change"] == pytest.approx(10.0)


def test_pairs_missing_a_point_are_left_out():
    rows = _rows("pollution", {"aa-bigan": lambda n, g: 0.9 - 0.001 * 100 * g})
    rows = rows[~((rows["normal_class"] == 3) & (rows["gamma_p"] == 0.2))]
    assert curve_trends(rows, "gamma_p", 100.0).iloc[0]["n_pairs"] == 9


def test_slopes_and_bootstrap_helpers():
    xs = np.array([0.0, 1.0, 5.0, 10.0, 20.0])
    assert slopes(np.array([3.0 - 0.5 * xs, 1.0 + 2 * xs]), xs) == pytest.approx([-0.5, 2.0])
    assert bootstrap_mean_interval(np.array([2.0])) == (2.0, 2.0)
    assert all(np.isnan(bootstrap_mean_interval(np.array([]))))
    low, high = bootstrap_mean_interval(np.arange(10.0))
    assert low < 4.5 < high and low > 0 and high < 9
    assert bootstrap_mean_interval(np.arange(10.0)) == (low, high)  # seeded: the same interval every time


def test_kendall_tau_of_known_permutations():
    scores = np.array([97.0, 95.0, 93.0, 90.0, 85.0])
    assert ranking_agreement(scores, scores - 1)[0] == pytest.approx(1.0)
    assert ranking_agreement(scores, -scores)[0] == pytest.approx(-1.0)
    # One adjacent swap among five: 9 concordant and 1 discordant pair of 10, τ = 0.8.
    swapped = np.array([95.0, 97.0, 93.0, 90.0, 85.0])
    assert ranking_agreement(scores, swapped)[0] == pytest.approx(0.8)
    assert np.isnan(ranking_agreement(scores[:1], scores[:1])[0])


def test_difference_in_paper_std_units():
    assert std_units([96.0, 90.0, 80.0], [94.0, 94.0, 80.0], [2.0, 1.0, 0.0]) == pytest.approx(
        [1.0, -4.0, np.nan], nan_ok=True)


def test_table1_agreement_against_the_published_numbers():
    ref = load_reference()
    paper = ref[(ref["dataset"] == "mnist") & (ref["gamma_l"] == 0.05)]
    # Our cells: the paper's means with Deep SAD and NDA swapped, and SSAD raw 10 of its stds low.
    ours = paper[["dataset", "gamma_l", "detector", "auroc_mean", "auroc_std"]].rename(
        columns={"detector": "method", "auroc_mean": "mean", "auroc_std": "std"})
    means = ours.set_index("method")["mean"].copy()
    means["deep-sad"], means["nda"] = means["nda"], means["deep-sad"]
    means["ssad-raw"] -= 10 * paper.set_index("detector").loc["ssad-raw", "auroc_std"]
    ours = ours.assign(mean=ours["method"].map(means), n=10, status="ok")
    settings, cells = table1_agreement(compare_to_paper(ours, ref))
    assert len(settings) == 1 and settings.iloc[0]["n_methods"] == 7
    # SSAD raw falls from 6th to 7th below SS-DGM (one more discordant pair), Deep SAD/NDA swap (one more):
    # 19 concordant, 2 discordant of 21 pairs.
    assert settings.iloc[0]["kendall_tau"] == pytest.approx((19 - 2) / 21)
    z = cells.set_index("method")["diff_in_paper_std"]
    assert z["ssad-raw"] == pytest.approx(-10.0) and z["aa-bigan"] == pytest.approx(0.0)
    assert list(cells.loc[cells["beyond_two_std"], "method"]) == ["ssad-raw"]
    assert settings.iloc[0]["cells_beyond_two_std"] == "SSAD raw"
    assert cells.set_index("method").loc["aa-bigan", "rank_ours"] == 1.0


def test_reports_write_trend_tables_beside_the_figures(tmp_path):
    rows = _rows("pollution", {"aa-bigan": lambda n, g: 0.9 - 0.002 * 100 * g,
                               "nda": lambda n, g: 0.85 - 0.004 * 100 * g}, normals=range(6))
    csv = tmp_path / "runs.csv"
    rows.drop(columns=["method", "smoke", "data_cap"]).to_csv(csv, index=False)
    paths = write_reports(csv, tmp_path)
    names = {p.name for p in paths}
    assert "trends_fig2_pollution_cpu_paper_v1.csv" in names and "fig2_pollution_cpu_paper_v1.png" in names
    table = pd.read_csv(tmp_path / "reports" / "trends_fig2_pollution_cpu_paper_v1.csv")
    assert set(table["scale"]) == {"cpu"} and set(table["method"]) == {"aa-bigan", "nda"}
    assert table.set_index("method").loc["nda", "change_vs_reference"] == pytest.approx(-4.0)
    text = (tmp_path / "reports" / "trends_fig2_pollution_cpu_paper_v1.md").read_text()
    assert "(cpu scale)" in text and "CPU SCALE" in text and "Selection policy: paper" in text


def test_tied_methods_are_joined_by_an_equals_sign_in_the_ranking():
    ref = load_reference()
    paper = ref[(ref["dataset"] == "fmnist") & (ref["gamma_l"] == 0.05)]  # SSAD hybrid and Deep SAD: 90.5
    ours = paper[["dataset", "gamma_l", "detector", "auroc_mean", "auroc_std"]].rename(
        columns={"detector": "method", "auroc_mean": "mean", "auroc_std": "std"}).assign(n=10, status="ok")
    settings, cells = table1_agreement(compare_to_paper(ours, ref))
    assert "Deep SAD = SSAD hybrid" in settings.iloc[0]["ranking_paper"]
    assert settings.iloc[0]["kendall_tau"] == pytest.approx(1.0)
    assert cells.set_index("method").loc[["deep-sad", "ssad-hybrid"], "rank_paper"].tolist() == [3.5, 3.5]
