"""The AA-BiGAN Table 1 benchmark keeps finished pairs in its CSV and resumes after a torn write."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

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
