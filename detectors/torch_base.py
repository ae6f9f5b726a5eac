"""The epoch loop of every deep detector, written once (DeepOD's ``BaseDeepAD`` idea).

A deep detector fills in four hooks:

- ``_build(X, y)``: create networks and optimizers (runs under the detector's own seed);
- ``_train_epoch(epoch, X, y) -> dict[str, float]``: one pass, returning mean losses;
- ``_score_candidates(X) -> dict[str, np.ndarray]``: one or more anomaly scores of ``X``;
- ``_modules()``: the ``nn.Module`` objects whose weights define the fitted model.

The base moves the data to the device once (the whole training set as one float32 tensor: memory
grows with it; every deep detector says so in its docstring), checks every loss for NaN/inf (a
:class:`DivergenceError` naming the loss and epoch), and, given an ``eval_set``, evaluates every
``eval_every`` epochs (``None``: never; the detector then ignores ``eval_set``), keeps the
weights of the best epoch and picks the best score candidate. Each finished epoch is reported
through :func:`detectors.progress.report_epoch` (the runner's epoch counter; no effect on results).
What was chosen is written to ``fit_info_`` (``selected_epoch``, ``selected_score``).

A detector that lists ``max_rows`` among its parameters (Deep SAD, supervised, NDA, SS-DGM)
trains on a stratified seeded subsample of at most that many rows when the training set is larger
(``None``, the default: every row); suites set it where a set is too large for an epoch-based
schedule on the hardware at hand (see :mod:`detectors.subsample`).

Fitting step by step. ``fit`` runs five public steps, which a trainer of several detectors at
once (:mod:`detectors.batched`) runs per detector around its own stacked training, so that
checks, seeding, per-epoch bookkeeping, selection and ``fit_info_`` are the same there:

1. :meth:`TorchDetector.start_fit` checks the input as ``fit`` does, resolves the device, seeds
   the detector's own :attr:`~TorchDetector.generator` and puts the data on the device;
2. :meth:`TorchDetector.build` creates networks and optimizers under :meth:`~TorchDetector.seeded`;
3. :meth:`TorchDetector.start_epochs` gives the number of epochs and prepares validation;
4. :meth:`TorchDetector.end_epoch`, after each epoch's training, checks and records its losses,
   evaluates and keeps the best weights when due, and says whether to stop early;
5. :meth:`TorchDetector.finish_fit` loads the selected weights and leaves the detector fitted.

Between 3 and 5 a trainer may train the detector's networks (its ``_modules()``) any way that
gives what ``_train_epoch`` gives, drawing every random number from :attr:`~TorchDetector.generator`
in the order ``_train_epoch`` draws them.
"""
from __future__ import annotations

import contextlib
import copy
import math
import numbers
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from .base import SemiSupervisedDetector
from .errors import DivergenceError
from .params import DeviceSpec, Interval, IsBool, IsNone
from .progress import report_epoch
from .subsample import limit_rows_stratified
from .torch_utils import resolve_device, seed_from, to_tensor, torch_seed


