"""Design study of AA-BiGAN's tabular (MLP) variant, chosen under the ``strict`` policy only.

The authors never released a tabular model, so every choice of the MLP variant is ours. This
script tries a small, fixed list of designs (:data:`CONFIGS`, each a change from the current
default) on the six ODDS sets of Table 2 (γl .01, γp 0) and records, per design, set and seed,
the ``strict`` validation AUROC: the validation part is 10% of the *training* data (unlabelled
samples against held-out collected anomalies), and the test part of the split is thrown away
before anything is fitted (``split.X_test`` is set to None), so no test label can reach a choice.

The measure. A first rule, fixed before the study, compared designs by the ``strict`` validation
AUROC of the late epochs. It could not tell designs apart: at γl .01 that validation part holds
one to three anomalies on four of the six sets (10% of 2 to 34 collected), so it sat at 99-100 for
every design on cardio, satimage-2 and thyroid, and on satellite it moved by 55 points between
two seeds of the same design (43.6 and 98.1) against 2-12 points between designs (the first 15
runs, in ``experiments/results/aa_bigan_tabular_study_first_rule.csv``). The measure used instead, ``design_auroc``, still
looks at training data only: the strict validation normals (10% of the training normals, never
trained on) against the *unused training outliers*, the outliers of the split's 60% training part
that were neither collected nor used as pollution (no detector sees them, and they are not in the
test part): from 9 (satimage-2) to about 1,200 (satellite) anomalies per split instead of 1 to 3.
The detector trains exactly as in a ``strict`` run (same split, same validation part for its own
epoch and score choice); the study scores the kept model on the design set afterwards.

Recorded per run (one CSV row, appended at once; a rerun skips stored rows): ``design_auroc`` (the
kept model, its chosen score), ``design_auroc_{recon,latent}`` (each score), ``val_auroc_late``
(the first rule's measure: the better score's strict validation AUROC averaged over the last
:data:`LATE_EVALUATIONS` of :data:`EVALUATIONS` evaluations), ``val_auroc_selected`` (what the
detector maximised), the selected epoch and score, epochs and steps run, seconds.

Choice rule: the design with the highest mean over the sets of the per-set mean ``design_auroc``;
a difference under one point is a tie, and a tie goes to the cheaper design (fewer training steps
summed over the six sets, shuttle included: 200 epochs are 25,000 steps there).

    python -m experiments.aa_bigan_tabular_study --csv experiments/results/aa_bigan_tabular_study.csv
    python -m experiments.aa_bigan_tabular_study --csv ... --configs base,no-bn --sets cardio --seeds 0
    python -m experiments.aa_bigan_tabular_study --csv ... --summary   # the table only
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.store import append_csv_row, cut_partial_line

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
    # round 2, added after round 1 (seed 0): more steps helped (batch-64, steps-2k); batch 64 at
    # 200 epochs would be 77,000 steps on shuttle, so the combinations fix a step budget instead
    "batch-64+steps-2k": {"batch_size": 64, "iterations": 2000},
    "batch-64+steps-5k": {"batch_size": 64, "iterations": 5000},
}
COLUMNS = ("config", "set", "seed", "params", "n_train", "n_collected", "n_val", "n_val_anomalies",
           "n_design_anomalies", "design_auroc", "design_auroc_recon", "design_auroc_latent", "val_auroc_late", "val_auroc_late_recon", "val_auroc_late_latent", "val_auroc_selected", "selected_epoch",
           "selected_score", "epochs_run", "steps_run", "seconds")


def run_one(config: str, name: str, seed: int, data_dir: str | None, threads: int) -> dict:
    """Fit one design on one strict split; the test part is dropped before the fit."""
    import torch
    from sklearn.metrics import roc_auc_score

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
    X_design = np.concatenate([split.X_val[split.y_val == 0], split.info["X_unused_train_outliers"]])
    y_design = np.r_[np.zeros(int((split.y_val == 0).sum())), np.ones(len(split.info["X_unused_train_outliers"]))]
    candidates = detector._score_candidates(torch.as_tensor(X_design, device=detector.device_))
    design = {name: 100 * roc_auc_score(y_design, scores) for name, scores in candidates.items()}
    late = [h for h in detector.history_ if "val_auroc_recon" in h][-LATE_EVALUATIONS:]
    late_mean = {name: 100 * float(np.mean([h[f"val_auroc_{name}"] for h in late])) for name in ("recon", "latent")}
    info = detector.fit_info_
    return {
        "config": config, "set": name, "seed": seed, "params": json.dumps(CONFIGS[config], sort_keys=True),
        "n_train": len(split.y_train), "n_collected": int(split.y_train.sum()), "n_val": len(split.y_val),
        "n_val_anomalies": int(split.y_val.sum()), "n_design_anomalies": int(y_design.sum()),
        "design_auroc": round(design[detector.score_name_], 3), "design_auroc_recon": round(design["recon"], 3),
        "design_auroc_latent": round(design["latent"], 3), "val_auroc_late": round(max(late_mean.values()), 3),
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
    if "design_auroc" not in table:
        return set()
    return {(r.config, r.set, int(r.seed)) for r in table[table["design_auroc"].notna()].itertuples()}


def summary(path: Path, seeds: list[int] | None = None, configs: list[str] | None = None) -> pd.DataFrame:
    """Per design: the mean over sets of the per-set mean design AUROC, and per set (the rows of
    ``seeds`` and ``configs`` only, when given)."""
    table = pd.read_csv(path)
    table = table[table["design_auroc"].notna()]
    if seeds is not None:
        table = table[table["seed"].isin(seeds)]
    if configs is not None:
        table = table[table["config"].isin(configs)]
    per_set = table.pivot_table(index="config", columns="set", values="design_auroc", aggfunc="mean")
    common = per_set.columns[per_set.notna().all(axis=0)]  # compare designs on the sets all of them ran
    out = per_set.round(1)
    out.insert(0, f"mean over {len(common)} common sets", per_set[common].mean(axis=1).round(2))
    out.insert(1, "sets", per_set.notna().sum(axis=1))
    out.insert(2, "runs", table.groupby("config").size())
    by_config = table.groupby("config")
    out.insert(3, "recon", by_config["design_auroc_recon"].mean().round(1))
    out.insert(4, "latent", by_config["design_auroc_latent"].mean().round(1))
    out.insert(5, "strict val, late", by_config["val_auroc_late"].mean().round(1))
    out.insert(6, "steps / run", by_config["steps_run"].mean().round(0))
    out.insert(7, "s / run", by_config["seconds"].mean().round(0))
    return out.sort_values(out.columns[0], ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.aa_bigan_tabular_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--sets", default=",".join(STUDY_SETS))
    parser.add_argument("--seeds", default="0,1", help="repetition indices (each its own split and init)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes, one thread each")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--summary", action="store_true",
                        help="print the table of the stored rows of --seeds (and --configs, if given) and exit")
    args = parser.parse_args()
    if not args.summary:
        unknown = sorted(set(args.configs.split(",")) - set(CONFIGS))
        if unknown:
            parser.error(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
        done = stored_keys(args.csv)
        todo = [(c, s, int(seed)) for seed in args.seeds.split(",") for c in args.configs.split(",")
                for s in args.sets.split(",") if (c, s, int(seed)) not in done]
        print(f"{len(todo)} runs to do, {len(done)} stored in {args.csv}", flush=True)
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(run_one)(c, s, seed, args.data_dir, 1) for c, s, seed in todo)
        for i, row in enumerate(runs, 1):
            append_csv_row(args.csv, COLUMNS, row)
            print(f"[{i}/{len(todo)}] {row['config']:>16} {row['set']:>11} seed {row['seed']}: "
                  f"design {row['design_auroc']:.1f}, late val {row['val_auroc_late']:.1f}, selected {row['val_auroc_selected']:.1f} "
                  f"({row['selected_score']} @ {row['selected_epoch']}) "
                  f"{row['seconds']:.0f} s", flush=True)
    if args.csv.exists():
        seeds = [int(v) for v in args.seeds.split(",")] if args.summary else None
        configs = args.configs.split(",") if args.summary and args.configs != ",".join(CONFIGS) else None
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            print(summary(args.csv, seeds, configs).to_string())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
