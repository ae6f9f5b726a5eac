"""Floating-point work of one AA-BiGAN training iteration in the paper's MNIST setting, and how
fast this machine multiplies matrices: the bound on how fast an epoch can be on this CPU.

Setting as :mod:`benchmark.speed.aa_bigan` (normal 0, known 1, γl .05, batch 200 normals + 10
collected anomalies, 30 iterations per epoch). The count is torch's own
(``torch.utils.flop_counter.FlopCounterMode``: convolutions, their backward passes and matrix
products, forward and backward, of one full iteration: the D step and the G and E steps). The rate
is that of a 2,048 x 2,048 float32 matrix product (``torch.mm``), the best case of the same
oneDNN/MKL kernels. The epoch it is compared with is the AA-BiGAN reference figure of
:func:`benchmark.perf.references`.

    python -m benchmark.speed.aa_bigan_flops [--threads 2] [--iterations 6]

Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import time

from .harness import aa_bigan_training_set

GEMM_SIZE = 2048


def matmul_gflops(threads: int, repeats: int = 10) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(GEMM_SIZE, GEMM_SIZE), torch.randn(GEMM_SIZE, GEMM_SIZE)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * GEMM_SIZE ** 3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark.speed.aa_bigan_flops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=6, help="timed iterations")
    args = parser.parse_args()

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmark.perf import references
    from detectors.aa_bigan import AABiGAN

    torch.set_num_threads(args.threads)
    X, y = aa_bigan_training_set()
    det = AABiGAN(epochs=1, device="cpu", random_state=0)
    det.fit_info_ = {}
    det._build(*det._start_fit(X, y, None))  # the set-up of fit, without its epochs
    x_train = det._x_normal

    def iteration() -> None:
        idx = torch.randperm(len(x_train), generator=det._generator)[:det.batch_normal_]
        xn = det._x_anom[det._anomaly_cycler.take(det.batch_anomaly_)]
        det._step(x_train[idx], xn, det._noise(len(idx)))

    iteration()
    with FlopCounterMode(display=False) as counter:
        iteration()
    gflop = counter.get_total_flops() / 1e9
    start = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    seconds = (time.perf_counter() - start) / args.iterations
    gemm = matmul_gflops(args.threads)
    per_epoch = det._batches_per_epoch()
    half_reference = references()[("aa-bigan", "train")].seconds_per_epoch / 2
    needed = gflop * per_epoch / half_reference
    print(f"AA-BiGAN, MNIST, {args.threads} thread(s)")
    print(f"  work per iteration: {gflop:.1f} GFLOP; by operation:",
          ", ".join(f"{op} {n / 1e9:.1f}" for op, n in counter.get_flop_counts()["Global"].items()))
    print(f"  {seconds:.3f} s per iteration = {gflop / seconds:.0f} GFLOP/s; epoch of {per_epoch} iterations "
          f"about {seconds * per_epoch:.1f} s")
    print(f"  {GEMM_SIZE}x{GEMM_SIZE} float32 matrix product: {gemm:.0f} GFLOP/s")
    print(f"  half the reference epoch ({half_reference:.2f} s) needs {needed:.0f} GFLOP/s, "
          f"{needed / gemm:.0%} of the matrix-product rate")


if __name__ == "__main__":
    main()
