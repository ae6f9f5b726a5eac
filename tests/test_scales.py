"""The CPU scale of the image suites: its fixed class pairs, its caps, and its name in jobs, rows and reports."""
from __future__ import annotations

import shlex

import pandas as pd
import pytest

from benchmark import PROTOCOL_VERSION
from benchmark.cli import main
from benchmark.jobs import Job, canonical_params
from benchmark.protocol import Experiment
from benchmark.reports import write_reports
from benchmark.scales import CPU_DETECTOR_PARAMS, CPU_PAIRS, IMAGE_SUITES, SCALES, apply_scale, draw_pairs
from benchmark.seeding import stable_hash
from benchmark.store import add_missing_columns
from benchmark.suites import build_experiments, build_jobs, get_suite

CLASSES = {name: tuple(range(10)) for name in ("mnist", "fashion-mnist", "cifar10")}


def test_the_written_pairs_are_the_seeded_draw_and_cover_every_normal_class_once():
    assert CPU_PAIRS == draw_pairs(10, seed=0)
    assert [n for n, _ in CPU_PAIRS] == list(range(10))
    assert all(k != n and 0 <= k < 10 for n, k in CPU_PAIRS)


def test_cpu_scale_settings_of_the_image_suites():
    for name in IMAGE_SUITES:
        suite = apply_scale(get_suite(name), SCALES["cpu"])
        assert suite.scale == "cpu" and suite.pairs == CPU_PAIRS
        assert (suite.max_train_normals, suite.max_test) == (1000, 4000)
        assert "cifar10" not in suite.datasets and suite.datasets
        assert suite.detector_params["aa-bigan"] == CPU_DETECTOR_PARAMS["aa-bigan"]
        assert not suite.paper_settings and "cpu scale" in suite.description
    paper = apply_scale(get_suite("images"), SCALES["paper"])
    assert paper.scale == "paper" and paper.pairs is None and paper.max_train_normals is None
    with pytest.raises(ValueError, match="images, pollution, diversity only"):
        apply_scale(get_suite("tabular"), SCALES["cpu"])


def test_each_experiment_uses_its_pairs_known_class():
    suite = apply_scale(get_suite("diversity"), SCALES["cpu"])
    experiments = build_experiments(suite, CLASSES)
    assert len(experiments) == 10 * 6  # 10 pairs x k_l 0..5 on Fashion-MNIST
    pairs = dict(CPU_PAIRS)
    for e in experiments:
        assert (e.max_train_normals, e.max_test) == (1000, 4000)
        assert e.known_class == (pairs[e.normal_class] if e.k_l >= 1 else None)
        if e.k_l >= 1:
            assert pairs[e.normal_class] in e.known_classes(tuple(range(10)))
    images = build_experiments(apply_scale(get_suite("images"), SCALES["cpu"]), CLASSES)
    assert len(images) == 2 * 5 * 10  # MNIST and F-MNIST x 5 γl x 10 pairs
    assert {(e.normal_class, e.known_class) for e in images if e.gamma_l > 0} == set(CPU_PAIRS)


def test_a_subset_of_the_pairs_by_normal_class_and_by_known_class():
    suite = apply_scale(get_suite("pollution"), SCALES["cpu"])
    first_six = build_experiments(suite.__class__(**{**suite.__dict__, "normal_classes": tuple(range(6))}), CLASSES)
    assert {(e.normal_class, e.known_class) for e in first_six} == set(CPU_PAIRS[:6])
    one = build_experiments(suite.__class__(**{**suite.__dict__, "normal_classes": (3,)}), CLASSES, known_classes=(2,))
    assert {(e.normal_class, e.known_class) for e in one} == {(3, 2)}
    assert build_experiments(suite.__class__(**{**suite.__dict__, "normal_classes": (3,)}), CLASSES,
                             known_classes=(4,)) == []


def test_the_scale_is_part_of_a_job_key_and_of_its_row_and_rerun_command():
    e = Experiment("fashion-mnist", 0, 8, 1, 0.05, 0.1, max_train_normals=1000, max_test=4000)
    paper = Job("pollution", e, "nda", canonical_params({}), "paper")
    cpu = Job("pollution", e, "nda", canonical_params({}), "paper", scale="cpu")
    # The paper scale keeps the key rows had before scales existed; another scale changes it.
    assert paper.key == stable_hash("job", PROTOCOL_VERSION, e.fields(), "nda", "{}", "paper")
    assert cpu.key != paper.key
    assert "--scale cpu" in cpu.rerun_command() and "--scale" not in paper.rerun_command()
    assert "cpu scale" in cpu.describe()
    jobs = build_jobs(apply_scale(get_suite("pollution"), SCALES["cpu"]), [e], ["nda"])
    assert jobs[0].scale == "cpu"
    from benchmark.jobs import _new_row

    assert _new_row(jobs[0], "cpu")["scale"] == "cpu"


