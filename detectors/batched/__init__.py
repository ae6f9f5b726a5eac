"""Training several experiments of one benchmark cell as one model.

An optional add-on of a detector, not part of it: the trainers here register for the detector
class they train (:mod:`detectors.batched.registry`), and the runner asks that table
(:func:`fit_many`, :func:`supports_batching`). Importing this package registers the built-in
trainers: :mod:`detectors.batched.deep_sad` (autoencoder pretraining and Deep SAD) and
:mod:`detectors.batched.aa_bigan` (the D, G and E steps of AA-BiGAN). A trainer drives each
detector through the stepwise fit of :class:`detectors.torch_base.TorchDetector`, so that checks,
seeding, per-epoch bookkeeping and selection are the detector's own.

How the stacking works, and what stays per experiment, is in :mod:`detectors.batched.stacked`.

Equality. Trained together, each experiment gets what it gets trained alone up to
floating-point noise: bitwise on the MLP nets of tables in CPU runs, about 1e-6 relative on the
LeNet nets after a few steps (``vmap`` runs each convolution as one grouped convolution, whose
sums are ordered differently). Longer training amplifies rounding differences (Adam turns a
near-zero gradient's noise into a step of up to lr), so the two ways then differ by as much as
two one-by-one fits whose inputs differ by one ulp (``tests/test_batched.py``).

Devices. Stacking pays for MLPs on any device and for every net on a GPU; on CPU, image
experiments are fitted one by one (:func:`stacking_pays`).
"""
from . import aa_bigan, deep_sad  # noqa: F401 - importing a trainer registers it
from .registry import (
    PER_EXPERIMENT_PARAMS,
    TRAINERS,
    Data,
    check_group,
    fit_many,
    register_trainer,
    stacking_pays,
    supports_batching,
)

__all__ = [
    "PER_EXPERIMENT_PARAMS",
    "TRAINERS",
    "Data",
    "check_group",
    "fit_many",
    "register_trainer",
    "stacking_pays",
    "supports_batching",
]
