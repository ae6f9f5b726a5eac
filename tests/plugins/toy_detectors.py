"""Test-only detectors, loaded as a user's plugin would be (``--plugin tests/plugins/toy_detectors.py``).

They are fast and deterministic, so runner, store and command-line tests exercise the real
machinery without training a network.
"""
from __future__ import annotations

import numbers
import os
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from detectors import SemiSupervisedDetector, TorchDetector, register
from detectors.params import Interval, IsNone
from detectors.torch_utils import batched_inference, minibatch_indices


#: Environment variables the interrupt tests set on a run they signal (they do not change job keys):
#: in TOY_FIT_MARKERS (a folder) each fit of the process writes ``fit-<i>`` as it starts (i from 0);
#: with TOY_HOLD_FIT=<i> the i-th fit then waits (up to a minute) instead of finishing, so that a
#: signal sent once its marker exists lands in the middle of that job, however loaded the machine.
MARKERS_ENV, HOLD_ENV = "TOY_FIT_MARKERS", "TOY_HOLD_FIT"
_fits_started = 0


def _observed_fit_start() -> None:
    global _fits_started
    index, _fits_started = _fits_started, _fits_started + 1
    folder = os.environ.get(MARKERS_ENV)
    if folder:
        (Path(folder) / f"fit-{index}").touch()
    if os.environ.get(HOLD_ENV) == str(index):
        time.sleep(60)


@register("toy-centroid")
class ToyCentroid(SemiSupervisedDetector):
    """Distance to the mean of the unlabelled samples, minus the distance to the collected anomalies' mean."""

    test_params: ClassVar[dict] = {}
    _parameter_constraints: ClassVar[dict] = {"delay": [Interval(numbers.Real, 0, None)]}

    def __init__(self, *, delay: float = 0.0, contamination: float = 0.1):
        self.delay = delay
        self.contamination = contamination

    def _fit(self, X, y, eval_set):
        _observed_fit_start()
        time.sleep(self.delay)
        flat = X.reshape(len(X), -1)
        self.center_ = flat[y == 0].mean(axis=0)
        self.anomaly_center_ = flat[y == 1].mean(axis=0) if y.any() else None

    def _score(self, X):
        flat = X.reshape(len(X), -1)
        score = np.linalg.norm(flat - self.center_, axis=1)
        if self.anomaly_center_ is not None:
            score = score - 0.5 * np.linalg.norm(flat - self.anomaly_center_, axis=1)
        return score


@register("toy-torch")
class ToyTorch(TorchDetector):
    """A learned centre c; loss mean ||x - c||^2; ``nan_at_epoch`` injects a NaN loss."""

    test_params: ClassVar[dict] = {"epochs": 3}
    _parameter_constraints: ClassVar[dict] = {"nan_at_epoch": [Interval(numbers.Integral, 1, None), IsNone()]}

    def __init__(self, *, epochs: int = 5, batch_size: int = 64, lr: float = 0.1, weight_decay: float = 0.0,
                 nan_at_epoch: int | None = None, device: str = "cpu", random_state: int | None = None,
                 eval_every: int | None = None, verbose: bool = False, arch: str = "auto", contamination: float = 0.1):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.nan_at_epoch = nan_at_epoch
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.arch = arch
        self.contamination = contamination

    def _build(self, X, y):
        self.net_ = torch.nn.Linear(1, int(np.prod(X.shape[1:])), bias=False)
        self.opt_ = torch.optim.SGD(self.net_.parameters(), lr=self.lr)

    def _modules(self):
        return {"net": self.net_}

    def _train_epoch(self, epoch, X, y):
        flat = X.reshape(len(X), -1)[y == 0]
        total = 0.0
        for idx in minibatch_indices(len(flat), self.batch_size, self._generator, self.device_):
            loss = ((flat[idx] - self.net_.weight[:, 0]) ** 2).sum(1).mean()
            if self.nan_at_epoch is not None and epoch + 1 >= self.nan_at_epoch:
                loss = loss * float("nan")
            self.opt_.zero_grad()
            loss.backward()
            self.opt_.step()
            total += loss.item()
        return {"loss": total}

    def _score_candidates(self, X):
        center = self.net_.weight[:, 0]
        return {"score": batched_inference(lambda b: ((b.reshape(len(b), -1) - center) ** 2).sum(1), X)}
