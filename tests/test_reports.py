"""Tests of benchmark.reports on a synthetic runs CSV with known numbers.

The expected values are recomputed here straight from the CSV with pandas and scipy,
independently of the report code, so a bug in aggregation cannot hide in both.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.reports import format_markdown_table, write_reports
from benchmark.reports.reproduction import REFERENCE_PATH

IMAGE_DETECTORS = ["ss-dgm", "supervised", "deep-sad", "aa-bigan"]
TABULAR_DETECTORS = ["deep-sad", "aad", "aa-bigan"]
BASE = {"ss-dgm": 0.80, "supervised": 0.85, "deep-sad": 0.90, "aad": 0.88, "aa-bigan": 0.93}


def _row(rng: np.random.Generator, **kw: object) -> dict[str, object]:
    """One runs-CSV row with plausible defaults; AUROC drawn around the detector's base."""
    det = kw["detector"]
    na = det in ("ss-dgm", "supervised") and kw["gamma_l"] == 0
    status = kw.pop("status", "n.a." if na else "ok")
    shift = kw.pop("shift", 0.0)
    auroc = float(np.clip(BASE[det] + shift + rng.normal(0, 0.03), 0, 1)) if status == "ok" else np.nan
    row = dict(job_key="", suite="images", protocol_version="1", dataset="mnist", normal_class=0,
               known_classes="1", k_l=1, gamma_l=0.0, gamma_p=0.0, seed=0, selection="paper", detector=det,
               detector_params=json.dumps({}), status=status, error="", auroc=auroc,
               auprc=auroc, n_train=100, n_collected=5, n_test=50, fit_seconds=1.0, score_seconds=0.1,
               device="cpu", selected_epoch=1, selected_score="latent", flags="", versions="{}",
               timestamp="2024-01-01T00:00:00", rerun="")
    row.update(kw)
    row["status"] = status
    key = "|".join(str(row[c]) for c in ("suite", "selection", "dataset", "normal_class", "known_classes", "k_l",
                                          "gamma_l", "gamma_p", "seed", "detector"))
    row["job_key"] = row["job_key"] or f"k{abs(hash(key)) % 10**12}-{key}"
    row["rerun"] = f"python run_benchmark.py --job {row['job_key']}"
    return row


def _image_experiments() -> list[dict[str, object]]:
    """Table 1, Fig. 2 and Fig. 3 settings on two image sets, 3 normal x 3 known classes."""
    settings = []
    for ds in ("mnist", "fmnist"):
        for c in range(3):
            knowns = [k for k in range(10) if k != c][:3]
            for kc in knowns:
                settings.append(dict(dataset=ds, normal_class=c, known_classes="", k_l=0, gamma_l=0.0, gamma_p=0.0))
                for gl in (0.05, 0.2):
                    settings.append(dict(dataset=ds, normal_class=c, known_classes=str(kc), k_l=1, gamma_l=gl,
                                         gamma_p=0.0))
                for gp in (0.05, 0.1):
                    settings.append(dict(dataset=ds, normal_class=c, known_classes=str(kc), k_l=1, gamma_l=0.05,
                                         gamma_p=gp))
                second = knowns[0] if kc != knowns[0] else knowns[1]
                settings.append(dict(dataset=ds, normal_class=c, known_classes=f"{kc};{second}", k_l=2,
                                     gamma_l=0.05, gamma_p=0.1))
                settings.append(dict(dataset=ds, normal_class=c, known_classes="", k_l=0, gamma_l=0.0, gamma_p=0.1))
    # k_l = 0 settings repeat over known classes: keep one per normal class.
    unique = {json.dumps(s, sort_keys=True): s for s in settings}
    return list(unique.values())


