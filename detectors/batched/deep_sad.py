"""Deep SAD for several experiments at once: autoencoder pretraining and Deep SAD training stacked.

Each experiment gets exactly the random draws it gets when fitted alone, from its own
``torch.Generator`` seeded by its ``random_state``, in the same order: the autoencoder's
initialisation seed, one permutation per pretraining epoch, one per Deep SAD epoch (or, without
pretraining, the encoder's initialisation under the detector's seed). The networks are then
stacked (:mod:`detectors.batched.stacked`) and trained with one vmapped call per step; the
centre c, the per-epoch bookkeeping (divergence checks, validation, selection, ``history_``,
``fit_info_``) and the scoring are each detector's own code, run on its own copy of the weights.

Optimisers: Adam with torch's default betas and eps, as :mod:`detectors.autoencoder` and
:class:`detectors.deep_sad.DeepSAD` use; the autoencoder's milestones are applied the way
``MultiStepLR`` applies them (the rate multiplied by 0.1 after each milestone epoch), Deep SAD's
with :func:`detectors.deep_sad.milestone_lr`, as in the single-experiment code.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..autoencoder import LR_DECAY, autoencoder_loss_terms
from ..deep_sad import DeepSAD, milestone_lr, sad_loss_terms, squared_distance, training_batches
from ..errors import DivergenceError
from ..networks.arch import resolve_arch
from ..networks.factory import build_decoder, build_encoder
from ..progress import report_epoch
from ..torch_utils import minibatch_indices, torch_seed, use_channels_last
from . import Data, check_group
from .stacked import StackedAdam, StackedModules, train_steps

# torch.optim.Adam's defaults, which the single-experiment Deep SAD and autoencoder use.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class _AutoEncoder(nn.Module):
    """Encoder and decoder in one module, so that one stack holds both."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder


class _Experiment:
    """One detector of the group while it trains: its tensors and whether it is still running."""

    def __init__(self, index: int, detector: DeepSAD, X: np.ndarray, Xt: torch.Tensor, yt: torch.Tensor):
        self.index, self.detector, self.X, self.Xt, self.yt = index, detector, X, Xt, yt
        self.labelled = yt == 1
        self.row = -1  # its row in the stacks
        self.failed = False
        self.done = False  # its epochs are over and its selection made


def fit_many(detectors: Sequence[DeepSAD], data: Sequence[Data]) -> list[BaseException | None]:
    """Fit Deep SAD ``detectors`` on their ``data`` together; per detector None or its exception."""
    check_group(detectors)
    if len(detectors) != len(data):
        raise ValueError(f"fit_many got {len(detectors)} detectors and {len(data)} data items")
    outcomes: list[BaseException | None] = [None] * len(detectors)
    running: list[_Experiment] = []
    for i, (det, (X, y, eval_set)) in enumerate(zip(detectors, data)):
        try:
            X, y, eval_set = det._begin_fit(X, y, eval_set)
            Xt, yt = det._start_fit(X, y, eval_set)
            det.arch_ = resolve_arch(det.arch, tuple(Xt.shape[1:]))
        except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
            raise
        except Exception as exc:  # noqa: BLE001 - this experiment fails as its fit would; the others go on
            outcomes[i] = exc
            continue
        running.append(_Experiment(i, det, X, Xt, yt))
    shapes = {tuple(e.Xt.shape[1:]) for e in running}
    devices = {e.detector.device_ for e in running}
    if len(shapes) > 1 or len(devices) > 1:
        raise ValueError(f"fit_many needs one input shape and one device; got shapes {sorted(shapes)}, devices {devices}")
    if not running:
        return outcomes

    def fail(e: _Experiment, exc: BaseException) -> None:
        outcomes[e.index] = exc
        e.failed = True

    first = running[0].detector
    encoders = _pretrain(running, fail) if first.pretrain and first.ae_epochs > 0 else None
    if any(not e.failed for e in running):
        _train(running, encoders, fail)
    for e in running:
        if e.failed:
            continue
        try:
            e.detector._end_fit(e.X)
        except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. non-finite training scores: this experiment only
            fail(e, exc)
    return outcomes


