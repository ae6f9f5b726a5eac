"""Reconstruction pretraining of Deep SAD's autoencoder (shared with the SSAD hybrid).

Deep SAD initialises its network φ with the encoder of an autoencoder trained to reconstruct all
training data, and the SSAD hybrid runs on the codes of that same encoder; both call
:func:`train_autoencoder`. Optimiser: Adam with weight decay in Adam (i.e. L2), optionally with
learning-rate milestones (×0.1 each).

Loss scale. The loss is the squared error averaged over every feature of every sample
(``reduction="mean"``, the default): the "MSE" of the Deep SAD paper and what its public code
computes, so the autoencoder weight decay 0.5e-3 acts against the same loss scale as there.
``reduction="sum"`` sums over the features of a sample and averages over the batch; with Adam the
two differ only in how strong the weight decay is relative to the loss (784 times weaker on MNIST
under "sum"). With full Deep SAD settings on ODDS cells and on small MNIST cells the two gave the
same AUROC up to seed noise, so the method's own scale is the default.

Memory: the whole training set is held on the device as one float32 tensor while training.
Speed: image nets run channels-last (:func:`detectors.torch_utils.use_channels_last`).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .errors import DivergenceError
from .progress import report_epoch
from .networks.factory import build_decoder, build_encoder
from .torch_utils import torch_seed, training_batches, use_channels_last

LR_DECAY = 0.1  # factor applied at each learning-rate milestone
PRETRAIN_STAGE = "autoencoder"  # the stage name its epochs are reported under (detectors.progress)
# How the squared error is reduced: "mean" over every feature of every sample (Deep SAD's MSE,
# the default), or "sum" over the features of a sample and mean over the batch.
AE_LOSS_REDUCTIONS = ("mean", "sum")


def reconstruction_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample squared error summed over all feature dimensions."""
    return ((x_hat - x) ** 2).flatten(1).sum(dim=1)


def autoencoder_loss_terms(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor,
                           reduction: str = "mean") -> dict[str, torch.Tensor]:
    """The named loss terms of one pretraining step; the step minimises their sum.

    Exposed so that tests can check which networks each term moves, on the loss as trained.
    """
    error = reconstruction_error(decoder(encoder(x)), x)
    if reduction == "mean":
        error = error / x[0].numel()
    return {"reconstruction": error.mean()}


def train_autoencoder(
    X: torch.Tensor,
    arch: str,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device | str,
    lr_milestones: Sequence[int] = (),
    history: list[float] | None = None,
    reduction: str = "mean",
) -> tuple[nn.Module, nn.Module]:
    """Train encoder + decoder for ``arch`` on ``X`` (all training data); return both in eval mode.

    Weight initialisation and batch order both derive from ``generator``, so the result is a
    function of the caller's seed only. ``history``, when given, receives the mean loss of every
    epoch. A last batch of a single sample is skipped (:func:`detectors.torch_utils.training_batches`).
    ``reduction`` is one of :data:`AE_LOSS_REDUCTIONS` (see the module docstring).
    """
    if reduction not in AE_LOSS_REDUCTIONS:
        raise ValueError(f"reduction must be one of {AE_LOSS_REDUCTIONS}; got {reduction!r}")
    device = torch.device(device)
    X = X.to(device=device, dtype=torch.float32)
    init_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch_seed(init_seed, device):
        encoder = build_encoder(arch, tuple(X.shape[1:])).to(device)
        decoder = build_decoder(arch, tuple(X.shape[1:])).to(device)
    if X.dim() == 4:  # images: channels-last kernels (speed only, see use_channels_last)
        use_channels_last(encoder, decoder)
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(lr_milestones), gamma=LR_DECAY)
    encoder.train()
    decoder.train()
    for epoch in range(epochs):
        total, count = torch.zeros((), device=device), 0  # summed on the device: no sync per batch
        for idx in training_batches(len(X), batch_size, generator, device):
            x = X.index_select(0, idx)  # gathers as X[idx] does, through a simpler kernel
            loss = sum(autoencoder_loss_terms(encoder, decoder, x, reduction).values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
            count += len(idx)
        scheduler.step()
        mean_loss = float(total) / max(count, 1)
        if not math.isfinite(mean_loss):
            raise DivergenceError(f"autoencoder reconstruction loss became {mean_loss} at epoch {epoch + 1}")
        if history is not None:
            history.append(mean_loss)
        report_epoch(PRETRAIN_STAGE, epoch + 1, epochs)
    encoder.eval()
    decoder.eval()
    return encoder, decoder
