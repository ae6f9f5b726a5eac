"""Seconds per training epoch and peak memory of AA-BiGAN in the paper's MNIST setting.

Setting (docs/methods.md §4): normal digit 0 (5,923 training images), known anomaly digit 1 at
gamma_l = .05 (311 collected anomalies), batch 200 normals + 10 anomalies, 32x32 nets, latent 100.
Modes, each run in its own process so that ``ru_maxrss`` is its own peak:

- ``default``: the detector's default (one E and G forward pass per iteration serves the D step
  and the G and E steps; channels-last images and nets).
- ``nchw``: the same with the default NCHW memory format (``channels_last=False``).
- ``public``: an emulation of the public code's per-iteration work on today's torch (NCHW): every
  step (D, G, E) recomputes all forward passes with a full graph and back-propagates into every
  network (no weight freezing, no shared forward). The "before" of the speed goal.

Usage: ``python benchmarks/aa_bigan_speed.py --threads 2 --epochs 2 [--mode all] [--device cpu]``.
``--iterations K`` times only the first K iterations of each epoch and extrapolates to a full
epoch (for loaded machines). Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NORMAL, KNOWN, GAMMA_L = 0, 1, 0.05
MODES = ("default", "nchw", "public")


def _split(data_dir: str):
    import numpy as np

    from datasets import load_dataset

    ds = load_dataset("mnist", data_dir)
    normal = np.flatnonzero(ds.y_train == NORMAL)
    n_anom = int(len(normal) * GAMMA_L / (1 - GAMMA_L))
    rng = np.random.default_rng(0)
    known = rng.choice(np.flatnonzero(ds.y_train == KNOWN), n_anom, replace=False)
    X = np.concatenate([ds.X_train[normal], ds.X_train[known]])
    y = np.r_[np.zeros(len(normal)), np.ones(n_anom)].astype(np.int64)
    return X, y


def _detector_class(mode: str, max_iterations: int | None):
    import torch

    from detectors.aa_bigan import AABiGAN

    class Timed(AABiGAN):
        """AA-BiGAN that times each epoch (and may stop an epoch after K iterations)."""

        def _normal_batches(self):
            for i, idx in enumerate(super()._normal_batches()):
                if max_iterations is not None and i >= max_iterations:
                    return
                yield idx

        def _train_epoch(self, epoch, X, y):
            if self.device_.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = super()._train_epoch(epoch, X, y)
            if self.device_.type == "cuda":
                torch.cuda.synchronize()
            self.epoch_seconds_ = getattr(self, "epoch_seconds_", []) + [time.perf_counter() - start]
            return out

        def _step(self, xp, xn, z):
            return self._step_public(xp, xn, z) if mode == "public" else super()._step(xp, xn, z)

        def _step_public(self, xp, xn, z):
            """The public code's work per iteration: three steps, each with all forward passes and
            back-propagation into every network."""
            losses = {}
            for phase, opt in (("d", self._opt_d), ("g", self._opt_g), ("e", self._opt_e)):
                with self._autocast():
                    batch = self._forward(xp, xn, z)
                    if phase == "d":
                        loss = self._d_losses(self._d_terms(batch))["d"]
                    else:
                        loss = self._ge_losses(self._ge_terms(batch))[phase]
                for o in (self._opt_d, self._opt_g, self._opt_e):
                    o.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses["loss_" + phase] = loss.item()
            return losses

    return Timed


def run_one(mode: str, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    X, y = _split(args.data_dir)
    cls = _detector_class(mode, args.iterations)
    det = cls(epochs=args.epochs, batch_size=200, device=args.device, random_state=0, eval_every=None,
              arch="mnist", amp=args.amp, channels_last=mode not in ("nchw", "public"))
    det.fit(X, y)
    n_iter = det._batches_per_epoch()  # the last incomplete batch is kept
    done = min(n_iter, args.iterations or n_iter)
    per_epoch = [s * n_iter / done for s in det.epoch_seconds_]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"mode": mode, "threads": args.threads, "device": args.device, "amp": args.amp,
              "iterations_per_epoch": n_iter, "iterations_timed": done, "batch_anomaly": det.batch_anomaly_,
              "seconds_per_epoch": per_epoch, "peak_rss_mb": round(peak_mb, 1)}
    if args.device.startswith("cuda"):
        result["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=None, help="time only K iterations per epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per mode (used internally)")
    args = parser.parse_args()
    if args.mode != "all":
        result = run_one(args.mode, args)
        print(json.dumps(result) if args.json else result)
        return
    print(f"AA-BiGAN, MNIST normal {NORMAL} / known {KNOWN}, gamma_l {GAMMA_L}, batch 200, "
          f"{args.threads} thread(s), device {args.device}, {args.epochs} epoch(s)")
    for mode in MODES:
        cmd = [sys.executable, __file__, "--mode", mode, "--json", "--epochs", str(args.epochs),
               "--threads", str(args.threads), "--device", args.device]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        if args.iterations:
            cmd += ["--iterations", str(args.iterations)]
        if args.amp:
            cmd.append("--amp")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        secs = ", ".join(f"{s:.2f}" for s in r["seconds_per_epoch"])
        extra = f", peak CUDA {r['peak_cuda_mb']} MB" if "peak_cuda_mb" in r else ""
        print(f"{mode:9s} s/epoch [{secs}] (timed {r['iterations_timed']}/{r['iterations_per_epoch']} iterations), "
              f"peak RSS {r['peak_rss_mb']} MB{extra}")


if __name__ == "__main__":
    main()
