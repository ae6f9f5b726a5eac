"""A runs CSV whose last row was cut short (a kill, a full disk, a lost connection inside the write):
resume, dry run, --report-only and merge all see the same whole rows and say once what they left out;
a short write is completed, a failed one leaves the file as it was."""
from __future__ import annotations

import csv
import io
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from benchmark import store as store_module
from benchmark.cli import main
from benchmark.jobs import Job, canonical_params
from benchmark.protocol import Experiment
from benchmark.runner import run_jobs
from benchmark.store import COLUMNS, ResultsStore, append_csv_row, complete_length, merge_runs
from tests.conftest import TOY_PLUGIN

N_SEEDS = 4
TOY = ["--plugin", str(TOY_PLUGIN)]


def _jobs() -> list[Job]:
    return [Job("tabular", Experiment("thyroid", -1, None, 1, 0.01, 0.0, seed=s), "toy-centroid",
                canonical_params({}), "paper") for s in range(N_SEEDS)]


def _cli(out, data_dir, *extra: str) -> list[str]:
    return ["--suite", "tabular", *TOY, "--detectors", "toy-centroid", "--datasets", "thyroid", "--seeds",
            str(N_SEEDS), "--selection", "paper", "--out", str(out), "--data-dir", str(data_dir), "--no-progress",
            *extra]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data_dir, toy_plugin):
    """A finished run of four toy jobs: its folder, the runs CSV's bytes, where the last row starts."""
    out = tmp_path_factory.mktemp("torn") / "run"
    with ResultsStore(out) as store:
        run_jobs(_jobs(), store, data_dir=str(data_dir), progress=False)
    data = (out / "runs.csv").read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    return out, data, start


def _offset_inside(data: bytes, start: int, column: str, where: float = 0.5) -> int:
    """A byte offset inside field ``column`` of the last row (which starts at ``start``)."""
    line = data[start:].decode()
    fields = next(csv.reader(io.StringIO(line)))
    value = fields[COLUMNS.index(column)]
    assert len(value) >= 2, (column, value)
    rendered = io.StringIO()
    csv.writer(rendered, lineterminator="\n").writerow(fields[:COLUMNS.index(column) + 1])
    end_of_field = len(rendered.getvalue().rstrip("\n").encode())  # byte offset in the line after the field
    quoted = rendered.getvalue().rstrip("\n").endswith('"')
    length = len(value.encode()) + (1 if quoted else 0)
    return start + end_of_field - length + max(1, int(length * where))


CUTS = [("job_key", 0.5), ("dataset", 0.5), ("detector_params", 0.5), ("status", 0.5), ("auroc", 0.3),
        ("auroc", 0.9), ("versions", 0.5), ("rerun", 0.99)]


@pytest.mark.parametrize("column, where", CUTS, ids=[f"{c}-{w}" for c, w in CUTS])
def test_every_reader_sees_the_same_whole_rows(finished, tmp_path, capsys, data_dir, column, where):
    source, data, start = finished
    cut = _offset_inside(data, start, column, where)
    assert start < cut < len(data) - 1
    out = tmp_path / "run"
    shutil.copytree(source, out)
    (out / "runs.csv").write_bytes(data[:cut])
    whole = pd.read_csv(io.BytesIO(data[:start]))
    keys = set(whole["job_key"])
    assert len(keys) == N_SEEDS - 1

    # resume: the store's rows, and what a run would skip
    assert set(ResultsStore(out).rows()["job_key"]) == keys
    assert ResultsStore(out).resume(_jobs()).done == keys
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and str(out / "runs.csv") in err and "incomplete" in err
    assert data[start:cut].decode()[:80] in err  # the fragment that was left out (its first 80 characters)

    # dry run
    assert main(_cli(out, data_dir, "--dry-run")) == 0
    text = capsys.readouterr().out
    assert f"{N_SEEDS} jobs, {N_SEEDS - 1} already stored" in text
    assert {line.split()[1] for line in text.splitlines() if line.startswith("stored ")} == keys

    # --report-only: the cell holds the whole rows' AUROCs and nothing else
    assert main(["--report-only", "--out", str(out)]) == 0
    cells = pd.read_csv(next((out / "reports").glob("all_settings_*.csv")))
    assert cells["toy-centroid_n"].tolist() == [N_SEEDS - 1]
    assert cells["toy-centroid_mean"].iloc[0] == pytest.approx(100 * whole["auroc"].mean())
    assert "incomplete" not in capsys.readouterr().err  # said once per process and fragment

    # merge
    merged = merge_runs([out], tmp_path / "merged")
    assert set(merged["job_key"]) == keys

    # a run takes the folder: the fragment goes, the job runs again, every row is whole
    with ResultsStore(out) as store:
        summary = run_jobs(_jobs(), store, data_dir=str(data_dir), progress=False)
    assert (summary.skipped, summary.ok) == (N_SEEDS - 1, 1)
    rows = pd.read_csv(out / "runs.csv")
    assert len(rows) == N_SEEDS and rows["auroc"].notna().all()


