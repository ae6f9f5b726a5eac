"""CPU-seconds per epoch of Deep SAD (autoencoder pretraining and Deep SAD training), this tree
against an earlier commit, measured side by side in one process (issue 12, part 3).

Setting: MNIST, normal digit 0, known anomaly digit 1, gamma_l .05, the ``paper`` split
(5,923 normals + 311 collected anomalies), batch 128, default Deep SAD settings (arch "mnist").
The earlier commit's ``detectors`` package is unpacked with ``git archive`` into a temporary
folder and imported under another name, so both versions run in the same process. First both
fit with the same seed and the script prints how far apart their losses and test scores are
(float rounding only, if nothing else changed). Then it times single epochs, alternating
between the two sides (A B B A ...), so that a load change on a busy machine hits both alike:
process CPU-seconds (``time.process_time``) per autoencoder epoch (a fresh autoencoder each
time) and per Deep SAD epoch (continuing the fitted detector), after one warm-up epoch per side.

How large float rounding alone makes the differences (issue 12, same code, convolutions with
oneDNN against torch's own kernels, full data, 2 + 2 epochs): autoencoder loss 2.5e-5, Deep SAD
epoch losses 6.6e-4 and 4.2e-4, test scores 8e-3 at most and 1.1e-3 in the median; Adam turns
rounding differences of near-zero gradient entries into whole steps, so they grow with training.

Against the goal of issue 12 (an epoch at most 0.5x the public code's): ``--against d6a0257``,
the commit before the first speed change, whose code issue 12 measured at 0.69-0.76x the public
code side by side; the printed ratio times that range is today's code against the public code,
whatever this machine's speed that day (the fixed reference figures printed beside are from one
earlier day).

Usage: ``python benchmarks/deep_sad_speed.py [--against main] [--pairs 6] [--threads 1]``.
Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 128  # Deep SAD's default batch size
#: This script's stage names -> the stage names of ``benchmark.perf`` (whose reference figures it prints).
PERF_STAGES = {"autoencoder": "autoencoder", "DeepSAD": "train"}
EQUALITY_EPOCHS = 2  # epochs per stage of the same-seed comparison


def import_ref_package(ref: str, workdir: Path) -> object:
    """``detectors`` as of git ``ref``, importable as ``detectors_ref`` (a separate registry and all)."""
    archive = workdir / "ref.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "detectors"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    shutil.move(str(workdir / "detectors"), str(workdir / "detectors_ref"))
    sys.path.insert(0, str(workdir))
    return importlib.import_module("detectors_ref.deep_sad")


def fit(module, X, y, epochs: int):
    """A Deep SAD of ``module`` fitted with seed 0 and ``epochs`` epochs per stage."""
    det = module.DeepSAD(epochs=epochs, ae_epochs=epochs, arch="mnist", device="cpu", random_state=0)
    return det.fit(X, y)


def ae_epoch_seconds(module, X) -> float:
    """CPU-seconds of one autoencoder pretraining epoch (a fresh autoencoder: the set-up is a few
    milliseconds of it)."""
    import torch

    start = time.process_time()
    module.train_autoencoder(X, "mnist", epochs=1, lr=1e-4, weight_decay=0.5e-3, batch_size=BATCH,
                             generator=torch.Generator().manual_seed(0), device="cpu")
    return time.process_time() - start


def sad_epoch_seconds(det, X, y) -> float:
    """CPU-seconds of one Deep SAD training epoch of the fitted ``det``."""
    det._set_train(True)
    start = time.process_time()
    det._train_epoch(1, X, y)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="main", help="git ref of the earlier code (default: main)")
    parser.add_argument("--pairs", type=int, default=6, help="timed epochs per side and stage")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from benchmark.perf import REFERENCES, load_split
    import detectors.deep_sad as new

    _, split, _ = load_split(data_dir=args.data_dir)  # the fixed experiment of benchmark.perf
    X, y = torch.as_tensor(split.X_train), torch.as_tensor(split.y_train)
    with tempfile.TemporaryDirectory() as tmp:
        old = import_ref_package(args.against, Path(tmp))
        sides = {args.against: old, "this tree": new}
        fitted = {side: fit(module, split.X_train, split.y_train, EQUALITY_EPOCHS) for side, module in sides.items()}
        print(f"Same seed, {EQUALITY_EPOCHS} epochs per stage: largest relative difference between the two sides")
        a, b = (fitted[side] for side in sides)
        print(f"  autoencoder final loss {abs(a.fit_info_['ae_final_loss'] / b.fit_info_['ae_final_loss'] - 1):.1e}, "
              "Deep SAD epoch losses " + ", ".join(f"{abs(p['loss'] / q['loss'] - 1):.1e}"
                                                   for p, q in zip(a.history_, b.history_)))
        sa, sb = a.decision_function(split.X_test), b.decision_function(split.X_test)
        print(f"  test scores {np.max(np.abs(sa - sb) / np.abs(sa)):.1e} (largest), "
              f"{np.median(np.abs(sa - sb) / np.abs(sa)):.1e} (median)")
        stages = {"autoencoder": lambda side: ae_epoch_seconds(sides[side], X),
                  "DeepSAD": lambda side: sad_epoch_seconds(fitted[side], X, y)}
        seconds = {stage: {side: [] for side in sides} for stage in stages}
        for stage, run in stages.items():
            for side in sides:  # warm-up: oneDNN builds its kernels on first use
                run(side)
            for i in range(args.pairs):
                for side in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
                    seconds[stage][side].append(run(side))
    print(f"\nCPU-seconds per epoch, {args.threads} thread(s), {args.pairs} epochs per side alternating "
          f"(median; and the median of the ratios of neighbouring epochs)")
    for stage, per_side in seconds.items():
        old_s, new_s = (per_side[side] for side in sides)
        ratios = [n / o for o, n in zip(old_s, new_s)]
        ref = REFERENCES[("deep-sad", PERF_STAGES[stage])]
        print(f"{stage:12s} {args.against}: {statistics.median(old_s):.3f} s  this tree: {statistics.median(new_s):.3f} s"
              f"  ratio {statistics.median(new_s) / statistics.median(old_s):.3f} (pairwise {statistics.median(ratios):.3f})"
              f"  [{ref.source}, {ref.threads} thread]")


if __name__ == "__main__":
    main()
