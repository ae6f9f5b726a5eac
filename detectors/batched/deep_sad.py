"""Deep SAD for several experiments at once: autoencoder pretraining and Deep SAD training stacked.

Each experiment gets exactly the random draws it gets when fitted alone, from its own
``torch.Generator`` seeded by its ``random_state``, in the same order: the autoencoder's
initialisation seed, one permutation per pretraining epoch, one per Deep SAD epoch (or, without
pretraining, the encoder's initialisation under the detector's seed). The networks are then
stacked (:mod:`detectors.batched.stacked`) and trained with one vmapped call per step; the
centre c, the per-epoch bookkeeping (divergence checks, validation, selection, ``history_``,
``fit_info_``) and the scoring are each detector's own code, run on its own copy of the weights.

Optimisers: Adam with torch's default betas and eps, as :mod:`detectors.autoencoder` and
:class:`detectors.deep_sad.DeepSAD` use; the autoencoder's milestones by ``MultiStepLR`` (the rate
multiplied by 0.1 after each milestone epoch), Deep SAD's with
:func:`detectors.deep_sad.milestone_lr`, as in the single-experiment code.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from ..autoencoder import LR_DECAY, PRETRAIN_STAGE, autoencoder_loss_terms
from ..deep_sad import DeepSAD, milestone_lr, sad_loss_terms, set_lr, squared_distance
from ..errors import DivergenceError
from ..networks.arch import resolve_arch
from ..networks.factory import build_decoder, build_encoder
from ..progress import report_epoch
from ..torch_utils import torch_seed, training_batches, use_channels_last
from .registry import Data, register_trainer
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

    def __init__(self, index: int, detector: DeepSAD, Xt: torch.Tensor, yt: torch.Tensor):
        self.index, self.detector, self.Xt, self.yt = index, detector, Xt, yt
        self.labelled = yt == 1
        self.row = -1  # its row in the stacks
        self.failed = False
        self.done = False  # its epochs are over and its selection made


@register_trainer(DeepSAD)
def fit_many(detectors: Sequence[DeepSAD], data: Sequence[Data]) -> list[BaseException | None]:
    """Fit Deep SAD ``detectors`` on their ``data`` together; per detector None or its exception.
    Called through :func:`detectors.batched.fit_many`, which checks the group."""
    outcomes: list[BaseException | None] = [None] * len(detectors)
    running: list[_Experiment] = []
    for i, (det, (X, y, eval_set)) in enumerate(zip(detectors, data)):
        try:
            Xt, yt = det.start_fit(X, y, eval_set)
            det.arch_ = resolve_arch(det.arch, tuple(Xt.shape[1:]))
        except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
            raise
        except Exception as exc:  # noqa: BLE001 - this experiment fails as its fit would; the others go on
            outcomes[i] = exc
            continue
        running.append(_Experiment(i, det, Xt, yt))
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
    return outcomes


def _pretrain(running: list[_Experiment], fail: Callable[[_Experiment, BaseException], None]) -> StackedModules:
    """The autoencoders of every experiment, trained stacked; returns the encoders' stack.
    An experiment whose loss diverges is marked failed and skips every later step."""
    first = running[0].detector
    device, shape = first.device_, tuple(running[0].Xt.shape[1:])
    modules = []
    for e in running:
        init_seed = int(torch.randint(0, 2**62, (1,), generator=e.detector.generator))  # as train_autoencoder
        with torch_seed(init_seed, device):
            modules.append(_AutoEncoder(build_encoder(e.detector.arch_, shape), build_decoder(e.detector.arch_, shape)).to(device))
        if len(shape) == 3:  # images: the layout of the single-experiment autoencoder (speed only)
            use_channels_last(modules[-1])
    for row, e in enumerate(running):
        e.row = row
    stack = StackedModules.stack(modules)
    optimizer = StackedAdam(stack.parameters(), stack.k, lr=float(first.ae_lr), betas=ADAM_BETAS, eps=ADAM_EPS,
                            weight_decay=float(first.ae_weight_decay))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(first.ae_lr_milestones), gamma=LR_DECAY)
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
        batches = {e.row: list(training_batches(len(e.Xt), batch_size, e.detector.generator, device)) for e in live}
        totals = train_steps(stack, optimizer, batches, lambda row, idx: (by_row[row].Xt.index_select(0, idx),), loss)
        scheduler.step()
        for e in live:
            count = sum(len(idx) for idx in batches[e.row])
            mean_loss = float(totals[e.row]) / max(count, 1)
            if not math.isfinite(mean_loss):
                fail(e, DivergenceError(f"autoencoder reconstruction loss became {mean_loss} at epoch {epoch + 1}"))
                continue
            e.detector.fit_info_["ae_final_loss"] = mean_loss
        report_epoch(PRETRAIN_STAGE, epoch + 1, epochs)
    stack.train(False)
    return stack.substack("encoder")


def _train(running: list[_Experiment], encoders: StackedModules | None,
           fail: Callable[[_Experiment, BaseException], None]) -> None:
    """Centres, then Deep SAD's epochs stacked, with each detector's own bookkeeping after each epoch
    (on its own copy of the weights); each experiment ends fitted (its selection made) or failed."""
    first = running[0].detector
    device, shape = first.device_, tuple(running[0].Xt.shape[1:])
    if encoders is None:  # no pretraining: a fresh encoder under each detector's seed, as in its _build
        modules = []
        for e in running:
            with e.detector.seeded():
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
        det.set_network(stack.load_into(e.row, build_encoder(det.arch_, shape).to(device)), e.Xt, e.yt)
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
        return e.Xt.index_select(0, idx), e.labelled.index_select(0, idx), centers[row]  # as X[idx]

    epochs = {e.row: e.detector.start_epochs() for e in live}
    epoch = 0
    while True:
        live = [e for e in running if not e.failed and not e.done]
        if not live:
            break
        set_lr(optimizer, milestone_lr(float(first.lr), first.lr_milestones, epoch))
        batches = {e.row: list(training_batches(len(e.Xt), batch_size, e.detector.generator, device)) for e in live}
        stack.train(True)
        totals = train_steps(stack, optimizer, batches, inputs, loss)
        for e in live:
            det = e.detector
            stack.load_into(e.row, det.net_)
            count = sum(len(idx) for idx in batches[e.row])
            try:
                if det.end_epoch(epoch, {"loss": float(totals[e.row]) / max(count, 1)}) or epoch + 1 == epochs[e.row]:
                    det.finish_fit()
                    e.done = True
            except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a diverging loss: this experiment only
                fail(e, exc)
        epoch += 1
