"""``python -m benchmark.perf`` runs and writes its CSV; no test asserts a duration."""
from __future__ import annotations

import pandas as pd
import pytest

from benchmark import perf


def test_a_tiny_perf_run_writes_one_row_per_stage(tmp_path, data_dir, capsys):
    out = tmp_path / "perf.csv"
    code = perf.main(["--max-train-normals", "200", "--epochs", "1", "--detectors", "deep-sad", "--out", str(out),
                      "--data-dir", str(data_dir)])
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == list(perf.COLUMNS)
    assert sorted(frame["stage"]) == ["autoencoder", "train"]
    assert (frame["detector"] == "deep-sad").all() and (frame["k"] == 1).all()
    assert (frame["max_train_normals"] == 200).all() and (frame["device_kind"] == "cpu").all()
    assert (frame[["wall_s_per_epoch", "cpu_s_per_epoch", "score_wall_s"]] > 0).all().all()
    assert frame["cpu"].str.contains(r"\(.+\)").all()  # model and vector level: ratios depend on them
    assert (frame["n_train"] == 210).all()  # 200 normals + int(200 * .05 / .95) collected anomalies
    text = capsys.readouterr().out
    assert "deep-sad" in text and "n/a (fewer training normals)" in text  # no ratio against full-data figures


def test_several_timed_epochs_give_their_mean_and_the_fastest(tmp_path, data_dir):
    """Three epochs per stage: two timed after the warm-up; the fastest of them is at most their mean."""
    out = tmp_path / "perf.csv"
    assert perf.main(["--max-train-normals", "100", "--epochs", "3", "--detectors", "deep-sad", "--out", str(out),
                      "--data-dir", str(data_dir)]) == 0
    frame = pd.read_csv(out)
    assert (frame["epochs_timed"] == 2).all()
    assert (frame["cpu_s_fastest_epoch"] > 0).all()
    assert (frame["cpu_s_fastest_epoch"] <= frame["cpu_s_per_epoch"]).all()


def test_the_default_csv_depends_on_device_kind_dataset_and_data_size():
    assert perf.perf_csv_path("cpu") == perf.PERF_DIR / "perf_cpu.csv"
    assert perf.perf_csv_path("cuda", 200).name == "perf_cuda_max-train-normals-200.csv"
    assert perf.perf_csv_path("cuda", 200, dataset="cifar10-jpeg").name == "perf_cuda_cifar10-jpeg_max-train-normals-200.csv"


def test_other_datasets_are_timed_on_the_same_experiment_one_csv_each(tmp_path, data_dir, monkeypatch, capsys):
    """--datasets: normal 0 / known 1 on each image set, one default CSV per dataset (MNIST's keeps
    its name), which the dry run reads for that dataset's jobs; a tabular set is refused."""
    from benchmark.timings import load_perf_timings

    monkeypatch.chdir(tmp_path)  # default CSVs go under results/perf of the working directory
    code = perf.main(["--max-train-normals", "100", "--epochs", "1", "--detectors", "supervised",
                      "--datasets", "mnist,fashion-mnist", "--data-dir", str(data_dir)])
    assert code == 0
    one = pd.read_csv(tmp_path / "results/perf/perf_cpu_max-train-normals-100.csv")
    other = pd.read_csv(tmp_path / "results/perf/perf_cpu_fashion-mnist_max-train-normals-100.csv")
    assert list(one["dataset"]) == ["mnist"] and list(other["dataset"]) == ["fashion-mnist"]
    assert (other[["normal_class", "known_class"]].values == [[0, 1]]).all() and (other["n_train"] == 105).all()
    timings = load_perf_timings("cpu", tmp_path / "results/perf")
    assert {key[0] for key in timings.entries} == {"mnist", "fashion-mnist"}
    assert "fashion-mnist" in capsys.readouterr().out
    assert perf.main(["--datasets", "cardio"]) == 2
    assert "--datasets must name image datasets" in capsys.readouterr().err


