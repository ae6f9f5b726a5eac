"""Training several experiments of one benchmark cell as one model (issue 12).

A detector class that can do it has a classmethod ``fit_many(detectors, data)``: it fits the
unfitted ``detectors`` (same class, same parameters but ``random_state``) on their own
``data`` items ``(X, y, eval_set)`` and returns, per detector, ``None`` (fitted exactly as
``fit`` would have left it) or the exception that ``fit`` would have raised for it. One
experiment's failure (bad input, divergence) never stops the others.

How the stacking works, and what stays per experiment, is in :mod:`detectors.batched.stacked`.
The trainers: :mod:`detectors.batched.deep_sad` (autoencoder pretraining and Deep SAD) and
:mod:`detectors.batched.aa_bigan` (the D, G and E steps of AA-BiGAN).

Equality. Trained together, each experiment gets what it gets trained alone up to
floating-point noise: bitwise on the MLP nets of tables in our CPU runs, about 1e-6 relative on
the LeNet nets after a few steps. Longer training amplifies rounding differences (Adam turns a
near-zero gradient's noise into a step of up to lr), and then the two ways differ by as much as
two one-by-one fits whose inputs differ by one ulp: up to 4e-3 on MNIST Deep SAD scores of about
1.7 after 2 + 2 epochs (``benchmarks/batched_speed.py`` prints both), up to 2e-4 relative on
AA-BiGAN's image scores after two epochs (``tests/test_batched.py``).

CPU policy. On CPU, what stacking costs depends on the nets. ``vmap`` turns each convolution into
a grouped one, whose backward pass is slow in torch's CPU kernels: ``benchmarks/batched_speed.py``
(nine Deep SAD experiments of one MNIST cell, 1,000 training normals, 2 + 2 epochs, torch 2.13,
one thread) measured 17.5 CPU seconds together against 12.9 one by one (ratio 1.36, best of three
rounds); two other runs gave 1.13 and 1.53. A profile of the autoencoder step puts the cost in the
grouped convolutions' backward pass (1.8 s against 0.66 s for the same work one by one). A
linear layer becomes one batched matrix product instead, and the small MLPs of tables are
dominated by per-call overhead, which stacking shares: nine seeds of the cardio cell (1,003
training rows, one thread) took 0.36-0.37 of the one-by-one CPU time for Deep SAD (20 + 20 epochs)
and 0.30-0.52 for AA-BiGAN (10 epochs at batch 64), two runs each. ``python -m benchmark.perf
--k 1,9`` on the full MNIST experiment: 1.84 (autoencoder) and 2.80 (training) for Deep SAD. So
on CPU the runner stacks tabular groups and trains image groups one by one, with a note
(``benchmark.runner``), unless :data:`BATCH_ON_CPU_ENV` is set to 1, which stacks every group
(the tests use it). On CUDA every group is trained stacked.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

# -- configuration ---------------------------------------------------------------------------
BATCH_ON_CPU_ENV = "BENCH_BATCH_ON_CPU"  # "1": train groups stacked on CPU too
# Parameters that may differ between the detectors of one group (everything else must match).
PER_EXPERIMENT_PARAMS = ("random_state", "verbose")

Data = tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]


def supports_batching(cls: type) -> bool:
    """Whether detectors of ``cls`` can be trained together (the class defines ``fit_many``)."""
    return callable(getattr(cls, "fit_many", None))


def batch_on_cpu() -> bool:
    """Whether groups are trained stacked on CPU as well (see the CPU policy above)."""
    return os.environ.get(BATCH_ON_CPU_ENV, "") == "1"


def check_group(detectors: Sequence[Any]) -> None:
    """Refuse a group whose detectors could not share one model: different classes or parameters."""
    if not detectors:
        raise ValueError("fit_many needs at least one detector")
    first = detectors[0]
    shared = {k: v for k, v in first.get_params(deep=False).items() if k not in PER_EXPERIMENT_PARAMS}
    for other in detectors[1:]:
        if type(other) is not type(first):
            raise ValueError(f"fit_many trains one class at a time; got {type(first).__name__} and {type(other).__name__}")
        params = {k: v for k, v in other.get_params(deep=False).items() if k not in PER_EXPERIMENT_PARAMS}
        if params != shared:
            diff = sorted(k for k in shared if shared[k] != params.get(k))
            raise ValueError(f"fit_many needs the same parameters (but {', '.join(PER_EXPERIMENT_PARAMS)}) for every "
                             f"detector; these differ: {', '.join(diff)}")