def test_complete_length_ignores_line_ends_inside_quoted_fields():
    head = b'a,b\n1,"x\ny"\n'
    assert complete_length(head) == len(head)
    assert complete_length(head + b'2,"p\nq') == len(head)  # torn after a line end inside quotes
    assert complete_length(head + b'2,"p\n') == len(head)
    assert complete_length(b"a,b") == 0


def _row(i: int) -> dict:
    return {c: f"{c}-{i}" for c in COLUMNS}


def test_a_short_write_is_completed(tmp_path, monkeypatch):
    real_write = os.write
    calls = []

    def short_write(fd, data):
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))  # at most 7 bytes per call, as a signal or NFS may do

    path = tmp_path / "runs.csv"
    append_csv_row(path, COLUMNS, _row(0))
    monkeypatch.setattr(store_module.os, "write", short_write)
    append_csv_row(path, COLUMNS, _row(1))
    assert len(calls) > 10
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert rows.to_dict("records") == [_row(0), _row(1)]


@pytest.mark.parametrize("failure", ["no progress", "disk full"])
def test_a_failed_write_leaves_the_file_as_it_was_and_raises(tmp_path, monkeypatch, failure):
    real_write = os.write
    state = {"calls": 0}

    def failing_write(fd, data):
        state["calls"] += 1
        if state["calls"] == 1:
            return real_write(fd, bytes(data[:20]))
        if failure == "disk full":
            raise OSError(28, "No space left on device")
        return 0

    path = tmp_path / "runs.csv"
    append_csv_row(path, COLUMNS, _row(0))
    before = path.read_bytes()
    monkeypatch.setattr(store_module.os, "write", failing_write)
    with pytest.raises(OSError):
        append_csv_row(path, COLUMNS, _row(1))
    assert path.read_bytes() == before
    monkeypatch.setattr(store_module.os, "write", real_write)
    append_csv_row(path, COLUMNS, _row(2))
    assert pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records") == [_row(0), _row(2)]


def test_the_fragment_is_not_averaged_in(tmp_path, capsys):
    """The case that started it: a last row cut inside its AUROC must not count as AUROC 0."""
    rng = np.random.default_rng(0)
    path = tmp_path / "runs.csv"
    for seed in range(3):
        row = {c: "" for c in COLUMNS}
        row.update(job_key=f"k{seed}", suite="tabular", protocol_version="1", dataset="thyroid", normal_class=-1,
                   k_l=1, gamma_l=0.01, gamma_p=0.0, seed=seed, selection="paper", detector="xgbod",
                   detector_params="{}", detector_version=1, status="ok", auroc=0.9 + 0.01 * rng.random(), auprc=0.5)
        append_csv_row(path, COLUMNS, row)
    data = path.read_bytes()
    cut = data.rstrip(b"\n").rfind(b",0.9") + 3  # "...,0." : the AUROC field cut after its first digit
    path.write_bytes(data[:cut])
    from benchmark.reports import format_markdown_table

    text = format_markdown_table(path)
    assert "incomplete" in capsys.readouterr().err
    mean = pd.read_csv(io.BytesIO(data))["auroc"].iloc[:2].mean() * 100
    assert f"{mean:.1f}" in text and "±" in text
