"""CPU-seconds per epoch of Deep SAD, this tree against an earlier commit, side by side.

Setting: the fixed experiment of :mod:`benchmark.perf` (MNIST, normal digit 0, known anomaly
digit 1, γl .05, the ``paper`` split; ``--max-train-normals`` for a quick check), Deep SAD's
defaults with the MNIST networks (batch 128), on the CPU.

Each round runs one fresh process per side (:mod:`benchmark.speed.harness`: the earlier commit's
``detectors`` exported with ``git archive``), the two in alternating order. Each process fits
Deep SAD with seed 0 and two epochs per stage (autoencoder pretraining, then Deep SAD training)
and reports the process CPU time (``time.process_time``) of each epoch through
:func:`detectors.progress.epoch_listener`; the first epoch of a stage is its warm-up (kernel
selection, the set-up before it) and only the second is timed. The ratio of the medians, this
tree over the earlier one, is the change between the two; chained to a side-by-side ratio of the
earlier commit against the public code, it places this tree against the public code.

The first round also compares the two fits: same seed, same data, so their losses and test
scores differ by floating-point rounding only when nothing else changed (Adam turns rounding
differences of near-zero gradient entries into whole steps, so they grow with training).

    python -m benchmark.speed.deep_sad --against COMMIT [--pairs 6] [--threads 1]

Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from .harness import alternating, commit_label, detectors_origin, export_detectors, run_side, this_tree_name

EPOCHS = 2  # per stage: one warm-up epoch, one timed
#: the stage names the detector reports -> the names printed (those of benchmark.perf)
STAGES = {"autoencoder": "autoencoder", "DeepSAD": "train"}


def child(args: argparse.Namespace) -> dict:
    """Fit Deep SAD of the ``detectors`` on the import path; its epochs' CPU-seconds, losses and,
    with ``--scores FILE``, its test scores (saved as ``.npy``)."""
    import numpy as np
    import torch

    from benchmark.perf import load_split
    from detectors.deep_sad import DeepSAD
    from detectors.progress import epoch_listener

    torch.set_num_threads(args.threads)
    _, split, _ = load_split(args.max_train_normals, args.data_dir)
    marks: list[tuple[str, float]] = []

    def listen(stage: str, epoch: int, total: int) -> None:
        marks.append((stage, time.process_time()))

    det = DeepSAD(epochs=EPOCHS, ae_epochs=EPOCHS, arch="mnist", device="cpu", random_state=0)
    start = time.process_time()
    with epoch_listener(listen):
        det.fit(split.X_train, split.y_train)
    seconds: dict[str, list[float]] = {}
    previous = start
    for stage, mark in marks:
        seconds.setdefault(STAGES.get(stage, stage), []).append(mark - previous)
        previous = mark
    if args.scores:
        np.save(args.scores, det.decision_function(split.X_test))
    return {"detectors_origin": detectors_origin(), "seconds": seconds, "threads": torch.get_num_threads(),
            "ae_final_loss": det.fit_info_.get("ae_final_loss"),
            "losses": [record.get("loss") for record in det.history_]}


def relative(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{abs(a / b - 1):.1e}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.speed.deep_sad", description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="main", help="git commit of the earlier code (default: main)")
    parser.add_argument("--pairs", type=int, default=6, help="rounds: timed epochs per side and stage (default 6)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--max-train-normals", type=int, default=None, help="fewer training normals, for a quick check")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # internal: one side's fit
    parser.add_argument("--scores", help=argparse.SUPPRESS)  # internal: where the child saves its test scores
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if args.pairs < 1 or args.threads < 1:
        parser.error("--pairs and --threads must be at least 1")

    import numpy as np

    earlier = commit_label(args.against)
    sides = [earlier, this_tree_name()]
    common = ["--child", "--threads", str(args.threads)]
    if args.max_train_normals is not None:
        common += ["--max-train-normals", str(args.max_train_normals)]
    if args.data_dir:
        common += ["--data-dir", str(Path(args.data_dir).resolve())]
    print(f"Deep SAD, benchmark.perf's MNIST experiment, {args.threads} thread(s), {args.pairs} alternating round(s) "
          f"of fresh processes, {EPOCHS} epochs per stage (the second timed): {sides[0]} against {sides[1]}", flush=True)
    seconds: dict[str, dict[str, list[float]]] = {stage: {side: [] for side in sides} for stage in STAGES.values()}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {sides[0]: export_detectors(args.against, Path(tmp) / "earlier"), sides[1]: None}
        first: dict[str, dict] = {}
        for round_, side in alternating(sides, args.pairs):
            extra = ["--scores", str(Path(tmp) / f"scores_{sides.index(side)}.npy")] if round_ == 0 else []
            result = run_side("benchmark.speed.deep_sad", common + extra, trees[side], args.threads)
            first.setdefault(side, result)
            for stage, values in result["seconds"].items():
                seconds[stage][side].append(values[-1])
        a, b = (first[side] for side in sides)
        sa, sb = (np.load(Path(tmp) / f"scores_{i}.npy") for i in range(2))
    print("Same seed, first round: largest relative difference between the two sides")
    print(f"  autoencoder final loss {relative(a['ae_final_loss'], b['ae_final_loss'])}, Deep SAD epoch losses "
          + ", ".join(relative(p, q) for p, q in zip(a["losses"], b["losses"])))
    print(f"  test scores {np.max(np.abs(sa - sb) / np.abs(sa)):.1e} (largest), "
          f"{np.median(np.abs(sa - sb) / np.abs(sa)):.1e} (median)")
    print(f"\nCPU-seconds per epoch (median over rounds; and the median of the ratios within a round)")
    for stage, per_side in seconds.items():
        old, new = (per_side[side] for side in sides)
        ratios = [n / o for o, n in zip(old, new)]
        print(f"{stage:12s} {args.against}: {statistics.median(old):.3f} s  this tree: {statistics.median(new):.3f} s"
              f"  ratio {statistics.median(new) / statistics.median(old):.3f} (within rounds {statistics.median(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