def build_runs(path: Path) -> pd.DataFrame:
    """The synthetic runs CSV: two policies, a smoke group, a rerun failure and a lasting failure."""
    rng = np.random.default_rng(0)
    rows = []
    for exp in _image_experiments():
        for det in IMAGE_DETECTORS:
            rows.append(_row(rng, detector=det, **exp))
            if exp["gamma_p"] == 0 and exp["k_l"] <= 1:
                rows.append(_row(rng, detector=det, selection="strict", shift=-0.05, **exp))
    for ds in ("cardio", "thyroid"):
        for seed in range(6):
            for det in TABULAR_DETECTORS:
                rows.append(_row(rng, detector=det, suite="odds", dataset=ds, normal_class=-1, known_classes="",
                                 k_l=1, gamma_l=0.01, gamma_p=0.0, seed=seed))
    for det in ("deep-sad", "aa-bigan"):
        rows.append(_row(rng, detector=det, suite="smoke", dataset="mnist", normal_class=0, known_classes="1",
                         gamma_l=0.05, max_train_normals=600, max_test=1000))
    frame = pd.DataFrame(rows)
    # A job that failed and was rerun successfully: the failure comes first, the ok row last.
    rerun = frame[(frame.dataset == "mnist") & (frame.gamma_l == 0.05) & (frame.gamma_p == 0) &
                  (frame.detector == "deep-sad") & (frame.selection == "paper")].iloc[0].copy()
    first = rerun.copy()
    first["status"], first["auroc"], first["error"] = "failed", np.nan, "CUDA out of memory"
    # A job that failed for good: its ok row is replaced by a failure.
    lasting = (frame.dataset == "fmnist") & (frame.gamma_l == 0.2) & (frame.gamma_p == 0) & \
              (frame.detector == "supervised") & (frame.selection == "paper") & (frame.normal_class == 1)
    idx = frame.index[lasting][0]
    frame.loc[idx, ["status", "auroc", "error"]] = ["failed", np.nan, "ValueError: diverged | nan loss"]
    frame = pd.concat([pd.DataFrame([first]), frame], ignore_index=True)
    frame.to_csv(path, index=False)
    return frame


def last_rows(path: Path) -> pd.DataFrame:
    """The CSV as the tests read it: last row per job key."""
    frame = pd.read_csv(path, dtype={"known_classes": str, "protocol_version": str})
    frame["known_classes"] = frame["known_classes"].fillna("")
    return frame.drop_duplicates("job_key", keep="last")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    root = tmp_path_factory.mktemp("run")
    csv = root / "runs.csv"
    build_runs(csv)
    expected = last_rows(csv)[["dataset", "normal_class", "known_classes", "k_l", "gamma_l", "gamma_p", "seed",
                               "selection", "protocol_version", "detector"]]
    extra = expected[(expected.dataset == "mnist") & (expected.gamma_l == 0.2) &
                     (expected.detector == "aa-bigan") & (expected.selection == "paper")].iloc[[0]].copy()
    extra["seed"] = 7
    paths = write_reports(csv, root, expected=pd.concat([expected, extra], ignore_index=True))
    return csv, root / "reports", paths


