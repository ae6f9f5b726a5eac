"""CPU time of one training step of Deep SAD's LeNet encoder with one of the rewrites of
:mod:`detectors.networks.lenet` against the plain form it replaces: ``--rewrite batchnorm-pool``
(default), the one-step BatchNorm + max-pool against the BatchNorm module followed by
max-pooling; ``--rewrite packed-conv``, the convolutions through ``_same_conv`` (columns packed
into channels where it has few output channels) against ``F.conv2d``.

Setting: the training part of ``benchmark.perf``'s fixed MNIST experiment (normal 0, known 1), batches
of 128, channels-last nets, Deep SAD's loss towards a fixed centre, Adam. Both nets start from
the same weights and see the same batches. Rounds of ``--steps`` steps alternate between the two
forms (A B, then B A, ...), so that a load change on this shared machine hits both alike; the
median over rounds is printed. Finer-grained than ``benchmarks/deep_sad_speed.py`` (whole
epochs), whose 8 to 16 alternating epochs could not resolve a 10 % change on this machine.

Usage: ``python benchmarks/lenet_step_speed.py [--rounds 30] [--steps 10] [--arch mnist]
[--rewrite batchnorm-pool|packed-conv]``.
Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 128
#: rewrite name -> the function of detectors.networks.lenet that this script swaps for its plain form
REWRITES = {"batchnorm-pool": "_batchnorm_maxpool", "packed-conv": "_same_conv"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10, help="training steps per round and form")
    parser.add_argument("--arch", default="mnist", choices=["mnist", "fmnist"], help="which LeNet encoder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rewrite", default="batchnorm-pool", choices=sorted(REWRITES), help="which rewrite to time")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    import detectors.networks.lenet as lenet
    from benchmark.perf import load_split
    from detectors.networks.factory import build_encoder
    from detectors.torch_utils import use_channels_last

    torch.set_num_threads(args.threads)
    _, split, _ = load_split()  # the fixed experiment of benchmark.perf
    X = torch.as_tensor(split.X_train, dtype=torch.float32).contiguous(memory_format=torch.channels_last)

    name_in_module = REWRITES[args.rewrite]
    tree_step = getattr(lenet, name_in_module)
    plain = {"batchnorm-pool": ("BatchNorm module, then pool", lambda x, bn: F.max_pool2d(bn(x), 2, 2)),
             "packed-conv": ("F.conv2d", lambda x, weight: F.conv2d(x, weight, padding=weight.shape[-1] // 2))}
    forms = dict([plain[args.rewrite], ("this tree", tree_step)])
    nets = {}
    for name in forms:
        torch.manual_seed(0)
        net = build_encoder(args.arch, (1, 28, 28))
        use_channels_last(net)
        nets[name] = (net.train(), torch.optim.Adam(net.parameters(), lr=1e-4))
    centre = torch.randn(nets[next(iter(forms))][0].rep_dim, generator=torch.Generator().manual_seed(1))
    times: dict[str, list[float]] = {name: [] for name in forms}
    generator = torch.Generator().manual_seed(0)
    try:
        for round_ in range(args.rounds):
            batches = [torch.randperm(len(X), generator=generator)[:BATCH] for _ in range(args.steps)]
            for name in (list(forms) if round_ % 2 == 0 else list(forms)[::-1]):
                setattr(lenet, name_in_module, forms[name])
                net, optimizer = nets[name]
                start = time.process_time()
                for idx in batches:
                    loss = (net(X[idx]) - centre).square().sum(1).mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                times[name].append((time.process_time() - start) / args.steps * 1000)
    finally:
        setattr(lenet, name_in_module, tree_step)
    base = statistics.median(times[next(iter(forms))])
    print(f"{args.arch} encoder, batch {BATCH}, {args.threads} thread(s), {args.rounds} rounds of {args.steps} steps, "
          f"rewrite {args.rewrite}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:30s} median {median:6.2f} ms/step  (min {min(values):.2f})  ratio {median / base:.2f}")


if __name__ == "__main__":
    main()
