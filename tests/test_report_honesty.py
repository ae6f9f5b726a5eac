"""Reports that do not overstate (issue 15): tests that cannot be significant say so, small cells get
no reproduction verdict, every detector has its own colour and marker, LaTeX titles are not doubled."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.reports.reproduction import MIN_N_VERDICT, compare_to_paper, display_frame, load_reference, \
    summary_sentence
from benchmark.reports.stats import can_reach, smallest_wilcoxon_p
from benchmark.reports.styles import detector_styles, is_paper_detector
from benchmark.reports.tables import build_cell_table, to_latex
from tests.test_reports import _row


@pytest.mark.parametrize("n", [2, 5, 6, 8])
def test_smallest_wilcoxon_p_is_what_scipy_gives_when_every_difference_has_one_sign(n):
    x = np.arange(1.0, n + 1)
    assert stats.wilcoxon(x + np.arange(1, n + 1), x).pvalue == pytest.approx(smallest_wilcoxon_p(n))


def test_can_reach_counts_pairs_and_holm():
    assert not can_reach(5, 1) and can_reach(6, 1)
    assert not can_reach(6, 2) and can_reach(7, 2)  # Holm doubles the smallest p of two tests


def _cell_rows(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [_row(rng, detector=det, normal_class=c, gamma_l=0.05, known_classes=str(c + 1), shift=0.0)
            for c in range(n) for det in ("deep-sad", "aa-bigan")]
    frame = pd.DataFrame(rows)
    frame["method"] = frame["detector"]
    return frame


def test_a_table_says_when_no_mark_was_possible():
    table = build_cell_table(_cell_rows(2), ["dataset", "gamma_l"], "table1",
                             "Table 1: AUROC (%) on image data", "Context.")
    assert "cannot reach p < 0.05 in any cell" in table.caption
    big = build_cell_table(_cell_rows(8), ["dataset", "gamma_l"], "table1", "Table 1: AUROC (%)", "Context.")
    assert "cannot reach" not in big.caption


def test_latex_caption_does_not_repeat_the_table_number():
    table = build_cell_table(_cell_rows(3), ["dataset", "gamma_l"], "table1",
                             "Table 1: AUROC (%) on image data", "Context.")
    tex = to_latex(table, "paper_v1")
    assert r"\caption{AUROC (\%) on image data." in tex and "Table 1:" not in tex


@pytest.mark.parametrize("n, verdict", [(2, False), (MIN_N_VERDICT - 1, False), (MIN_N_VERDICT, True)])
def test_no_reproduction_verdict_below_five_experiments(n, verdict):
    cells = pd.DataFrame({"dataset": ["mnist"], "gamma_l": [0.05], "method": ["aa-bigan"], "mean": [97.0],
                          "std": [20.0], "n": [n], "status": ["ok"]})
    comparison = compare_to_paper(cells, load_reference())
    shown = display_frame(comparison)
    row = shown[shown["Detector"] == "AA-BiGAN"].iloc[0]
    assert row["This run"] == "97.0±20.0"  # the numbers stay
    if verdict:
        assert row["Within 2 SE"] == "yes" and row["Note"] == "compared"
    else:
        assert row["Within 2 SE"] == "–" and row["Within paper std"] == "–"
        assert row["Note"] == f"n < {MIN_N_VERDICT}: no verdict"
        assert "no verdict" in summary_sentence(comparison)


def test_every_detector_gets_its_own_colour_and_marker():
    methods = ["ssad-raw", "ssad-hybrid", "ss-dgm", "supervised", "deep-sad", "nda", "aad", "aa-bigan",
               "pyod-ecod", "pyod-iforest", "pyod-kde", "pyod-ocsvm", "pyod-deepsvdd", "my-plugin"]
    styles = detector_styles(methods)
    assert len({s.color for s in styles.values()}) == len(methods)
    assert len({s.marker for s in styles.values()}) == len(methods)
    for m, s in styles.items():
        assert s.filled == is_paper_detector(m) and (s.linestyle == "-") == is_paper_detector(m)