def _pretrain(running: list[_Experiment], fail) -> StackedModules:
    """The autoencoders of every experiment, trained stacked; returns the encoders' stack.
    An experiment whose loss diverges is marked failed and skips every later step."""
    first = running[0].detector
    device, shape = first.device_, tuple(running[0].Xt.shape[1:])
    modules = []
    for e in running:
        init_seed = int(torch.randint(0, 2**62, (1,), generator=e.detector._generator))
        with torch_seed(init_seed, device):
            modules.append(_AutoEncoder(build_encoder(e.detector.arch_, shape), build_decoder(e.detector.arch_, shape)).to(device))
        if len(shape) == 3:  # images: the layout of the single-experiment autoencoder (speed only)
            use_channels_last(modules[-1])
    for row, e in enumerate(running):
        e.row = row
    stack = StackedModules.stack(modules)
    lr = float(first.ae_lr)
    optimizer = StackedAdam(stack.parameters(), stack.k, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS,
                            weight_decay=float(first.ae_weight_decay))
    milestones = Counter(first.ae_lr_milestones)
    epochs, batch_size, reduction = int(first.ae_epochs), int(first.batch_size), first.ae_loss

    def loss(state, x):
        terms = autoencoder_loss_terms(stack.bound(state, "encoder"), stack.bound(state, "decoder"), x, reduction)
        return sum(terms.values())

    by_row = {e.row: e for e in running}
    stack.train(True)
    for epoch in range(epochs):
        live = [e for e in running if not e.failed]
        if not live:
            break
        batches = {e.row: [idx for idx in minibatch_indices(len(e.Xt), batch_size, e.detector._generator, device)
                           if len(idx) >= 2] for e in live}
        totals = train_steps(stack, optimizer, batches, lambda row, idx: (by_row[row].Xt.index_select(0, idx),), loss)
        optimizer.lr = optimizer.lr * LR_DECAY ** milestones[epoch + 1]  # as MultiStepLR after the epoch
        for e in live:
            count = sum(len(idx) for idx in batches[e.row])
            mean_loss = float(totals[e.row]) / max(count, 1)
            if not math.isfinite(mean_loss):
                fail(e, DivergenceError(f"autoencoder reconstruction loss became {mean_loss} at epoch {epoch + 1}"))
                continue
            e.detector.fit_info_["ae_final_loss"] = mean_loss
        report_epoch("autoencoder", epoch + 1, epochs)
    stack.train(False)
    return stack.substack("encoder")


def _train(running: list[_Experiment], encoders: StackedModules | None, fail) -> None:
    """Centres, then Deep SAD's epochs stacked, with each detector's own bookkeeping after each epoch
    (on its own copy of the weights); ends with each detector's selection made."""
    first = running[0].detector
    device, shape = first.device_, tuple(running[0].Xt.shape[1:])
    if encoders is None:  # no pretraining: a fresh encoder under each detector's seed, as in its _build
        modules = []
        for e in running:
            with torch_seed(e.detector._seed, device):
                modules.append(build_encoder(e.detector.arch_, shape).to(device))
            if len(shape) == 3:  # images: the layout of the single-experiment Deep SAD (speed only)
                use_channels_last(modules[-1])
        for row, e in enumerate(running):
            e.row = row
        stack = StackedModules.stack(modules)
    else:
        stack = encoders
    live = [e for e in running if not e.failed]
    for e in live:
        det = e.detector
        det.net_ = stack.load_into(e.row, build_encoder(det.arch_, shape).to(device))
        det.c_ = det._init_center(e.Xt)
        det.fit_info_["n_labelled_anomalies"] = int(e.yt.sum())
    centers = torch.zeros(stack.k, *live[0].detector.c_.shape, device=device)
    for e in live:
        centers[e.row] = e.detector.c_
    optimizer = StackedAdam(stack.parameters(), stack.k, lr=float(first.lr), betas=ADAM_BETAS, eps=ADAM_EPS,
                            weight_decay=float(first.weight_decay))
    eta, batch_size = float(first.eta), int(first.batch_size)
    by_row = {e.row: e for e in live}

    def loss(state, x, labelled, c):
        return sum(sad_loss_terms(squared_distance(stack.bound(state)(x), c), labelled, eta).values())

    def inputs(row: int, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        e = by_row[row]
        return e.Xt.index_select(0, idx), e.labelled.index_select(0, idx), centers[row]  # as X[idx], faster

    epochs = {e.row: e.detector._start_epochs() for e in live}
    epoch = 0
    while True:
        live = [e for e in running if not e.failed and not e.done]
        if not live:
            break
        optimizer.lr = milestone_lr(float(first.lr), first.lr_milestones, epoch)
        batches = {e.row: list(training_batches(len(e.Xt), batch_size, e.detector._generator, device)) for e in live}
        stack.train(True)
        totals = train_steps(stack, optimizer, batches, inputs, loss)
        for e in live:
            det = e.detector
            stack.load_into(e.row, det.net_)
            count = sum(len(idx) for idx in batches[e.row])
            try:
                stop = det._end_epoch(epoch, {"loss": float(totals[e.row]) / max(count, 1)})
            except DivergenceError as exc:
                fail(e, exc)
                continue
            if stop or epoch + 1 == epochs[e.row]:
                det._finish_epochs()
                e.done = True
        epoch += 1
