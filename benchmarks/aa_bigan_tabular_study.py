"""Design study of AA-BiGAN's tabular (MLP) variant, chosen under the ``strict`` policy only.

The authors never released a tabular model, so every choice of the MLP variant is ours. This
script tries a small, fixed list of designs (:data:`CONFIGS`, each a change from the current
default) on the six ODDS sets of Table 2 (γl .01, γp 0) and records, per design, set and seed,
the ``strict`` validation AUROC: the validation part is 10% of the *training* data (unlabelled
samples against held-out collected anomalies), and the test part of the split is thrown away
before anything is fitted (``split.X_test`` is set to None), so no test label can reach a choice.

What is recorded per run (one CSV row, appended at once; a rerun skips stored rows):
``val_auroc_late_{recon,latent}``, each score's validation AUROC averaged over the last
:data:`LATE_EVALUATIONS` of the run's :data:`EVALUATIONS` evaluations, and ``val_auroc_late``, the
better of the two (the paper's rule picks the better score on validation);
``val_auroc_selected``, the validation AUROC of the epoch and score the detector keeps; the
selected epoch and score; epochs and steps run; seconds.

Why the late average and not the selected value: at γl .01 the strict validation part holds one
to three anomalies on four of the six sets, so the maximum over 100 candidates (50 evaluations x
2 scores) is close to 100 for almost any design (a trial run: 91.3 and 100.0 for two designs on
arrhythmia and cardio, identical), while an average over the end of training with only two
candidates is not a maximum of noise. Choice rule (fixed before the study ran): the design with
the highest mean over the sets of the per-set mean ``val_auroc_late``; a difference under one
point is read as a tie, and a tie goes to the cheaper design (fewer steps).

    python benchmarks/aa_bigan_tabular_study.py --csv benchmarks/results/aa_bigan_tabular_study.csv
    python benchmarks/aa_bigan_tabular_study.py --csv ... --configs base,no-bn --sets cardio --seeds 0
    python benchmarks/aa_bigan_tabular_study.py --csv ... --summary   # the table only
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark.store import append_csv_row, cut_partial_line  # noqa: E402  (after the path insert)

SETS = ("arrhythmia", "cardio", "satellite", "satimage-2", "shuttle", "thyroid")
# shuttle (24,865 training rows: 125 steps per epoch, as long as the other five sets together) is
# left out of the comparison of designs by default and run for the base and the chosen design.
STUDY_SETS = tuple(s for s in SETS if s != "shuttle")
GAMMA_L = 0.01
SELECTION = "strict"
EVALUATIONS = 50  # validation evaluations per run, spread evenly, whatever the run's length
LATE_EVALUATIONS = 10  # the study's measure averages these last evaluations
# Each design is a change from the detector's defaults (200 epochs, Deep SAD's MLP widths, BN in
# E and G, batch 200, the anomaly batch rule, lr 1e-4 / 2.5e-5, Deep SAD's representation size).
CONFIGS: dict[str, dict] = {
    "base": {},
    "steps-2k": {"iterations": 2000},
    "lr-x4": {"lr": 4e-4, "lr_d": 1e-4},
    "wide-128-64": {"mlp_hidden": (128, 64)},
    "no-bn": {"mlp_batchnorm": False},
    "anomaly-batch-16": {"anomaly_batch_size": 16},
    "batch-64": {"batch_size": 64},
    "latent-32": {"latent_dim": 32},
}
COLUMNS = ("config", "set", "seed", "params", "n_train", "n_collected", "n_val", "n_val_anomalies",
           "val_auroc_late", "val_auroc_late_recon", "val_auroc_late_latent", "val_auroc_selected", "selected_epoch",
           "selected_score", "epochs_run", "steps_run", "seconds")


def run_one(config: str, name: str, seed: int, data_dir: str | None, threads: int) -> dict:
    """Fit one design on one strict split; the test part is dropped before the fit."""
    import torch

    from benchmark.jobs import _dataset
    from benchmark.protocol import Experiment, make_split
    from detectors.aa_bigan import AABiGAN

    torch.set_num_threads(threads)
    experiment = Experiment(name, -1, None, 1, GAMMA_L, 0.0, seed)
    split = make_split(_dataset(name, data_dir), experiment, SELECTION)
    split.X_test = split.y_test = None  # never scored, never looked at
    params = {**CONFIGS[config], "n_evaluations": EVALUATIONS}
    detector = AABiGAN(**params, arch=name, device="cpu", random_state=experiment.split_seed())
    start = time.perf_counter()
    detector.fit(split.X_train, split.y_train, eval_set=split.eval_set)
    seconds = time.perf_counter() - start
    late = [h for h in detector.history_ if "val_auroc_recon" in h][-LATE_EVALUATIONS:]
    late_mean = {name: 100 * float(np.mean([h[f"val_auroc_{name}"] for h in late])) for name in ("recon", "latent")}
    info = detector.fit_info_
    return {
        "config": config, "set": name, "seed": seed, "params": json.dumps(CONFIGS[config], sort_keys=True),
        "n_train": len(split.y_train), "n_collected": int(split.y_train.sum()), "n_val": len(split.y_val),
        "n_val_anomalies": int(split.y_val.sum()), "val_auroc_late": round(max(late_mean.values()), 3),
        "val_auroc_late_recon": round(late_mean["recon"], 3), "val_auroc_late_latent": round(late_mean["latent"], 3),
        "val_auroc_selected": round(100 * info["val_auroc"], 3),
        "selected_epoch": info["selected_epoch"], "selected_score": info["selected_score"],
        "epochs_run": info["epochs_run"], "steps_run": info["epochs_run"] * detector._batches_per_epoch(),
        "seconds": round(seconds, 1),
    }


def stored_keys(path: Path) -> set[tuple[str, str, int]]:
    if not path.exists():
        return set()
    cut_partial_line(path)
    table = pd.read_csv(path)
    return {(r.config, r.set, int(r.seed)) for r in table.itertuples()}


def summary(path: Path) -> pd.DataFrame:
    """Per design: the mean over sets of the per-set mean late validation AUROC, and per set."""
    table = pd.read_csv(path)
    per_set = table.pivot_table(index="config", columns="set", values="val_auroc_late", aggfunc="mean")
    out = per_set.round(1)
    out.insert(0, "mean over sets", per_set.mean(axis=1).round(2))
    out.insert(1, "sets", per_set.notna().sum(axis=1))
    out.insert(2, "runs", table.groupby("config").size())
    by_config = table.groupby("config")
    out.insert(3, "late recon", by_config["val_auroc_late_recon"].mean().round(1))
    out.insert(4, "late latent", by_config["val_auroc_late_latent"].mean().round(1))
    out.insert(5, "selected", by_config["val_auroc_selected"].mean().round(1))
    out.insert(6, "steps / run", by_config["steps_run"].mean().round(0))
    out.insert(7, "s / run", by_config["seconds"].mean().round(0))
    return out.sort_values("mean over sets", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--sets", default=",".join(STUDY_SETS))
    parser.add_argument("--seeds", default="0,1", help="repetition indices (each its own split and init)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes, one thread each")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--summary", action="store_true", help="print the table of the stored rows and exit")
    args = parser.parse_args()
    if not args.summary:
        unknown = sorted(set(args.configs.split(",")) - set(CONFIGS))
        if unknown:
            parser.error(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
        done = stored_keys(args.csv)
        todo = [(c, s, int(seed)) for c in args.configs.split(",") for s in args.sets.split(",")
                for seed in args.seeds.split(",") if (c, s, int(seed)) not in done]
        print(f"{len(todo)} runs to do, {len(done)} stored in {args.csv}", flush=True)
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(run_one)(c, s, seed, args.data_dir, 1) for c, s, seed in todo)
        for i, row in enumerate(runs, 1):
            append_csv_row(args.csv, COLUMNS, row)
            print(f"[{i}/{len(todo)}] {row['config']:>16} {row['set']:>11} seed {row['seed']}: "
                  f"late val {row['val_auroc_late']:.1f}, selected {row['val_auroc_selected']:.1f} "
                  f"({row['selected_score']} @ {row['selected_epoch']}) "
                  f"{row['seconds']:.0f} s", flush=True)
    if args.csv.exists():
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(summary(args.csv).to_string())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