def test_only_torch_detectors_are_timed_and_unknown_names_are_refused(capsys):
    names = perf.torch_detectors()
    assert {"deep-sad", "aa-bigan", "supervised"} <= set(names)
    assert "ssad-raw" not in names and "pyod-iforest" not in names
    assert perf.main(["--detectors", "ssad-raw"]) == 2
    assert "not a registered torch detector: ssad-raw" in capsys.readouterr().err


def test_k_experiments_together_give_group_rows_and_a_ratio(tmp_path, data_dir, capsys):
    """--k 1,2: Deep SAD's rows at K = 1 and K = 2 (one fit_many of two seeds), the K = 2 epoch
    compared with twice the K = 1 one; a detector without a batched trainer is timed at K = 1 only."""
    out = tmp_path / "perf.csv"
    code = perf.main(["--max-train-normals", "200", "--epochs", "2", "--detectors", "deep-sad,supervised", "--k", "1,2",
                      "--out", str(out), "--data-dir", str(data_dir)])
    assert code == 0
    frame = pd.read_csv(out)
    assert sorted(zip(frame["detector"], frame["k"], frame["stage"])) == [
        ("deep-sad", 1, "autoencoder"), ("deep-sad", 1, "train"), ("deep-sad", 2, "autoencoder"), ("deep-sad", 2, "train"),
        ("supervised", 1, "train")]
    assert (frame["epochs_run"] == 2).all() and (frame["cpu_s_per_epoch"] > 0).all()
    # one timed epoch: the fastest is that epoch
    assert (frame["cpu_s_fastest_epoch"] == frame["cpu_s_per_epoch"]).all()
    text = capsys.readouterr().out
    assert "supervised: K = 2 skipped" in text
    rows = frame.to_dict("records")
    two = next(r for r in rows if r["k"] == 2 and r["stage"] == "train")
    one = next(r for r in rows if r["k"] == 1 and r["stage"] == "train")
    assert perf.group_ratio_text(two, rows) == f"{two['cpu_s_per_epoch'] / (2 * one['cpu_s_per_epoch']):.2f}x"
    assert perf.group_ratio_text(one, rows) == "" and perf.ratio_text(two) == ("", "")
    assert perf.group_vs_single_text(two, rows) == f"{two['cpu_s_per_epoch'] / one['cpu_s_per_epoch']:.2f}x"
    assert perf.group_vs_single_text(one, rows) == ""


def test_k_needs_a_detector_that_trains_groups_and_whole_numbers(capsys):
    with pytest.raises(ValueError, match="cannot train 2 experiments together"):
        perf.time_configuration("supervised", perf.PERF_EXPERIMENT, None, "mnist", device="cpu", epochs=1, k=2)
    assert perf.main(["--k", "1,0"]) == 2 and perf.main(["--k", "x"]) == 2
    assert "every --k" in capsys.readouterr().err


def test_ratios_only_where_the_reference_setting_applies():
    row = {"detector": "deep-sad", "stage": "train", "device_kind": "cpu", "threads": 1, "max_train_normals": None,
           "cpu_s_per_epoch": 0.4425, "wall_s_per_epoch": 0.5, "peak_rss_mib": 500.0}
    assert perf.ratio_text(row)[1] == "0.50x"  # CPU-seconds against 0.885
    assert perf.ratio_text({**row, "threads": 2})[1].startswith("n/a")
    assert perf.ratio_text({**row, "max_train_normals": 200})[1].startswith("n/a")
    assert perf.ratio_text({**row, "detector": "nda"}) == ("", "")
    assert perf.ratio_text({**row, "dataset": "fashion-mnist"})[1] == "n/a (the references are MNIST's)"
    assert perf.ratio_text({**row, "dataset": "mnist", "data": "synthetic"})[1].startswith("n/a")
    bigan = {**row, "detector": "aa-bigan", "threads": 2, "wall_s_per_epoch": 11.025, "peak_rss_mib": 1.54 * 1024}
    assert perf.ratio_text(bigan)[1] == "0.50x, mem 1.00x"  # wall seconds against 22.05, peak RSS against 1.54 GiB


