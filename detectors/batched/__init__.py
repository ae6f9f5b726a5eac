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
near-zero gradient's noise into a step of up to lr). Vmapped, the two ways then differ by as much
as two one-by-one fits whose inputs differ by one ulp: up to 4e-3 on MNIST Deep SAD scores of
about 1.7 after 2 + 2 epochs (``benchmarks/batched_speed.py`` prints both), up to 2e-4 relative
on AA-BiGAN's image scores after two epochs (``tests/test_batched.py``). One after another (the
CPU choice for convolutional nets, below) each copy runs the single-experiment kernels, and the
same nine MNIST experiments differ by at most 4e-6 (the stacked Adam's own order of operations).

Devices. Where the copies run as one vmapped call and where one after another is the stack's
choice (:func:`detectors.batched.stacked.choose_strategy`): convolutional nets on CPU run one after
another, since there ``vmap`` turns each convolution into a grouped one whose backward pass is
slow in torch's CPU kernels (nine Deep SAD experiments of an MNIST cell: 1.84x the autoencoder's
and 2.80x the training's CPU time of nine single epochs, ``python -m benchmark.perf --k 1,9``);
everything else (MLPs anywhere, every net on a GPU) is vmapped. So the runner groups on every
device, and no group costs more CPU time than its jobs one by one (figures in the README).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# -- configuration ---------------------------------------------------------------------------
# Parameters that may differ between the detectors of one group (everything else must match).
PER_EXPERIMENT_PARAMS = ("random_state", "verbose")

Data = tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]


def supports_batching(cls: type) -> bool:
    """Whether detectors of ``cls`` can be trained together (the class defines ``fit_many``)."""
    return callable(getattr(cls, "fit_many", None))


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
