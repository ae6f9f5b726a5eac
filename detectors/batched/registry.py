"""The table of batched trainers: which detector classes can train several experiments as one model.

A trainer is a function ``trainer(detectors, data)`` that fits the unfitted ``detectors`` (one
class, the same parameters but ``random_state``) on their own ``data`` items
``(X, y, eval_set)`` and returns, per detector, ``None`` (fitted exactly as ``fit`` would have
left it) or the exception that ``fit`` would have raised for it. One experiment's failure (bad
input, divergence) never stops the others. It registers for the detector class it trains with
:func:`register_trainer`; the runner and the perf benchmark ask this table
(:func:`supports_batching`, :func:`fit_many`). A detector module never imports its trainer.

The table matches the exact class: a subclass trains differently as far as the table knows, and
is fitted one by one until a trainer registers for it.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

Data = tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]
Trainer = Callable[[Sequence[Any], Sequence[Data]], list[BaseException | None]]

#: Parameters that may differ between the detectors of one group (everything else must match).
PER_EXPERIMENT_PARAMS = ("random_state", "verbose")

#: detector class -> the trainer of several of its detectors at once
TRAINERS: dict[type, Trainer] = {}


def register_trainer(detector_class: type) -> Callable[[Trainer], Trainer]:
    """Decorator: ``trainer`` trains groups of ``detector_class`` (see the module docstring)."""

    def decorate(trainer: Trainer) -> Trainer:
        TRAINERS[detector_class] = trainer
        return trainer

    return decorate


def supports_batching(detector_class: type) -> bool:
    """Whether detectors of ``detector_class`` can be trained together (a trainer is registered)."""
    return detector_class in TRAINERS


def stacking_pays(device: str, images: bool) -> bool:
    """Whether a group is worth training stacked on ``device`` ("auto", "cpu", "cuda", "cuda:1"):
    tabular (MLP) experiments anywhere, image experiments on a GPU only.

    On CPU, ``vmap`` turns each convolution of the stacked copies into one grouped convolution,
    whose backward pass is slow in torch's CPU kernels; there image experiments are fitted one
    by one (the runner does not group them).
    """
    if not images:
        return True
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


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


def fit_many(detectors: Sequence[Any], data: Sequence[Data]) -> list[BaseException | None]:
    """Fit ``detectors`` on their ``data`` items together with the trainer registered for their
    class; per detector None or the exception its ``fit`` would have raised."""
    check_group(detectors)
    if len(detectors) != len(data):
        raise ValueError(f"fit_many got {len(detectors)} detectors and {len(data)} data items")
    cls = type(detectors[0])
    trainer = TRAINERS.get(cls)
    if trainer is None:
        known = ", ".join(sorted(c.__name__ for c in TRAINERS)) or "none"
        raise ValueError(f"no batched trainer is registered for {cls.__name__}; registered: {known}")
    return trainer(detectors, data)
