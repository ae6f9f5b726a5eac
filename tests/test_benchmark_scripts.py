"""The scripts beside the suite: the Table 1 experiment resumes from its CSV, the speed scripts
run as modules and compare this tree with an earlier commit, the GPU script rehearses on a CPU."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--max-train-normals", "200", "--max-test", "300", "--device", "cpu", "--threads", "1"]


def _module(module: str, *args: str) -> str:
    """``python -m module args`` from the repository root; its standard output."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def _run(data_dir: Path, out: Path, pairs: str) -> str:
    return _module("experiments.aa_bigan_table1", "--pairs", pairs, *TINY, "--csv", str(out), "--data-dir", str(data_dir))


def test_table1_csv_resumes(data_dir, tmp_path):
    out = tmp_path / "table1.csv"
    first = _run(data_dir, out, "0:1")
    assert "stored in" not in first
    with out.open("a") as f:
        f.write("0,2,1,pap")  # a run killed in the middle of a write
    second = _run(data_dir, out, "0:1,0:2")
    assert "normal 0 known 1" in second and "stored in" in second.split("normal 0 known 2")[0]
    assert "normal 0 known 2: AUROC" in second and "stored in" not in second.split("normal 0 known 2")[1]
    rows = [r for r in csv.DictReader(out.open()) if r["auroc"]]
    assert [(r["normal"], r["known"]) for r in rows] == [("0", "1"), ("0", "2")]
    assert all(0 <= float(r["auroc"]) <= 100 for r in rows)


@pytest.mark.slow
def test_the_prepared_gpu_script_rehearses_on_a_cpu(data_dir, tmp_path):
    """benchmark/speed/gpu_perf.sh with QUICK=1 (tiny sizes, K = 1 and 2, CPU): every step writes its
    files and the dry run estimates every job of AA-BiGAN's Table 1 from them."""
    import os

    import pandas as pd

    out = tmp_path / "out"
    env = {**os.environ, "QUICK": "1", "BENCH_DATA_DIR": str(data_dir), "OUT": str(out), "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "benchmark" / "speed" / "gpu_perf.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    names = {p.name for p in out.glob("perf_cpu_*.csv")}
    assert names == {"perf_cpu_mnist_groups.csv", "perf_cpu_fmnist_groups.csv", "perf_cpu_cifar10_synthetic_groups.csv",
                     "perf_cpu_mnist_others.csv"}
    groups = pd.read_csv(out / "perf_cpu_mnist_groups.csv")
    assert sorted(set(zip(groups["detector"], groups["k"]))) == [("aa-bigan", 1), ("aa-bigan", 2), ("deep-sad", 1),
                                                                  ("deep-sad", 2)]
    dry = (out / "table1_dry_run.txt").read_text()
    # on a CPU the dry run plans image jobs one by one (detectors.batched.stacking_pays), from the K = 1 rows
    assert "1110 jobs" in dry and "estimated" in dry and "for 1110 of 1110" in dry


def test_speed_rounds_alternate_and_an_unknown_commit_is_named():
    from benchmark.speed.harness import alternating, commit_name

    assert list(alternating(["a", "b"], 3)) == [(0, "a"), (0, "b"), (1, "b"), (1, "a"), (2, "a"), (2, "b")]
    with pytest.raises(SystemExit, match="'no-such-commit' is not a commit"):
        commit_name("no-such-commit")


def test_a_side_runs_the_detectors_of_its_own_tree(data_dir, tmp_path):
    """The earlier side imports the exported commit's detectors, this tree's side this checkout's;
    a folder without a detectors package is refused (the child would fall back on this tree's)."""
    from benchmark.speed.harness import ROOT, export_detectors, run_side

    tree = export_detectors("HEAD", tmp_path / "earlier")
    args = ["--child", "--max-train-normals", "20", "--data-dir", str(data_dir)]
    earlier = run_side("benchmark.speed.deep_sad", args, tree, threads=1)
    assert earlier["detectors_origin"] == str((tree / "detectors").resolve())
    assert set(earlier["seconds"]) == {"autoencoder", "train"} and len(earlier["seconds"]["train"]) == 2
    assert run_side("benchmark.speed.deep_sad", args, None, threads=1)["detectors_origin"] == str(ROOT / "detectors")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="imported detectors from"):
        run_side("benchmark.speed.deep_sad", args, tmp_path / "empty", threads=1)


def test_deep_sad_speed_against_a_commit(data_dir):
    out = _module("benchmark.speed.deep_sad", "--against", "HEAD", "--pairs", "1", "--max-train-normals", "50",
                  "--data-dir", str(data_dir))
    assert "test scores" in out and "autoencoder final loss" in out
    assert [line.split()[0] for line in out.splitlines() if " ratio " in line] == ["autoencoder", "train"]
    assert "HEAD (" in out and "this tree (" in out


def test_aa_bigan_speed_against_a_commit(data_dir):
    out = _module("benchmark.speed.aa_bigan", "--against", "HEAD", "--rounds", "2", "--epochs", "1",
                  "--max-train-normals", "50", "--threads", "1", "--data-dir", str(data_dir))
    assert out.count("round ") == 4 and "ratio" in out and "peak RSS" in out
    assert out.index("round 2, this tree") < out.index("round 2, HEAD")  # the second round starts with this tree
