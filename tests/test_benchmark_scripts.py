"""The AA-BiGAN Table 1 benchmark keeps finished pairs in its CSV and resumes after a torn write."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--max-train-normals", "200", "--max-test", "300", "--device", "cpu", "--threads", "1"]


def _run(data_dir: Path, out: Path, pairs: str) -> str:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "aa_bigan_table1.py"), "--pairs", pairs, *TINY, "--csv", str(out),
           "--data-dir", str(data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


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
    """benchmarks/gpu_issue12.sh with QUICK=1 (tiny sizes, K = 1 and 2, CPU): every step writes its
    files and the dry run estimates every job of AA-BiGAN's Table 1 from them (about 4 min)."""
    import os

    out = tmp_path / "out"
    env = {**os.environ, "QUICK": "1", "BENCH_DATA_DIR": str(data_dir), "OUT": str(out), "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_issue12.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    names = {p.name for p in out.glob("perf_cpu_*.csv")}
    assert names == {"perf_cpu_mnist_groups.csv", "perf_cpu_fmnist_groups.csv", "perf_cpu_cifar10_synthetic_groups.csv",
                     "perf_cpu_mnist_others.csv"}
    dry = (out / "table1_dry_run.txt").read_text()
    assert "1110 jobs" in dry and "estimated" in dry and "for 1110 of 1110" in dry and "K = 2 measured" in dry
