"""Training several experiments of one benchmark cell as one model (issue 12).

A detector class that can do it has a classmethod ``fit_many(detectors, data)``: it fits the
unfitted ``detectors`` (same class, same parameters but ``random_state``) on their own
``data`` items ``(X, y, eval_set)`` and returns, per detector, ``None`` (fitted exactly as
``fit`` would have left it) or the exception that ``fit`` would have raised for it. One
experiment's failure (bad input, divergence) never stops the others.

How the stacking works, and what stays per experiment, is in :mod:`detectors.batched.stacked`.
Deep SAD's trainer is :mod:`detectors.batched.deep_sad`.

CPU policy. On CPU, training K experiments stacked (``vmap`` turns each convolution into a
grouped one) cost about 1.5 times the CPU time of training them one by one (measured with
``benchmarks/batched_speed.py``, MNIST LeNet, torch 2.13 on one thread), so the runner trains
a group one by one on CPU and says so, unless :data:`BATCH_ON_CPU_ENV` is set to 1 (tests and
measurements use it). On CUDA a group is trained stacked.
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