def test_the_reference_figures_come_from_their_file_with_their_provenance(tmp_path):
    refs = perf.references()
    assert refs[("deep-sad", "train")].seconds_per_epoch == 0.885 and refs[("deep-sad", "train")].clock == "cpu"
    assert all(ref.what and ref.machine and ref.recorded_in for ref in refs.values())
    other = tmp_path / "references.csv"
    text = perf.REFERENCES_CSV.read_text()
    other.write_text(text.replace("0.885,cpu", "0.5,cpu"))
    assert perf.references(other)[("deep-sad", "train")].seconds_per_epoch == 0.5
    wrong = tmp_path / "wrong_clock.csv"
    wrong.write_text(text.replace("0.885,cpu", "0.885,gpu"))
    with pytest.raises(ValueError, match="clock must be one of cpu, wall"):
        perf.references(wrong)


def test_synthetic_data_has_the_files_sizes_and_is_named_in_every_row(tmp_path, data_dir, monkeypatch):
    """--synthetic-data: noise of the dataset's exact sizes (checked against the loaders here), a
    CSV of its own, and the dry run's source says what was timed."""
    import numpy as np

    from benchmark.timings import load_perf_timings
    from datasets import load_dataset

    for name in ("mnist", "fashion-mnist"):
        real, fake = load_dataset(name, data_dir), perf.synthetic_dataset(name)
        assert fake.X_train.shape == real.X_train.shape and fake.X_test.shape == real.X_test.shape
        assert (np.bincount(fake.y_train) == np.bincount(real.y_train)).all()
        assert (np.bincount(fake.y_test) == np.bincount(real.y_test)).all()
        assert fake.arch == real.arch and fake.X_train.dtype == real.X_train.dtype
        assert 0.0 <= fake.X_train.min() and fake.X_train.max() <= 1.0
    assert (perf.synthetic_dataset("mnist").X_test == perf.synthetic_dataset("mnist").X_test).all()  # seeded
    assert perf.IMAGE_SIZES["cifar10-jpeg"] == perf.IMAGE_SIZES["cifar10"]
    monkeypatch.chdir(tmp_path)
    assert perf.main(["--max-train-normals", "100", "--epochs", "1", "--detectors", "supervised", "--synthetic-data",
                      "--datasets", "cifar10-jpeg"]) == 0  # no --data-dir: no file is read
    frame = pd.read_csv(tmp_path / "results/perf/perf_cpu_cifar10-jpeg_synthetic_max-train-normals-100.csv")
    assert list(frame["data"]) == ["synthetic"] and list(frame["dataset"]) == ["cifar10-jpeg"]
    entry = load_perf_timings("cpu", tmp_path / "results/perf").entries[("cifar10-jpeg", "supervised", "100.0")]
    assert entry.source.endswith("on synthetic pixels of the dataset's sizes")


def test_a_run_cut_short_keeps_the_configurations_it_timed(tmp_path, monkeypatch):
    """The CSV is rewritten after every detector and K: an interrupt in the second keeps the first."""
    out = tmp_path / "perf.csv"
    calls = []

    def fake_child(name, k, dataset, args):
        calls.append((name, k))
        if len(calls) == 2:
            raise KeyboardInterrupt
        row = {c: None for c in perf.COLUMNS}
        row.update(detector=name, stage="train", k=k, dataset=dataset, wall_s_per_epoch=1.0, cpu_s_per_epoch=1.0)
        return [row]

    monkeypatch.setattr(perf, "_run_child", fake_child)
    with pytest.raises(KeyboardInterrupt):
        perf.main(["--detectors", "deep-sad,supervised", "--out", str(out)])
    frame = pd.read_csv(out)
    assert list(frame["detector"]) == ["deep-sad"] and calls == [("deep-sad", 1), ("supervised", 1)]
