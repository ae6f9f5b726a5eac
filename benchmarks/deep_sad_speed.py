"""CPU-seconds per epoch of Deep SAD (autoencoder pretraining and Deep SAD training), this tree
against an earlier commit, measured side by side in one process (issue 12, part 3).

Setting: MNIST, normal digit 0, known anomaly digit 1, gamma_l .05, the ``paper`` split
(5,923 normals + 311 collected anomalies), batch 128, default Deep SAD settings (arch "mnist").
The earlier commit's ``detectors`` package is unpacked with ``git archive`` into a temporary
folder and imported under another name, so both versions train in the same process and the
rounds alternate between them (A, B, B, A, ...): on a loaded machine a load change then hits
both sides alike. Times are process CPU-seconds (``time.process_time``) per epoch, taken from
the epoch hook of :mod:`detectors.progress`; the first epoch of each stage is a warm-up and is
left out. The same seed must give the same losses on both sides up to float noise; the script
prints the largest relative difference of the per-epoch losses.

Usage: ``python benchmarks/deep_sad_speed.py [--against main] [--rounds 3] [--epochs 3]
[--threads 1]``. Not a test: it prints numbers.
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

#: The fixed experiment of issue 12 (also the one of ``benchmark.perf``).
DATASET, NORMAL, KNOWN, K_L, GAMMA_L, GAMMA_P, SEED = "mnist", 0, 1, 1, 0.05, 0.0, 0
#: The public Deep SAD code on this machine, CPU-seconds per epoch with 1 thread (measured for issue 12).
PUBLIC_SECONDS = {"autoencoder": (2.07, 2.16), "DeepSAD": (0.86, 0.91)}


def import_ref_package(ref: str, workdir: Path) -> object:
    """``detectors`` as of git ``ref``, importable as ``detectors_ref`` (a separate registry and all)."""
    archive = workdir / "ref.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "detectors"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    shutil.move(str(workdir / "detectors"), str(workdir / "detectors_ref"))
    sys.path.insert(0, str(workdir))
    return importlib.import_module("detectors_ref.deep_sad")


def fit_timed(module, X, y, epochs: int) -> dict[str, list[tuple[float, float]]]:
    """Fit Deep SAD from ``module``; per stage, (CPU-seconds, loss) of every epoch."""
    from detectors.progress import epoch_listener

    listener_module = importlib.import_module(module.__name__.rsplit(".", 1)[0] + ".progress")
    marks: list[tuple[str, float]] = []
    start = time.process_time()

    def listen(stage: str, epoch: int, total: int) -> None:
        marks.append((stage, time.process_time()))

    det = module.DeepSAD(epochs=epochs, ae_epochs=epochs, arch="mnist", device="cpu", random_state=0)
    history: list[float] = []
    train_autoencoder = module.train_autoencoder

    def recording(*args, **kwargs):  # keep the autoencoder's per-epoch losses
        result = train_autoencoder(*args, **kwargs)
        history.extend(kwargs.get("history") or [])
        return result

    module.train_autoencoder = recording
    try:
        with epoch_listener(listen), listener_module.epoch_listener(listen):
            det.fit(X, y)
    finally:
        module.train_autoencoder = train_autoencoder
    out: dict[str, list[tuple[float, float]]] = {"autoencoder": [], "DeepSAD": []}
    prev = start
    losses = {"autoencoder": iter(history), "DeepSAD": iter(h["loss"] for h in det.history_)}
    for stage, now in marks:
        out[stage].append((now - prev, next(losses[stage])))
        prev = now
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="main", help="git ref of the earlier code (default: main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per stage and fit (the first is a warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from benchmark.jobs import _dataset
    from benchmark.protocol import Experiment, make_split
    import detectors.deep_sad as new

    split = make_split(_dataset(DATASET, args.data_dir),
                       Experiment(DATASET, NORMAL, KNOWN, K_L, GAMMA_L, GAMMA_P, SEED), "paper")
    with tempfile.TemporaryDirectory() as tmp:
        old = import_ref_package(args.against, Path(tmp))
        sides = {args.against: old, "this tree": new}
        seconds: dict[str, dict[str, list[float]]] = {s: {"autoencoder": [], "DeepSAD": []} for s in sides}
        losses: dict[str, dict[str, list[float]]] = {}
        order = list(sides)
        for r in range(args.rounds):
            for side in (order if r % 2 == 0 else order[::-1]):
                timed = fit_timed(sides[side], split.X_train, split.y_train, args.epochs)
                for stage, values in timed.items():
                    seconds[side][stage] += [s for s, _ in values[1:]]
                losses[side] = {stage: [loss for _, loss in values] for stage, values in timed.items()}
                print(f"round {r + 1} {side:10s} " + "  ".join(
                    f"{stage} " + " ".join(f"{s:.3f}" for s, _ in values) for stage, values in timed.items()),
                    flush=True)
    print(f"\nCPU-seconds per epoch (median after warm-up), {args.threads} thread(s), "
          f"{args.rounds} rounds x {args.epochs - 1} timed epochs")
    for stage in ("autoencoder", "DeepSAD"):
        old_s = statistics.median(seconds[args.against][stage])
        new_s = statistics.median(seconds["this tree"][stage])
        lo, hi = PUBLIC_SECONDS[stage]
        print(f"{stage:12s} {args.against}: {old_s:.3f} s   this tree: {new_s:.3f} s   ratio {new_s / old_s:.3f}"
              f"   (public code on this machine, unloaded: {lo}-{hi} s)")
        a, b = losses[args.against][stage], losses["this tree"][stage]
        worst = max(abs(p - q) / max(abs(p), 1e-12) for p, q in zip(a, b))
        print(f"{'':12s} per-epoch losses, largest relative difference between the two: {worst:.2e}")


if __name__ == "__main__":
    main()
