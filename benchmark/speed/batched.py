"""CPU seconds of K experiments of one cell trained one by one against the same K trained together.

Setting: one MNIST cell, normal classes 0..K-1 (default K = 9), known anomaly class 9, γl .05, γp 0,
k_l 1, 1,000 training normals (``max_train_normals``), the paper-selection split, Deep SAD's default
parameters but ``epochs`` and ``ae_epochs`` (2 each by default). With ``--dataset`` an ODDS set
(e.g. ``cardio``) the cell is that set's tabular cell (γl .01, γp 0) and its K experiments are seeds
0..K-1, on the MLP nets. ``--detector aa-bigan`` times AA-BiGAN instead (``epochs`` epochs; batch 64
on tables, as its tabular design). Together means one :func:`detectors.batched.fit_many` (stacked
copies under ``vmap``; the runner groups image experiments so only on a GPU,
:func:`detectors.batched.stacking_pays`). Both ways run in this one process, side by side and
alternating, timed with ``time.process_time()`` (this process's CPU time, so other load on the
machine does not count), after one warm-up fit. The script also prints, per experiment, the largest
test-score difference between the two ways next to the difference that one-by-one training shows
when its inputs move by one ulp (the floating-point noise floor of this training: Adam turns tiny
gradient differences into steps of up to lr).

    python -m benchmark.speed.batched [--k 9] [--epochs 2] [--repeats 1] [--threads 1]
        [--dataset mnist|cardio|...] [--detector deep-sad|aa-bigan]

Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import os
import time

KNOWN_CLASS, GAMMA_L, MAX_TRAIN_NORMALS = 9, 0.05, 1000
TABULAR_GAMMA_L = 0.01  # the tabular suite's


def _splits(k: int, data_dir: str | None, name: str):
    from benchmark.protocol import Experiment, make_split
    from datasets import load_dataset

    dataset = load_dataset(name, data_dir)
    if name == "mnist":
        experiments = [Experiment("mnist", normal, KNOWN_CLASS, 1, GAMMA_L, 0.0, seed=0,
                                  max_train_normals=MAX_TRAIN_NORMALS) for normal in range(k)]
    else:
        experiments = [Experiment(name, -1, None, 1, TABULAR_GAMMA_L, 0.0, seed=seed) for seed in range(k)]
    return [(e, make_split(dataset, e, "paper")) for e in experiments]


def _params(detector: str, epochs: int, dataset: str) -> dict:
    arch = "mnist" if dataset == "mnist" else "auto"
    if detector == "deep-sad":
        return dict(epochs=epochs, ae_epochs=epochs, arch=arch, device="cpu")
    return dict(epochs=epochs, arch=arch, device="cpu")  # batch: 200 on images, the tabular design's 64 on tables


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark.speed.batched", description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=9, help="experiments in the cell (normal classes 0..k-1, k <= 9)")
    parser.add_argument("--epochs", type=int, default=2, help="Deep SAD epochs and autoencoder epochs")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds of both ways")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    parser.add_argument("--dataset", default="mnist", help="mnist, or an ODDS set (its tabular cell, seeds 0..k-1)")
    parser.add_argument("--detector", default="deep-sad", choices=("deep-sad", "aa-bigan"))
    args = parser.parse_args()

    import numpy as np
    import torch

    from detectors.aa_bigan import AABiGAN
    from detectors.batched import fit_many
    from detectors.deep_sad import DeepSAD

    torch.set_num_threads(args.threads)
    splits = _splits(args.k, args.data_dir, args.dataset)
    params = _params(args.detector, args.epochs, args.dataset)
    cls = DeepSAD if args.detector == "deep-sad" else AABiGAN

    def make() -> list:
        return [cls(**params, random_state=e.split_seed()) for e, _ in splits]

    def one_by_one() -> list:
        return [det.fit(s.X_train, s.y_train) for det, (_, s) in zip(make(), splits)]

    def together() -> list:
        dets = make()
        outcomes = fit_many(dets, [(s.X_train, s.y_train, None) for _, s in splits])
        assert all(o is None for o in outcomes), outcomes
        return dets

    small = splits[0][1]
    warm = np.r_[np.flatnonzero(small.y_train == 0)[:256], np.flatnonzero(small.y_train == 1)]
    cls(**{**params, "epochs": 1}, random_state=0).fit(small.X_train[warm], small.y_train[warm])
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
    cell = (f"MNIST normal classes 0..{args.k - 1}, known class {KNOWN_CLASS}, gamma_l {GAMMA_L}, "
            f"{MAX_TRAIN_NORMALS} training normals" if args.dataset == "mnist"
            else f"{args.dataset} seeds 0..{args.k - 1}, gamma_l {TABULAR_GAMMA_L}")
    print(f"{args.detector}, {cell} (n_train {n_train}), {args.epochs} epochs (Deep SAD: and as many autoencoder "
          f"epochs), torch {torch.__version__}, {args.threads} thread(s)")
    for name, values in times.items():
        print(f"{args.k} {name:10s}: CPU seconds {', '.join(f'{v:.1f}' for v in values)} (min {min(values):.1f})")
    ratio = min(times["together"]) / min(times["one by one"])
    print(f"ratio together / one by one: {ratio:.2f}")
    print("largest test-score difference from one-by-one training, per experiment (median score in brackets):")
    for (e, _), (together_diff, nudged_diff, median) in zip(splits, diffs):
        print(f"  normal {e.normal_class} seed {e.seed} ({median:.2f}): trained together {together_diff:.1e}; "
              f"alone on inputs moved by one ulp {nudged_diff:.1e}")


if __name__ == "__main__":
    main()