def test_every_file_written_and_not_empty(built: tuple[Path, Path, list[Path]]) -> None:
    _, out, paths = built
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)
    names = {p.name for p in paths}
    for stem in ("table1_paper_v1", "table1_strict_v1", "table2_paper_v1", "ranks_table1_paper_v1",
                 "reproduction_table1_paper_v1", "all_settings_smoke_paper_v1"):
        assert {f"{stem}.md", f"{stem}.tex", f"{stem}.csv"} <= names, stem
    for stem in ("fig2_pollution_paper_v1", "fig3_diversity_paper_v1", "cd_table1_paper_v1", "cd_table2_paper_v1"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names, stem
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    assert "stats_wilcoxon_paper_v1.csv" in names and paths[-1].name == "report.md"
    # Neither the strict policy nor the smoke group has tabular rows: Table 2 skipped, not failed.
    assert "table2_strict_v1.md" not in names and "table2_smoke_paper_v1.md" not in names
    # Strict rows have one γp value only: a point, not a curve, so no Fig. 2 for them.
    assert "fig3_diversity_strict_v1.png" not in names and "fig2_pollution_strict_v1.png" not in names


def _expected_cells(csv: Path, selection: str) -> pd.DataFrame:
    runs = last_rows(csv)
    t1 = runs[(runs.selection == selection) & (runs.suite != "smoke") & (runs.gamma_p == 0) &
              (runs.normal_class >= 0) & (runs.status == "ok")]
    return t1.groupby(["dataset", "gamma_l", "detector"])["auroc"].agg(
        mean=lambda v: 100 * v.mean(), std=lambda v: 100 * v.std(ddof=1), n="count").reset_index()


@pytest.mark.parametrize("selection", ["paper", "strict"])
def test_table1_numbers_match_csv(built: tuple[Path, Path, list[Path]], selection: str) -> None:
    csv, out, _ = built
    wide = pd.read_csv(out / f"table1_{selection}_v1.csv")
    assert (wide["selection"] == selection).all()
    exp = _expected_cells(csv, selection)
    assert len(exp) == 2 * 3 * 4 - 2 * 2  # two datasets, three γl, four detectors, two n.a. per γl=0 row
    for r in exp.itertuples():
        row = wide[(wide.dataset == r.dataset) & np.isclose(wide.gamma_l, r.gamma_l)]
        assert len(row) == 1
        assert row[f"{r.detector}_mean"].iloc[0] == pytest.approx(r.mean)
        assert row[f"{r.detector}_std"].iloc[0] == pytest.approx(r.std)
        assert row[f"{r.detector}_n"].iloc[0] == r.n
    # Bold maxima: exactly the detectors with the row's highest mean at the shown precision.
    for _, row in wide.iterrows():
        means = {d: row[f"{d}_mean"] for d in IMAGE_DETECTORS if row[f"{d}_status"] == "ok"}
        top = max(round(v, 1) for v in means.values())
        for d, v in means.items():
            assert bool(row[f"{d}_best"]) == (round(v, 1) == top)


def test_markdown_cells_bold_na_and_marks(built: tuple[Path, Path, list[Path]]) -> None:
    csv, out, _ = built
    md = (out / "table1_paper_v1.md").read_text()
    assert "Selection policy: paper" in md and "protocol version 1" in md
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Dataset", "γl", "SS-DGM", "Supervised", "Deep SAD", "AA-BiGAN"]
    body = {tuple(c.strip() for c in ln.strip("|").split("|")[:2]): [c.strip() for c in ln.strip("|").split("|")]
            for ln in lines[1:]}
    assert set(body) == {(d, g) for d in ("MNIST", "F-MNIST") for g in (".00", ".05", ".20")}
    for d in ("MNIST", "F-MNIST"):
        assert body[(d, ".00")][2] == "n.a." and body[(d, ".00")][3] == "n.a."
    exp = _expected_cells(csv, "paper")
    for (d, g), cells in body.items():
        sub = exp[(exp.dataset == {"MNIST": "mnist", "F-MNIST": "fmnist"}[d]) & np.isclose(exp.gamma_l, float(g))]
        best = sub.loc[sub["mean"].idxmax()]
        col = header.index({"ss-dgm": "SS-DGM", "supervised": "Supervised", "deep-sad": "Deep SAD",
                            "aa-bigan": "AA-BiGAN"}[best.detector])
        assert cells[col].startswith(f"**{best['mean']:.1f}±{best['std']:.1f}**")
    # The lasting failure is marked, the rerun one is not.
    assert body[("F-MNIST", ".20")][3].endswith("†")
    assert "†" not in body[("MNIST", ".05")][4]
    # The planned but never run job marks its cell.
    assert body[("MNIST", ".20")][5].endswith("‡")
    tex = (out / "table1_paper_v1.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\textbf{" in tex and "n.a." in tex


def test_wilcoxon_p_values_match_scipy(built: tuple[Path, Path, list[Path]]) -> None:
    csv, out, _ = built
    tests = pd.read_csv(out / "stats_wilcoxon_paper_v1.csv")
    runs = last_rows(csv)
    runs = runs[(runs.selection == "paper") & (runs.suite != "smoke") & (runs.status == "ok")]
    exp_cols = ["dataset", "normal_class", "known_classes", "k_l", "gamma_l", "gamma_p", "seed"]
    checked = 0
    for (table, ds, gl), cell in tests.groupby(["table", "dataset", "gamma_l"], dropna=False):
        sub = runs[(runs.dataset == ds) & (runs.gamma_p == 0)]
        if table == "table1":
            sub = sub[np.isclose(sub.gamma_l, gl)]
        wide = sub.pivot_table(index=exp_cols, columns="detector", values="auroc", aggfunc="first") * 100
        raw = []
        for r in cell.itertuples():
            pair = wide[[r.method, r.best]].dropna()
            assert r.n_pairs == len(pair)
            p = stats.wilcoxon(pair[r.method], pair[r.best]).pvalue
            assert r.p_raw == pytest.approx(p, rel=1e-9)
            raw.append(p)
        # Holm, written out here to check the library call: step-down, monotone, capped at 1.
        order = np.argsort(raw)
        m, running, holm = len(raw), 0.0, np.empty(len(raw))
        for i, j in enumerate(order):
            running = max(running, min(1.0, (m - i) * raw[j]))
            holm[j] = running
        assert cell["p_holm"].to_numpy() == pytest.approx(holm, rel=1e-9)
        assert (cell["significant"] == (holm < 0.05)).all()
        checked += len(cell)
    assert checked == len(tests) == 18


def test_ranks_and_friedman_match_scipy(built: tuple[Path, Path, list[Path]]) -> None:
    csv, out, _ = built
    ranks = pd.read_csv(out / "ranks_table2_paper_v1.csv")
    runs = last_rows(csv)
    t2 = runs[(runs.suite == "odds") & (runs.selection == "paper")]
    wide = t2.pivot_table(index=["dataset", "seed"], columns="detector", values="auroc") * 100
    pooled = ranks[ranks.dataset == "all"].iloc[0]
    expected_ranks = wide.rank(axis=1, ascending=False).mean()
    for det in TABULAR_DETECTORS:
        assert pooled[det] == pytest.approx(expected_ranks[det])
    assert pooled["friedman_p"] == pytest.approx(stats.friedmanchisquare(*[wide[d] for d in wide]).pvalue)
    assert pooled["n_blocks"] == 12


def test_reproduction_against_reference(built: tuple[Path, Path, list[Path]]) -> None:
    csv, out, _ = built
    rep = pd.read_csv(out / "reproduction_table1_paper_v1.csv")
    exp = _expected_cells(csv, "paper")
    ref = pd.read_csv(REFERENCE_PATH)
    row = rep[(rep.dataset == "mnist") & np.isclose(rep.gamma_l, 0.05) & (rep.method == "aa-bigan")].iloc[0]
    ours = exp[(exp.dataset == "mnist") & np.isclose(exp.gamma_l, 0.05) & (exp.detector == "aa-bigan")].iloc[0]
    assert row.paper_mean == 97.8 and row.paper_std == 2.0
    assert row["diff"] == pytest.approx(ours["mean"] - 97.8)
    assert bool(row.within_paper_std) == (abs(ours["mean"] - 97.8) <= 2.0)
    assert bool(row.within_2se) == (abs(ours["mean"] - 97.8) <= 2 * ours["std"] / np.sqrt(ours["n"]))
    # Published cells of detectors this run did not have are listed as such, n.a. agreement is noted.
    assert (rep[rep.method == "nda"]["agreement"] == "not run").all()
    assert (rep[(rep.method == "supervised") & (rep.gamma_l == 0)]["agreement"] == "both n.a.").all()
    assert set(rep.gamma_l.round(2)) == {0.0, 0.05, 0.2} and len(ref) == 70


def test_reference_csv_is_the_published_table() -> None:
    ref = pd.read_csv(REFERENCE_PATH)
    assert len(ref) == 2 * 5 * 7
    cell = ref.set_index(["dataset", "gamma_l", "detector"])
    assert tuple(cell.loc[("fmnist", 0.2, "aa-bigan"), ["auroc_mean", "auroc_std"]]) == (94.8, 4.1)
    assert tuple(cell.loc[("mnist", 0.0, "nda"), ["auroc_mean", "auroc_std"]]) == (86.5, 9.5)
    assert tuple(cell.loc[("fmnist", 0.01, "ss-dgm"), ["auroc_mean", "auroc_std"]]) == (65.1, 16.3)
    na = ref[ref.status == "n.a."]
    assert set(na.detector) == {"ss-dgm", "supervised"} and (na.gamma_l == 0).all() and len(na) == 4


def test_report_index_lists_failures_missing_and_groups(built: tuple[Path, Path, list[Path]]) -> None:
    _, out, paths = built
    index = (out / "report.md").read_text()
    assert "PARTIAL RUN" in index
    failed = index.split("## Failed jobs")[1].split("## Flagged jobs")[0]
    assert "diverged \\| nan loss" in failed and "python run_benchmark.py --job" in failed
    assert "CUDA out of memory" not in failed  # rerun successfully: no longer a failure
    missing = index.split("## Missing jobs")[1]
    assert "aa-bigan" in missing and len([ln for ln in missing.splitlines() if ln.startswith("| ")]) == 2
    for tag in ("paper_v1", "strict_v1", "smoke_paper_v1"):
        assert f"## {tag}" in index
    assert "SMOKE SETTINGS" in (out / "all_settings_smoke_paper_v1.md").read_text()
    assert "SMOKE SETTINGS" in (out / "table1_smoke_paper_v1.md").read_text()
    capped = "training normals capped at 600, test samples capped at 1000"
    assert capped in (out / "table1_smoke_paper_v1.md").read_text()
    assert "SMOKE SETTINGS" not in (out / "table1_paper_v1.md").read_text()


def test_format_markdown_table_and_tabular_only_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = [_row(rng, detector=d, suite="odds", dataset="thyroid", normal_class=-1, known_classes="", gamma_l=0.01,
                 seed=s) for s in range(3) for d in ("deep-sad", "aa-bigan")]
    csv = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    text = format_markdown_table(csv)
    assert "Selection policy: paper" in text and "**" in text and "| thyroid" in text
    assert text == format_markdown_table(pd.read_csv(csv))
    # As the runner's store reads it: empty strings kept, only the numbers parsed.
    store_style = pd.read_csv(csv, dtype={"known_classes": str}, keep_default_na=False, na_values={"auroc": [""]})
    assert text == format_markdown_table(store_style)
    paths = write_reports(csv, tmp_path)
    names = {p.name for p in paths}
    assert "table2_paper_v1.md" in names and not any(re.match(r"(table1|fig[23])_", n) for n in names)
    assert "No plan was given" in (tmp_path / "reports" / "report.md").read_text()


def test_empty_and_all_failed_runs_write_without_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rows = [_row(rng, detector=d, status="failed", error="boom", gamma_l=0.05, normal_class=c)
            for c in range(3) for d in ("deep-sad", "aa-bigan")]
    failed_csv, empty_csv = tmp_path / "failed.csv", tmp_path / "empty.csv"
    pd.DataFrame(rows).to_csv(failed_csv, index=False)
    pd.DataFrame(columns=list(rows[0])).to_csv(empty_csv, index=False)
    paths = write_reports(failed_csv, tmp_path / "a")
    md = (tmp_path / "a" / "reports" / "table1_paper_v1.md").read_text()
    assert "failed†" in md and not any(p.suffix == ".png" for p in paths)
    assert [p.name for p in write_reports(empty_csv, tmp_path / "b")] == ["report.md"]
    assert format_markdown_table(empty_csv) == "No runs.\n"


def test_reference_matches_method_md_when_available() -> None:
    """Guards the transcription: every published cell of method.md §6 is in the reference CSV."""
    doc = Path(__file__).resolve().parents[2] / "shared" / "docs" / "method.md"
    if not doc.exists():
        pytest.skip("method.md not available on this machine")
    section = doc.read_text().split("## 6.")[1]
    ref = pd.read_csv(REFERENCE_PATH).set_index(["dataset_label", "gamma_l", "detector"])
    dets = ["ssad-raw", "ssad-hybrid", "ss-dgm", "supervised", "deep-sad", "nda", "aa-bigan"]
    n = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] not in ("MNIST", "F-MNIST"):
            continue
        for det, text in zip(dets, cells[2:]):
            row = ref.loc[(cells[0], float(cells[1]), det)]
            shown = "n.a." if row.status == "n.a." else f"{row.auroc_mean:.1f}±{row.auroc_std:.1f}"
            assert shown == text, (cells[0], cells[1], det)
            n += 1
    assert n == 70


def test_protocol_versions_and_detector_configurations_never_averaged(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = []
    for version in ("1", "2"):
        for seed in range(3):
            for score in ("recon", "latent"):
                rows.append(_row(rng, detector="aa-bigan", suite="odds", dataset="cardio", normal_class=-1,
                                 known_classes="", gamma_l=0.01, seed=seed, protocol_version=version,
                                 detector_params=json.dumps({"score": score}), job_key=f"{version}-{seed}-{score}"))
    csv = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    names = {p.name for p in write_reports(csv, tmp_path)}
    assert {"table2_paper_v1.csv", "table2_paper_v2.csv"} <= names
    wide = pd.read_csv(tmp_path / "reports" / "table2_paper_v2.csv")
    frame = pd.DataFrame(rows)
    for score in ("recon", "latent"):
        col = f"aa-bigan[score:{score}]_mean"
        own = frame[(frame.protocol_version == "2") & frame.detector_params.str.contains(score)]["auroc"]
        assert wide[col].iloc[0] == pytest.approx(100 * own.mean())
    assert "protocol version 2" in (tmp_path / "reports" / "table2_paper_v2.md").read_text()


def test_a_figure_caption_counts_the_normal_classes_of_image_rows() -> None:
    from benchmark.reports.figures import _normals_text

    rows = pd.DataFrame({"normal_class": [0, 0, 3, 5, 5], "known_classes": ["1", "1;2", "2", "0", "0"]})
    assert _normals_text(rows) == ", over 3 normal classes"
    assert _normals_text(rows.iloc[:1]) == ", over 1 normal class"
    assert _normals_text(pd.DataFrame({"normal_class": [-1, -1]})) == ""  # tabular rows
