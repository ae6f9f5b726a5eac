"""Peak memory and time of an exact SSAD fit on one full MNIST class.

Normal class digit 0 (all 5,923 training images) plus γl .05 collected anomalies of digit 1
(int(5923 * .05 / .95) = 311 images, seeded), as in the one-vs-rest protocol. Fits ``ssad-raw``
once (median-heuristic gamma: one QP; ``--select`` fits the whole gamma grid against an
oracle-10 eval set instead) and prints fit time, scoring time, test AUROC and the process's
peak resident memory (``ru_maxrss``).

    python -m benchmark.speed.ssad_memory [--data-dir DIR] [--select]

Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from datasets import load_dataset
from detectors.ssad import SSADRaw

NORMAL, KNOWN, GAMMA_L, SEED = 0, 1, 0.05, 0
ORACLE_FRACTION = 0.1


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark.speed.ssad_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    parser.add_argument("--select", action="store_true", help="fit the whole gamma grid on an oracle-10 eval set")
    args = parser.parse_args()

    ds = load_dataset("mnist", args.data_dir)
    rng = np.random.default_rng(SEED)
    normals = np.flatnonzero(ds.y_train == NORMAL)
    n_anom = int(len(normals) * GAMMA_L / (1 - GAMMA_L))
    anomalies = rng.choice(np.flatnonzero(ds.y_train == KNOWN), n_anom, replace=False)
    X = ds.X_train[np.r_[normals, anomalies]]
    y = np.r_[np.zeros(len(normals)), np.ones(n_anom)].astype(np.int64)
    y_test = (ds.y_test != NORMAL).astype(np.int64)
    eval_set = None
    if args.select:
        val = np.concatenate([rng.choice(np.flatnonzero(y_test == c), int(ORACLE_FRACTION * (y_test == c).sum()),
                                         replace=False) for c in (0, 1)])
        eval_set = (ds.X_test[val], y_test[val])
    X_test = ds.X_test
    del ds  # the 60,000 training images are no longer needed
    print(f"training set: {len(normals)} normals + {n_anom} collected anomalies = {len(X)} points, "
          f"{X[0].size} features; peak RSS before fit {peak_rss_mb():.0f} MiB")

    det = SSADRaw(verbose=True)
    start = time.perf_counter()
    det.fit(X, y, eval_set=eval_set)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    scores = det.decision_function(X_test)
    score_s = time.perf_counter() - start
    print(f"fit {fit_s:.1f} s, scoring {len(scores)} test images {score_s:.1f} s, "
          f"test AUROC {roc_auc_score(y_test, scores):.4f}")
    print(f"fit_info: {det.fit_info_}")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
