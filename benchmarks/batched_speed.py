"""CPU seconds of K Deep SAD experiments trained one by one against the same K trained together.

Setting (issue 12): one MNIST cell, normal classes 0..K-1 (default K = 9), known anomaly class 9,
γl .05, γp 0, k_l 1, 1,000 training normals (``max_train_normals``), the paper-selection split,
Deep SAD's default parameters but ``epochs`` and ``ae_epochs`` (2 each by default). Both ways
run in this one process, side by side and alternating, timed with ``time.process_time()`` (this
process's CPU time, so other load on the machine does not count), after one warm-up fit. The
script also prints, per experiment, the largest test-score difference between the two ways next
to the difference that one-by-one training shows when its inputs move by one ulp (the
floating-point noise floor of this training: Adam turns tiny gradient differences into steps of
up to lr).

Usage: ``python benchmarks/batched_speed.py [--k 9] [--epochs 2] [--repeats 1] [--threads 1]``.
Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KNOWN_CLASS, GAMMA_L, MAX_TRAIN_NORMALS = 9, 0.05, 1000


def _splits(k: int, data_dir: str | None):
    from benchmark.protocol import Experiment, make_split
    from datasets import load_dataset

    dataset = load_dataset("mnist", data_dir)
    experiments = [Experiment("mnist", normal, KNOWN_CLASS, 1, GAMMA_L, 0.0, seed=0, max_train_normals=MAX_TRAIN_NORMALS)
                   for normal in range(k)]
    return [(e, make_split(dataset, e, "paper")) for e in experiments]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=9, help="experiments in the cell (normal classes 0..k-1, k <= 9)")
    parser.add_argument("--epochs", type=int, default=2, help="Deep SAD epochs and autoencoder epochs")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds of both ways")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    args = parser.parse_args()

    import numpy as np
    import torch

    from detectors.deep_sad import DeepSAD

    torch.set_num_threads(args.threads)
    splits = _splits(args.k, args.data_dir)
    params = dict(epochs=args.epochs, ae_epochs=args.epochs, arch="mnist", device="cpu")

    def make() -> list[DeepSAD]:
        return [DeepSAD(**params, random_state=e.split_seed()) for e, _ in splits]

    def one_by_one() -> list[DeepSAD]:
        return [det.fit(s.X_train, s.y_train) for det, (_, s) in zip(make(), splits)]

    def together() -> list[DeepSAD]:
        dets = make()
        outcomes = DeepSAD.fit_many(dets, [(s.X_train, s.y_train, None) for _, s in splits])
        assert all(o is None for o in outcomes), outcomes
        return dets

    small = splits[0][1]
    DeepSAD(**{**params, "epochs": 1, "ae_epochs": 1}, random_state=0).fit(small.X_train[:256], small.y_train[:256])
    times: dict[str, list[float]] = {"one by one": [], "together": []}
    fitted = {}
    for _ in range(args.repeats):
        for name, run in (("one by one", one_by_one), ("together", together)):
            start = time.process_time()
            fitted[name] = run()
            times[name].append(time.process_time() - start)
    # The floor of floating-point noise: the same one-by-one fits on inputs moved by one ulp.
    nudged = [det.fit(np.nextafter(s.X_train, np.float32(2)).astype(np.float32), s.y_train)
              for det, (_, s) in zip(make(), splits)]
    diffs = []
    for a, b, c, (_, s) in zip(fitted["one by one"], fitted["together"], nudged, splits):
        sa, sb, sc = (m.decision_function(s.X_test) for m in (a, b, c))
        diffs.append((float(np.max(np.abs(sb - sa))), float(np.max(np.abs(sc - sa))), float(np.median(sa))))
    n_train = sorted({len(s.X_train) for _, s in splits})
    print(f"Deep SAD, MNIST normal classes 0..{args.k - 1}, known class {KNOWN_CLASS}, gamma_l {GAMMA_L}, "
          f"{MAX_TRAIN_NORMALS} training normals (n_train {n_train}), {args.epochs} + {args.epochs} epochs, "
          f"torch {torch.__version__}, {args.threads} thread(s)")
    for name, values in times.items():
        print(f"{args.k} {name:10s}: CPU seconds {', '.join(f'{v:.1f}' for v in values)} (min {min(values):.1f})")
    ratio = min(times["together"]) / min(times["one by one"])
    print(f"ratio together / one by one: {ratio:.2f}")
    print("largest test-score difference from one-by-one training, per experiment (median score in brackets):")
    for (e, _), (together_diff, nudged_diff, median) in zip(splits, diffs):
        print(f"  normal {e.normal_class} ({median:.2f}): trained together {together_diff:.1e}; "
              f"alone on inputs moved by one ulp {nudged_diff:.1e}")


if __name__ == "__main__":
    main()
