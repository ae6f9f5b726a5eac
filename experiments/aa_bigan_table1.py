"""The AA-BiGAN part of Table 1 at gamma_l = .05 for MNIST (paper: 97.8 +- 2.0 over 90 pairs) or
F-MNIST (paper: 94.6 +- 4.2).

Splits come from the suite's protocol (``benchmark.protocol.make_split``): one normal digit,
one known anomaly digit (k_l = 1), gamma_p = 0, the official test split; the selection policy
decides the validation part (``paper``: 200 normals + 1,800 anomalies of the test split, as the
AA-BiGAN code; ``oracle-10``; ``strict``; ``none`` = no eval_set, final epoch, recon score).

Full size on a GPU:
    python -m experiments.aa_bigan_table1 --pairs all --device cuda
Small on a CPU (e.g. three pairs, 5 epochs, 1,000 normals, 2,000 test images):
    python -m experiments.aa_bigan_table1 --pairs 0:1,3:5,7:9 --epochs 5 --max-train-normals 1000 --max-test 2000
Prints per-pair AUROC (with the chosen epoch and score) and mean +- std next to the paper's number.
``--csv FILE`` appends one row per finished pair (flushed at once) and skips the pairs FILE already
holds for the same settings, so a long run that is interrupted resumes where it stopped.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from benchmark.store import append_csv_row, cut_partial_line

PAPER = {"mnist": (97.8, 2.0), "fashion-mnist": (94.6, 4.2)}  # Table 1, gamma_l .05: mean, std over 90 pairs
ARCH = {"mnist": "mnist", "fashion-mnist": "fmnist"}
GAMMA_L = 0.05
CSV_SETTINGS = ("dataset", "epochs", "selection", "eval_every", "max_train_normals", "max_test", "seed")
CSV_COLUMNS = ("normal", "known", *CSV_SETTINGS, "auroc", "selected_epoch", "epochs_run", "selected_score", "seconds")


def _settings(args: argparse.Namespace) -> dict[str, str]:
    return {key: str(getattr(args, key)) for key in CSV_SETTINGS}


def load_done(path: Path | None, settings: dict[str, str]) -> dict[tuple[int, int], float]:
    """AUROCs of the pairs a CSV already holds for these settings (after cutting a torn last line)."""
    if path is None or not path.exists():
        return {}
    cut_partial_line(path)
    done = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                if all(row[k] == v for k, v in settings.items()):
                    done[(int(row["normal"]), int(row["known"]))] = float(row["auroc"])
            except (KeyError, TypeError, ValueError):
                continue
    return done


def parse_pairs(spec: str) -> list[tuple[int, int]]:
    if spec == "all":
        return [(n, k) for n in range(10) for k in range(10) if k != n]
    return [tuple(int(v) for v in item.split(":")) for item in spec.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.aa_bigan_table1", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(PAPER), default="mnist")
    parser.add_argument("--pairs", default="0:1,3:5,7:9", help="'all' or normal:known,normal:known,...")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--selection", choices=("paper", "oracle-10", "strict", "none"), default="paper")
    parser.add_argument("--eval-every", type=int, default=1)
    parser.add_argument("--max-train-normals", type=int, default=None)
    parser.add_argument("--max-test", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--history", action="store_true",
                        help="also print each evaluated epoch: validation AUROC of both scores and the mean D loss")
    parser.add_argument("--csv", type=Path, default=None,
                        help="append one row per pair here and skip pairs already stored for the same settings")
    parser.add_argument("--seed", type=int, default=0, help="repetition index of the experiment")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    args = parser.parse_args()

    import torch
    from sklearn.metrics import roc_auc_score

    from benchmark.protocol import Experiment, make_split
    from datasets import load_dataset
    from detectors.aa_bigan import AABiGAN

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, args.data_dir)
    policy = "strict" if args.selection == "none" else args.selection
    print(f"AA-BiGAN, {args.dataset}, gamma_l={GAMMA_L}, epochs={args.epochs}, selection={args.selection}, "
          f"max_train_normals={args.max_train_normals}, max_test={args.max_test}, device={args.device}")
    aurocs = []
    done = load_done(args.csv, _settings(args))
    for normal, known in parse_pairs(args.pairs):
        if (normal, known) in done:
            aurocs.append(done[(normal, known)])
            print(f"normal {normal} known {known}: AUROC {done[(normal, known)]:5.1f}  (stored in {args.csv})", flush=True)
            continue
        exp = Experiment(args.dataset, normal, known, k_l=1, gamma_l=GAMMA_L, gamma_p=0.0, seed=args.seed,
                         max_train_normals=args.max_train_normals, max_test=args.max_test)
        split = make_split(data, exp, policy)
        det = AABiGAN(epochs=args.epochs, device=args.device, amp=args.amp, arch=ARCH[args.dataset],
                      random_state=exp.split_seed() % 2**31,
                      eval_every=None if args.selection == "none" else args.eval_every)
        start = time.perf_counter()
        det.fit(split.X_train, split.y_train, eval_set=None if args.selection == "none" else split.eval_set)
        auc = 100 * roc_auc_score(split.y_test, det.decision_function(split.X_test))
        aurocs.append(auc)
        info = det.fit_info_
        print(f"normal {normal} known {known}: AUROC {auc:5.1f}  (epoch {info['selected_epoch']}/{info['epochs_run']}, "
              f"score {info['selected_score']}, {info['batch_normal']}+{info['batch_anomaly']} per batch, "
              f"train {split.info['n_train']}, test {split.info['n_test']}, {time.perf_counter() - start:.0f} s)",
              flush=True)
        if args.csv is not None:
            append_csv_row(args.csv, CSV_COLUMNS, {
                "normal": normal, "known": known, **_settings(args), "auroc": round(auc, 4),
                "selected_epoch": info["selected_epoch"], "epochs_run": info["epochs_run"],
                "selected_score": info["selected_score"], "seconds": round(time.perf_counter() - start, 1)})
        if args.history:
            for row in det.history_:
                if "val_auroc_recon" in row:
                    print(f"  epoch {row['epoch']:4d}  val AUROC recon {100 * row['val_auroc_recon']:5.1f}  "
                          f"latent {100 * row.get('val_auroc_latent', float('nan')):5.1f}  D_xz loss {row['loss_d_xz']:.3f}  "
                          f"D_xx loss {row['loss_d_xx']:.3f}", flush=True)
    paper_mean, paper_std = PAPER[args.dataset]
    print(f"mean AUROC {np.mean(aurocs):.1f} +- {np.std(aurocs):.1f} over {len(aurocs)} pair(s); "
          f"paper {paper_mean} +- {paper_std} over 90 pairs")


if __name__ == "__main__":
    main()
