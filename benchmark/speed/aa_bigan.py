"""Seconds per training epoch and peak memory of AA-BiGAN in the paper's MNIST setting, alone or
side by side with an earlier commit.

Setting (docs/methods.md §4): normal digit 0 (5,923 training images), known anomaly digit 1 at
γl .05 (311 collected anomalies, :func:`benchmark.speed.harness.aa_bigan_training_set`), batch
200 normals + 10 anomalies, 32x32 networks, latent 100, no validation passes. Every measurement
runs in a fresh process, so that the peak resident set (``ru_maxrss``) is its own; it reports
the wall and process CPU seconds of each epoch through :func:`detectors.progress.epoch_listener`
(the first epoch includes the fit's set-up and warm-up; the summaries use the epochs after it).

Modes (``--mode``, default ``all``):

- ``default``: the detector with its defaults (channels-last images and networks).
- ``nchw``: the same with torch's default NCHW memory format (``channels_last=False``).
- ``public``: an emulation of the public code's work per iteration on today's torch (NCHW):
  every step (D, G, E) recomputes all forward passes with a full graph and back-propagates into
  every network (no weight freezing, no shared forward).

``--against COMMIT`` times one mode (``default`` or ``nchw``) of this tree and of the commit's
``detectors`` in ``--rounds`` alternating rounds (:mod:`benchmark.speed.harness`) and prints
each side's median epoch and their ratio. ``--iterations K`` times only the first K iterations
of each epoch and scales them to a whole epoch (this tree only).

    python -m benchmark.speed.aa_bigan --threads 2 --epochs 2 [--mode all] [--device cpu]
    python -m benchmark.speed.aa_bigan --against COMMIT --threads 2 --epochs 3 --mode default [--rounds 2]

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

from .harness import (AA_BIGAN_GAMMA_L, AA_BIGAN_KNOWN, AA_BIGAN_NORMAL, aa_bigan_training_set, alternating,
                      commit_label, detectors_origin, export_detectors, run_side, this_tree_name)

MODES = ("default", "nchw", "public")
AGAINST_MODES = ("default", "nchw")  # the modes that use only the detector's parameters
BATCH = 200


def detector_class(mode: str, max_iterations: int | None):
    """AABiGAN, or for ``public`` mode or ``max_iterations`` a subclass that changes its step or
    stops each epoch after ``max_iterations`` steps (through the detector's step hooks)."""
    from itertools import islice

    from detectors.aa_bigan import AABiGAN

    if mode != "public" and max_iterations is None:
        return AABiGAN

    class Modified(AABiGAN):
        def epoch_inputs(self):
            return islice(super().epoch_inputs(), max_iterations)

        def _step(self, xp, xn, z):
            return self._step_public(xp, xn, z) if mode == "public" else super()._step(xp, xn, z)

        def _step_public(self, xp, xn, z):
            """The public code's work per iteration: three steps, each with all forward passes and
            back-propagation into every network."""
            losses = {}
            for phase, opt in (("d", self._opt_d), ("g", self._opt_g), ("e", self._opt_e)):
                batch = self._forward(xp, xn, z)
                loss = self.d_losses(batch)["d"] if phase == "d" else self.ge_losses(batch)[phase]
                for o in (self._opt_d, self._opt_g, self._opt_e):
                    o.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses["loss_" + phase] = loss.item()
            return losses

    return Modified


def child(args: argparse.Namespace) -> dict:
    """Fit one mode with the ``detectors`` on the import path; its epochs' seconds and peak memory."""
    import resource

    import torch

    from detectors.progress import epoch_listener

    torch.set_num_threads(args.threads)
    X, y = aa_bigan_training_set(args.data_dir, args.max_train_normals)
    params = {"epochs": args.epochs, "batch_size": BATCH, "device": args.device, "random_state": 0,
              "eval_every": None, "arch": "mnist"}
    if args.amp:
        params["amp"] = True
    if args.mode != "default":
        params["channels_last"] = False
    det = detector_class(args.mode, args.iterations)(**params)
    cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
    marks: list[tuple[float, float]] = []

    def listen(stage: str, epoch: int, total: int) -> None:
        if cuda:
            torch.cuda.synchronize()
        marks.append((time.perf_counter(), time.process_time()))

    start = (time.perf_counter(), time.process_time())
    with epoch_listener(listen):
        det.fit(X, y)
    scale = 1.0
    result = {"detectors_origin": detectors_origin(), "mode": args.mode, "threads": args.threads,
              "device": args.device, "amp": args.amp, "batch_anomaly": getattr(det, "batch_anomaly_", None)}
    if args.iterations:
        n_iter = det._batches_per_epoch()
        done = min(n_iter, args.iterations)
        scale = n_iter / done
        result.update(iterations_per_epoch=n_iter, iterations_timed=done)
    ends = [start, *marks]
    result["wall_s"] = [(b[0] - a[0]) * scale for a, b in zip(ends, ends[1:])]
    result["cpu_s"] = [(b[1] - a[1]) * scale for a, b in zip(ends, ends[1:])]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if cuda:
        result["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def timed(values: list[float]) -> list[float]:
    """The epochs after the first (which includes the set-up), or the only one."""
    return values[1:] or values


def child_args(args: argparse.Namespace, mode: str) -> list[str]:
    out = ["--child", "--mode", mode, "--epochs", str(args.epochs), "--threads", str(args.threads),
           "--device", args.device]
    if args.data_dir:
        out += ["--data-dir", str(Path(args.data_dir).resolve())]
    if args.iterations:
        out += ["--iterations", str(args.iterations)]
    if args.max_train_normals is not None:
        out += ["--max-train-normals", str(args.max_train_normals)]
    if args.amp:
        out.append("--amp")
    return out


def describe(r: dict) -> str:
    wall = ", ".join(f"{s:.2f}" for s in r["wall_s"])
    cpu = ", ".join(f"{s:.2f}" for s in r["cpu_s"])
    part = f" (timed {r['iterations_timed']}/{r['iterations_per_epoch']} iterations)" if "iterations_timed" in r else ""
    extra = f", peak CUDA {r['peak_cuda_mb']} MB" if "peak_cuda_mb" in r else ""
    return f"wall s/epoch [{wall}], CPU s/epoch [{cpu}]{part}, peak RSS {r['peak_rss_mb']} MB{extra}"


def side_by_side(args: argparse.Namespace, mode: str) -> None:
    earlier = commit_label(args.against)
    sides = [earlier, this_tree_name()]
    print(f"  {args.rounds} alternating round(s) of fresh processes, mode {mode}: {sides[0]} against {sides[1]}",
          flush=True)
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {sides[0]: export_detectors(args.against, Path(tmp) / "earlier"), sides[1]: None}
        for round_, side in alternating(sides, args.rounds):
            r = run_side("benchmark.speed.aa_bigan", child_args(args, mode), trees[side], args.threads)
            results[side].append(r)
            print(f"  round {round_ + 1}, {side}: {describe(r)}", flush=True)
    medians = {side: statistics.median([s for r in rs for s in timed(r["wall_s"])]) for side, rs in results.items()}
    cpu = {side: statistics.median([s for r in rs for s in timed(r["cpu_s"])]) for side, rs in results.items()}
    within = [statistics.median(timed(n["wall_s"])) / statistics.median(timed(o["wall_s"]))
              for o, n in zip(*(results[side] for side in sides))]
    old, new = sides
    print(f"wall s/epoch (median of the epochs after the first): {args.against} {medians[old]:.2f}, "
          f"this tree {medians[new]:.2f}; ratio {medians[new] / medians[old]:.3f} "
          f"(within rounds {statistics.median(within):.3f})")
    print(f"CPU s/epoch: {args.against} {cpu[old]:.2f}, this tree {cpu[new]:.2f}; ratio {cpu[new] / cpu[old]:.3f}")
    print(f"peak RSS: {args.against} {max(r['peak_rss_mb'] for r in results[old])} MB, "
          f"this tree {max(r['peak_rss_mb'] for r in results[new])} MB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.speed.aa_bigan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=(*MODES, "all"), default=None,
                        help="default: all; with --against: default")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=None, help="time only K iterations per epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--against", help="git commit to time side by side with this tree")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds with --against (default 2)")
    parser.add_argument("--max-train-normals", type=int, default=None, help="fewer training normals, for a quick check")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if args.epochs < 1 or args.threads < 1 or args.rounds < 1:
        parser.error("--epochs, --threads and --rounds must be at least 1")
    n_normals = "all" if args.max_train_normals is None else args.max_train_normals
    print(f"AA-BiGAN, MNIST normal {AA_BIGAN_NORMAL} ({n_normals} training images) / known {AA_BIGAN_KNOWN}, "
          f"gamma_l {AA_BIGAN_GAMMA_L}, batch {BATCH}, {args.threads} thread(s), device {args.device}, "
          f"{args.epochs} epoch(s)", flush=True)
    if args.against:
        mode = args.mode or "default"
        if mode not in AGAINST_MODES or args.iterations:
            parser.error(f"--against times the modes {' or '.join(AGAINST_MODES)}, without --iterations")
        side_by_side(args, mode)
        return 0
    for mode in MODES if args.mode in (None, "all") else (args.mode,):
        print(f"{mode:9s} {describe(run_side('benchmark.speed.aa_bigan', child_args(args, mode), None, args.threads))}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