def test_cli_dry_run_at_cpu_scale_and_the_rerun_of_one_job(tmp_path, capsys, data_dir):
    out = tmp_path / "o"
    assert main(["--suite", "pollution", "--scale", "cpu", "--dry-run", "--out", str(out),
                 "--data-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "350 jobs" in text and "cpu scale" in text and not out.exists()
    job = build_jobs(apply_scale(get_suite("pollution"), SCALES["cpu"]),
                     [Experiment("fashion-mnist", 4, 2, 1, 0.05, 0.2, max_train_normals=1000, max_test=4000)],
                     ["deep-sad"], rerun_options=("--out", str(out)))[0]
    argv = shlex.split(job.rerun_command())[2:]
    assert main([*argv, "--dry-run", "--data-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "1 jobs" in text and job.key in text


def test_cli_refuses_the_cpu_scale_outside_the_image_suites(tmp_path, capsys):
    assert main(["--suite", "tabular", "--scale", "cpu", "--dry-run", "--out", str(tmp_path / "o")]) == 2
    assert "--scale cpu: scale 'cpu' is defined for the suites images, pollution, diversity only" in \
        capsys.readouterr().err


def test_an_old_runs_csv_gets_the_new_columns_empty(tmp_path):
    path = tmp_path / "runs.csv"
    pd.DataFrame({"job_key": ["a", "b"], "suite": ["tabular", "tabular"], "auroc": ["0.9", ""]}).to_csv(path, index=False)
    add_missing_columns(path, ("job_key", "suite", "scale", "auroc"))
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(rows.columns) == ["job_key", "suite", "scale", "auroc"]
    assert list(rows["scale"]) == ["", ""] and list(rows["auroc"]) == ["0.9", ""]
    before = path.read_bytes()
    add_missing_columns(path, ("job_key", "suite", "scale", "auroc"))
    assert path.read_bytes() == before  # nothing to add: the file is left alone


def _row(scale: str, method: str, normal: int, gamma_l: float, auroc: float) -> dict:
    return {"job_key": f"{scale}-{method}-{normal}-{gamma_l}", "suite": "images", "protocol_version": "1",
            "dataset": "mnist", "normal_class": normal, "known_classes": "" if gamma_l == 0 else str((normal + 1) % 10),
            "k_l": 0 if gamma_l == 0 else 1, "gamma_l": gamma_l, "gamma_p": 0.0, "seed": 0, "selection": "paper",
            "scale": scale, "max_train_normals": 1000 if scale == "cpu" else "", "max_test": 4000 if scale == "cpu" else "",
            "detector": method, "detector_params": "{}", "status": "ok", "auroc": auroc, "error": "", "flags": ""}


def test_reports_never_mix_scales(tmp_path):
    rows = [_row(scale, m, n, g, 0.9 if scale == "paper" else 0.6) for scale in ("paper", "cpu")
            for m in ("aa-bigan", "deep-sad") for n in range(3) for g in (0.0, 0.05)]
    rows.append({**_row("", "nda", 0, 0.05, 0.9), "job_key": "old-row"})  # written before rows named their scale
    csv = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    names = {p.name for p in write_reports(csv, tmp_path)}
    assert {"table1_paper_v1.csv", "table1_cpu_paper_v1.csv"} <= names
    paper = pd.read_csv(tmp_path / "reports" / "table1_paper_v1.csv")
    cpu = pd.read_csv(tmp_path / "reports" / "table1_cpu_paper_v1.csv")
    assert set(paper["scale"]) == {"paper"} and set(cpu["scale"]) == {"cpu"}
    assert (paper["aa-bigan_mean"] == 90.0).all() and (cpu["aa-bigan_mean"] == 60.0).all()
    assert "nda_mean" in paper and "nda_mean" not in cpu  # the row without a scale is the paper's
    text = (tmp_path / "reports" / "table1_cpu_paper_v1.md").read_text()
    assert "(cpu scale)" in text and "CPU SCALE" in text
    assert "CPU SCALE" not in (tmp_path / "reports" / "table1_paper_v1.md").read_text()