class TorchDetector(SemiSupervisedDetector):
    """Base of the deep detectors. Subclasses define ``__init__`` with their own keyword parameters."""

    default_score: ClassVar[str] = "score"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "epochs": [Interval(numbers.Integral, 1, None)],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "lr": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0.0, None)],
        "device": [DeviceSpec()],
        "random_state": [Interval(numbers.Integral, 0, None), IsNone()],
        "eval_every": [Interval(numbers.Integral, 1, None), IsNone()],
        "verbose": [IsBool()],
        "max_rows": [Interval(numbers.Integral, 2, None), IsNone()],
    }

    # -- hooks ---------------------------------------------------------------------------
    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        raise NotImplementedError

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def _should_stop(self, epoch: int, losses: dict[str, float]) -> bool:
        """Early-stopping rule; none by default."""
        return False

    def _planned_epochs(self) -> int:
        """How many epochs to run; called after ``_build`` so it may depend on the data (e.g. its arch)."""
        return int(self.epochs)

    #: The stage name :func:`epoch_plan` and ``benchmark.perf`` use for the main training loop
    #: (the loop itself reports its epochs under the class name).
    TRAIN_STAGE: ClassVar[str] = "train"

    def epoch_plan(self, arch: str) -> dict[str, int]:
        """Epochs each training stage will run on data of network family ``arch``, before fitting.

        For cost estimates (``run_benchmark.py --dry-run`` with ``benchmark.perf`` timings): the keys
        are the stages whose epochs the loops report (:data:`TRAIN_STAGE` for the main loop,
        e.g. "autoencoder" for a pretraining); early stopping is not foreseen.
        """
        return {self.TRAIN_STAGE: int(self.epochs)}

    def _eval_interval(self, epochs: int) -> int | None:
        """Evaluate on the ``eval_set`` every this many epochs (None: never); ``eval_every`` by default."""
        return getattr(self, "eval_every", None)

    # -- the loop ------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        Xt, yt = self._start_fit(X, y, eval_set)
        self.build(Xt, yt)
        epochs = self.start_epochs()
        progress = range(epochs)
        if getattr(self, "verbose", False):
            from tqdm.auto import tqdm

            progress = tqdm(progress, desc=type(self).__name__, leave=False)
        for epoch in progress:
            self._set_train(True)
            if self.end_epoch(epoch, self._train_epoch(epoch, Xt, yt)):
                break
        self._finish_epochs()

    # -- fitting step by step (module docstring) -------------------------------------------
    def start_fit(self, X: Any, y: Any = None, eval_set: tuple | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Step 1: what ``fit`` does before the networks exist; the training data on the device
        as ``(X, y)`` tensors (``y``: 1 for collected anomalies)."""
        X, y, eval_set = self._begin_fit(X, y, eval_set)
        self._fit_X = X  # for finish_fit: the training scores are computed from it on first read
        return self._start_fit(X, y, eval_set)

    @property
    def generator(self) -> torch.Generator:
        """The detector's own random generator during a fit (seeded by :meth:`start_fit` from
        ``random_state``): every random draw of training comes from it."""
        return self._generator

    def seeded(self) -> contextlib.AbstractContextManager[None]:
        """A block in which torch's global generators are seeded with the detector's seed (layer
        initialisation draws from them), restored afterwards."""
        return torch_seed(self._seed, self.device_)

    def build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        """Step 2: networks and optimizers for the data of :meth:`start_fit`, under :meth:`seeded`."""
        with self.seeded():
            self._build(X, y)

    def finish_fit(self) -> "TorchDetector":
        """Step 5: the selected epoch's weights and ``fit_info_``; the detector is fitted."""
        self._finish_epochs()
        X, self._fit_X = self._fit_X, None
        return self._end_fit(X)

    def _start_fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Device, seed, the detector's own generator and the data as tensors on the device.

        A detector with a ``max_rows`` parameter trains on a stratified seeded subsample of at most
        that many rows (:func:`detectors.subsample.stratified_rows`); the original size goes into
        ``fit_info_["subsampled_from"]``.
        """
        self.device_ = resolve_device(getattr(self, "device", "auto"))
        self._seed = seed_from(getattr(self, "random_state", None))
        self._generator = torch.Generator().manual_seed(self._seed)
        X, y, subsampled_from = limit_rows_stratified(X, y, getattr(self, "max_rows", None), self._seed)
        if subsampled_from is not None:
            self.fit_info_["subsampled_from"] = subsampled_from
        self._eval_set = eval_set
        return to_tensor(X, self.device_), torch.as_tensor(y, device=self.device_)

    def start_epochs(self) -> int:
        """Step 3, after :meth:`build`: the number of epochs to run; validation tensors and
        selection state."""
        self._epochs = self._planned_epochs()
        # eval_every=None: the detector does no selection (its paper used the last epoch) and
        # ignores an eval_set; an eval_set with a single label cannot rank epochs either.
        self._eval_every = eval_every = self._eval_interval(self._epochs)
        eval_set = self._eval_set
        self._can_select = eval_every is not None and eval_set is not None and len(np.unique(eval_set[1])) == 2
        self._X_val = to_tensor(eval_set[0], self.device_) if self._can_select else None
        self._best = (-math.inf, None, None)  # (auroc, epoch, score name)
        self._best_state = None
        self._last_epoch = 0
        self.history_: list[dict[str, Any]] = []
        return self._epochs

    def end_epoch(self, epoch: int, losses: dict[str, float]) -> bool:
        """Step 4, after training the 0-based ``epoch`` (the networks in training mode): check its
        mean ``losses``, record them, evaluate and keep the best weights when due; True when
        training should stop early."""
        for name, value in losses.items():
            if not math.isfinite(value):
                raise DivergenceError(f"loss '{name}' became {value} at epoch {epoch + 1}")
        record: dict[str, Any] = {"epoch": epoch + 1, **losses}
        self._last_epoch = epoch + 1
        eval_every, epochs = self._eval_every, self._epochs
        if self._can_select and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            self._set_train(False)
            for name, scores in self._score_candidates(self._X_val).items():
                if not np.isfinite(scores).all():
                    continue
                auc = roc_auc_score(self._eval_set[1], scores)
                record[f"val_auroc_{name}"] = auc
                if auc > self._best[0]:
                    self._best = (auc, epoch + 1, name)
                    self._best_state = {k: copy.deepcopy(m.state_dict()) for k, m in self._modules().items()}
        self.history_.append(record)
        report_epoch(type(self).__name__, epoch + 1, epochs)
        return bool(self._should_stop(epoch, losses))

    def _finish_epochs(self) -> None:
        """Load the selected epoch's weights (if any) and write what was chosen to ``fit_info_``."""
        self._set_train(False)
        best, best_state = self._best, self._best_state
        if best_state is not None:
            for key, module in self._modules().items():
                module.load_state_dict(best_state[key])
            self.score_name_ = best[2]
            self.fit_info_.update(selected_epoch=best[1], selected_score=best[2], val_auroc=best[0])
        else:
            self.score_name_ = self.default_score
            self.fit_info_.update(selected_epoch=self._last_epoch, selected_score=self.default_score)
        self.fit_info_["epochs_run"] = self._last_epoch
        for name in ("_best_state", "_X_val", "_eval_set"):  # only needed while fitting
            setattr(self, name, None)

    def _score(self, X: np.ndarray) -> np.ndarray:
        self._set_train(False)
        return self._score_candidates(to_tensor(X, self.device_))[self.score_name_]

    def _set_train(self, mode: bool) -> None:
        for module in self._modules().values():
            module.train(mode)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_generator", None)  # torch generators do not pickle; only needed while fitting
        return state
