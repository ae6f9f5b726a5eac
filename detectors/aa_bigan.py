"""AA-BiGAN (Tian, Su, Yin, IJCAI 2022): an anomaly-aware bidirectional GAN, method.md §4.

A least-squares BiGAN (encoder E: x -> z, generator G: z -> x, discriminator D_xz on (x, z)
pairs) plus an ALICE-style image-pair discriminator D_xx, made anomaly-aware by a third target
for the pairs of collected anomalies:

    D:    (D_xz(x+, E x+) - a)^2 + (D_xz(x-, E x-) - m)^2 + (D_xz(G z, z) - b)^2
        + (D_xx(x+, x+) - a)^2  + (D_xx(x-, x-) - m)^2  + (D_xx(x+, G E x+) - b)^2
    G, E: (D_xz(x+, E x+) - c)^2 + (D_xz(x-, E x-) - c)^2 + (D_xz(G z, z) - c)^2
        + w [(D_xx(x+, x+) - c)^2 + (D_xx(x-, x-) - c)^2 + (D_xx(x+, G E x+) - c)^2]

a = 1, b = 0, m = (a + b) / 2 = 0.5, c = 0.75; every term is the mean over its own mini-batch;
the cycle weight w is 1/3 (1/2 in the unsupervised variant, which drops both anomaly terms and
is what runs when y holds no 1s). Every term goes through the module-level :func:`least_squares`
(one place to read, and a seam for tests that record the targets and weights).

Update order per iteration, as in the public code: D (both heads, one optimizer), then G and E.
``joint_ge=True`` (default) updates G and E together on the sum above, as the paper's equation
writes min over (G, E); ``joint_ge=False`` keeps the public code's separate G step
((D_xz(Gz, z) - c)^2 + cycle) and then E step (the two encoder terms + cycle), the E step with a
fresh G(E(x)) since G has just changed. Nothing is differentiated through a graph built before
the optimizer step of a network in that graph: E and G outputs computed at the start of an
iteration are reused by the D step (detached) and by the joint G/E step, which is exact because
the D step changes no weight of E or G; D is always run afresh after its own step. (The public
code reused a graph across an optimizer step, which only worked on torch 1.1.) The D_xx terms on
(x+, x+) and (x-, x-) carry no gradient for G and E; in the G/E loss they are evaluated without
a graph, only to report the loss the paper writes. The D_xx tower of the first image runs once per
batch of x+ and serves both pairs (x+, x+) and (x+, G E x+): same batch, same BatchNorm
statistics, so the values are exactly those of two separate calls.

Training (public code): Adam betas (0.5, 0.9), lr 1e-4 for G and E, 2.5e-5 for D, StepLR
every 100 epochs x0.98, batch 200 normals per iteration (one epoch = one pass over the normals,
last incomplete batch dropped) and a batch of collected anomalies cycled over X-. Anomaly batch
size (public code, batch 200): MNIST / F-MNIST 50 at gamma_l .2, 22 at .1, 10 at .05, 22 at .01;
CIFAR-10 50 at .01. gamma_l is derived from the labels, |X-| / (|X+| + |X-|), which inverts the
protocol's count int(|X+| gamma_l / (1 - gamma_l)). A derived gamma_l within 10 % of a tabulated
value uses the table (scaled by batch_size / 200); any other value (and ODDS, CIFAR-10 at other
gamma_l) gets the rule the table approximates, one pass over X- per epoch:
int(batch_size * gamma_l / (1 - gamma_l)), at least 2 (BatchNorm needs two samples) and at most
|X-|. ``anomaly_batch_size`` overrides it.

Epochs: ``epochs=None`` (default) is the paper's value for the network family, from
:data:`PAPER_EPOCHS` (200 for MNIST / F-MNIST, 1000 for CIFAR-10; 200 for tables); ``epoch_scale``
in (0, 1] shortens a run to max(1, round(epochs * epoch_scale)) for quick experiments. Early stop (public code): after epoch
300, stop when the smallest per-iteration D loss of an epoch falls below 0.015.

Scores: reconstruction error sum((G(E(x)) - x)^2) over the 32x32 image ("recon") and latent norm
||E(x)|| ("latent"). With an ``eval_set`` the base class evaluates every ``eval_every`` epochs,
keeps the best epoch's weights and the better score; without one the score is "recon" (the
paper's choice for most image sets) and the final epoch's weights are kept.

BatchNorm at scoring time: every group of samples (x+, x-, z) passes a net in its own call, so
in training each group is normalised by its own batch statistics, as the losses require. The
running statistics that eval-mode scoring uses must describe the unlabelled data, though, and a
plain E(x-) call would move E's running statistics about halfway towards the small anomaly batch
(each call moves them by the momentum, whatever the batch size). E(x-) therefore runs with its
BatchNorm momentum at 0 (batch statistics used, running statistics untouched). Measured on MNIST
3-vs-rest (2,000 normals, 15 epochs): validation AUROC of the recon score 64.9 with the plain
call, 77.8 without the anomaly batch in the running statistics (same training losses); with
best-epoch selection the test AUROC of 3 vs known 5 went from 89.8 to 93.2. The method and the public code's
description say nothing of this; it changes no training step, only the statistics used to score.

Images: 28x28 inputs are resized to 32x32 inside the detector (bilinear, values stay in [0, 1]).
Tables: MLP nets, see :mod:`detectors.networks.bigan`. Speed: data live on the device, batched
scoring runs under inference mode, image tensors and nets use channels-last memory (oneDNN's
convolutions on CPU and cuDNN's on GPU are faster with it: about 23 % less time per MNIST epoch
on a 2-core CPU, see ``benchmarks/aa_bigan_speed.py``), and
``amp=True`` runs forward passes in bfloat16 autocast on GPU (ignored on CPU).
"""
from __future__ import annotations

import contextlib
import math
import numbers
from typing import ClassVar, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .networks.arch import resolve_arch
from .networks.bigan import (
    IMAGE_SIZE,
    build_encoder,
    build_generator,
    build_xx_discriminator,
    build_xz_discriminator,
    latent_dim_for,
)
from .params import Interval, IsBool, IsNone
from .registry import register
from .torch_base import TorchDetector

# -- configuration (method.md §4, AA-BiGAN public code) ------------------------------------
PAPER_EPOCHS = {"mnist": 200, "fmnist": 200, "cifar10": 1000}
DEFAULT_EPOCHS = 200  # tables (no published value) and other image families
ADAM_BETAS = (0.5, 0.9)
LR_GE = 1e-4
LR_D = 2.5e-5
LR_STEP_EPOCHS = 100
LR_GAMMA = 0.98
REFERENCE_BATCH = 200
# anomaly batch sizes of the public code at batch 200, per (dataset family, gamma_l)
ANOMALY_BATCH_TABLE: dict[str, dict[float, int]] = {
    "mnist": {0.2: 50, 0.1: 22, 0.05: 10, 0.01: 22},
    "cifar10": {0.01: 50},
}
ANOMALY_BATCH_MATCH = 0.1  # relative tolerance when matching a derived gamma_l to the table
MIN_ANOMALY_BATCH = 2
CYCLE_WEIGHT = 1.0 / 3.0
CYCLE_WEIGHT_UNSUPERVISED = 1.0 / 2.0
EARLY_STOP_AFTER_EPOCH = 300
EARLY_STOP_D_LOSS = 0.015
SCORE_BATCH = 1024
SCORES = ("recon", "latent")


def least_squares(phase: str, term: str, output: torch.Tensor, target: float, weight: float = 1.0) -> torch.Tensor:
    """``weight * mean((output - target)^2)``: one expectation of the losses, over its own batch.

    ``phase`` ("D", "GE", "G" or "E") and ``term`` (e.g. "xz/anomaly") name the term; they do
    not change the value and exist so that tests can record which target and weight each term got.
    """
    return weight * (output.float() - target).pow(2).mean()


def anomaly_batch_size(gamma_l: float, arch: str, batch_size: int, n_anomalies: int) -> int:
    """The collected-anomaly batch per iteration (rule in the module docstring)."""
    family = "cifar10" if arch == "cifar10" else "mnist" if arch in ("mnist", "fmnist") else None
    size = None
    for key, value in ANOMALY_BATCH_TABLE.get(family, {}).items():
        if abs(gamma_l - key) <= ANOMALY_BATCH_MATCH * key:
            size = int(round(value * batch_size / REFERENCE_BATCH))
            break
    if size is None:
        size = int(batch_size * gamma_l / (1.0 - gamma_l))
    return int(min(max(size, MIN_ANOMALY_BATCH), n_anomalies)) if n_anomalies >= MIN_ANOMALY_BATCH else MIN_ANOMALY_BATCH


class _Cycler:
    """Endless shuffled batches over ``n`` indices (a new permutation after each pass)."""

    def __init__(self, n: int, generator: torch.Generator, device: torch.device):
        self.n, self.generator, self.device = n, generator, device
        self._order = torch.empty(0, dtype=torch.long)

    def take(self, k: int) -> torch.Tensor:
        while len(self._order) < k:
            self._order = torch.cat([self._order, torch.randperm(self.n, generator=self.generator)])
        out, self._order = self._order[:k], self._order[k:]
        return out.to(self.device)


@contextlib.contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """No weight gradients for ``modules`` inside the block (inputs still get theirs)."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def _running_stats_kept(module: nn.Module) -> Iterator[None]:
    """BatchNorm layers of ``module`` normalise by the batch as usual but leave their running
    statistics unchanged inside the block (momentum 0): used for the small batch of collected
    anomalies, so that the statistics used at scoring time are those of the unlabelled data."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum


@register("aa-bigan")
class AABiGAN(TorchDetector):
    """Anomaly-aware bidirectional GAN; semi-supervised with collected anomalies, unsupervised without."""

    default_score: ClassVar[str] = "recon"
    test_params: ClassVar[dict] = {"epochs": 2, "batch_size": 64, "eval_every": 1}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lr_d": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "epochs": [Interval(numbers.Integral, 1, None), IsNone()],
        "epoch_scale": [Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "a": [Interval(numbers.Real)],
        "b": [Interval(numbers.Real)],
        "c": [Interval(numbers.Real)],
        "anomaly_target": [Interval(numbers.Real), IsNone()],
        "anomaly_batch_size": [Interval(numbers.Integral, 1, None), IsNone()],
        "latent_dim": [Interval(numbers.Integral, 1, None), IsNone()],
        "joint_ge": [IsBool()],
        "amp": [IsBool()],
        "channels_last": [IsBool()],
    }

    def __init__(self, *, epochs: int | None = None, epoch_scale: float = 1.0, batch_size: int = REFERENCE_BATCH,
                 lr: float = LR_GE, lr_d: float = LR_D, weight_decay: float = 0.0,
                 a: float = 1.0, b: float = 0.0, anomaly_target: float | None = None, c: float = 0.75,
                 anomaly_batch_size: int | None = None, latent_dim: int | None = None, joint_ge: bool = True,
                 amp: bool = False, channels_last: bool = True, device: str = "auto", random_state: int | None = None,
                 eval_every: int | None = 1, verbose: bool = False, arch: str = "auto", contamination: float = 0.1):
        self.epochs = epochs
        self.epoch_scale = epoch_scale
        self.batch_size = batch_size
        self.lr = lr
        self.lr_d = lr_d
        self.weight_decay = weight_decay
        self.a = a
        self.b = b
        self.anomaly_target = anomaly_target
        self.c = c
        self.anomaly_batch_size = anomaly_batch_size
        self.latent_dim = latent_dim
        self.joint_ge = joint_ge
        self.amp = amp
        self.channels_last = channels_last
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.arch = arch
        self.contamination = contamination

    # -- setup -------------------------------------------------------------------------
    def _prepare(self, X: torch.Tensor) -> torch.Tensor:
        """Images to 32x32 in [0, 1] (bilinear), channels-last; tables unchanged."""
        if X.dim() == 4:
            if X.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
                X = F.interpolate(X, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False).clamp_(0, 1)
            if self._channels_last:
                X = X.contiguous(memory_format=torch.channels_last)
        return X

    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.arch_ = resolve_arch(self.arch, tuple(X.shape[1:]))
        self._channels_last = X.dim() == 4 and self.channels_last
        self._amp = bool(self.amp) and self.device_.type == "cuda"
        shape = (X.shape[1], IMAGE_SIZE, IMAGE_SIZE) if X.dim() == 4 else (X.shape[1],)
        self.latent_dim_ = int(self.latent_dim or latent_dim_for(self.arch_, shape))
        self.encoder_ = build_encoder(self.arch_, shape, self.latent_dim_).to(self.device_)
        self.generator_ = build_generator(self.arch_, shape, self.latent_dim_).to(self.device_)
        self.d_xz_ = build_xz_discriminator(self.arch_, shape, self.latent_dim_).to(self.device_)
        self.d_xx_ = build_xx_discriminator(self.arch_, shape).to(self.device_)
        if self._channels_last:
            for module in self._modules().values():
                module.to(memory_format=torch.channels_last)
        adam = dict(betas=ADAM_BETAS, weight_decay=self.weight_decay)
        self._opt_d = torch.optim.Adam([*self.d_xz_.parameters(), *self.d_xx_.parameters()], lr=self.lr_d, **adam)
        self._opt_g = torch.optim.Adam(self.generator_.parameters(), lr=self.lr, **adam)
        self._opt_e = torch.optim.Adam(self.encoder_.parameters(), lr=self.lr, **adam)
        self._schedulers = [torch.optim.lr_scheduler.StepLR(o, LR_STEP_EPOCHS, LR_GAMMA)
                            for o in (self._opt_d, self._opt_g, self._opt_e)]

        anomalous = y == 1
        self._x_normal = self._prepare(X[~anomalous])
        self._x_anom = self._prepare(X[anomalous])
        n_pos, n_neg = len(self._x_normal), len(self._x_anom)
        if n_pos < 2:
            raise ValueError(f"AABiGAN needs at least 2 unlabelled (normal) samples; got {n_pos}")
        self.gamma_l_ = n_neg / (n_pos + n_neg)
        self.supervised_ = n_neg > 0
        self.batch_normal_ = int(min(self.batch_size, n_pos))
        if self.supervised_:
            self.batch_anomaly_ = int(self.anomaly_batch_size or anomaly_batch_size(
                self.gamma_l_, self.arch_, self.batch_normal_, n_neg))
        else:
            self.batch_anomaly_ = 0
        self.cycle_weight_ = CYCLE_WEIGHT if self.supervised_ else CYCLE_WEIGHT_UNSUPERVISED
        base_epochs = self.epochs if self.epochs is not None else PAPER_EPOCHS.get(self.arch_, DEFAULT_EPOCHS)
        self.epochs_planned_ = max(1, int(round(base_epochs * self.epoch_scale)))
        self._anomaly_cycler = _Cycler(n_neg, self._generator, self.device_) if self.supervised_ else None
        self.fit_info_.update(
            variant="semi-supervised" if self.supervised_ else "unsupervised",
            gamma_l=self.gamma_l_, batch_normal=self.batch_normal_, batch_anomaly=self.batch_anomaly_,
            cycle_weight=self.cycle_weight_, epochs_planned=self.epochs_planned_, joint_ge=self.joint_ge,
            targets=dict(a=self.a, b=self.b, anomaly=self._m, c=self.c), arch=self.arch_,
        )

    @property
    def _m(self) -> float:
        return (self.a + self.b) / 2.0 if self.anomaly_target is None else float(self.anomaly_target)

    def _modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder_, "generator": self.generator_, "d_xz": self.d_xz_, "d_xx": self.d_xx_}

    def _autocast(self):
        return torch.autocast(device_type=self.device_.type, dtype=torch.bfloat16, enabled=self._amp)

    def _noise(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim_, generator=self._generator)
        return z.to(self.device_)

    # -- losses ------------------------------------------------------------------------
    def _d_loss(self, xp, xn, ep, en, z, gz, rec) -> torch.Tensor:
        """Discriminator loss on detached E/G outputs; anomaly terms only when xn is given."""
        a, b, m = self.a, self.b, self._m
        loss = least_squares("D", "xz/normal", self.d_xz_(xp, ep), a)
        loss = loss + least_squares("D", "xz/generated", self.d_xz_(gz, z), b)
        fa = self.d_xx_.tower_a(xp)  # shared by both pairs that start with x+ (same batch: exact)
        loss = loss + least_squares("D", "xx/normal", self.d_xx_.pair(fa, self.d_xx_.tower_b(xp)), a)
        loss = loss + least_squares("D", "xx/reconstruction", self.d_xx_.pair(fa, self.d_xx_.tower_b(rec)), b)
        if xn is not None:
            loss = loss + least_squares("D", "xz/anomaly", self.d_xz_(xn, en), m)
            loss = loss + least_squares("D", "xx/anomaly", self.d_xx_(xn, xn), m)
        return loss

    def _cycle(self, phase: str, xp, xn, rec) -> torch.Tensor:
        """The D_xx part of the G/E losses, weighted; the (x, x) pairs carry no G/E gradient."""
        c, w = self.c, self.cycle_weight_
        with torch.no_grad():
            fa = self.d_xx_.tower_a(xp)  # constant for G and E, shared by both x+ pairs
        loss = least_squares(phase, "xx/reconstruction", self.d_xx_.pair(fa, self.d_xx_.tower_b(rec)), c, w)
        with torch.no_grad():
            loss = loss + least_squares(phase, "xx/normal", self.d_xx_.pair(fa, self.d_xx_.tower_b(xp)), c, w)
            if xn is not None:
                loss = loss + least_squares(phase, "xx/anomaly", self.d_xx_(xn, xn), c, w)
        return loss

    def _g_terms(self, phase: str, z, gz) -> torch.Tensor:
        return least_squares(phase, "xz/generated", self.d_xz_(gz, z), self.c)

    def _e_terms(self, phase: str, xp, xn, ep, en) -> torch.Tensor:
        loss = least_squares(phase, "xz/normal", self.d_xz_(xp, ep), self.c)
        if xn is not None:
            loss = loss + least_squares(phase, "xz/anomaly", self.d_xz_(xn, en), self.c)
        return loss

    # -- training ----------------------------------------------------------------------
    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        sums: dict[str, float] = {}
        d_min = math.inf
        n_batches = 0
        for idx in self._normal_batches():
            xp = self._x_normal[idx]
            xn = self._x_anom[self._anomaly_cycler.take(self.batch_anomaly_)] if self.supervised_ else None
            z = self._noise(len(idx))
            step = self._step_joint if self.joint_ge else self._step_separate
            losses = step(xp, xn, z)
            d_min = min(d_min, losses["loss_d"])
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            n_batches += 1
        for scheduler in self._schedulers:
            scheduler.step()
        out = {k: v / n_batches for k, v in sums.items()}
        out["loss_d_min"] = d_min
        return out

    def _normal_batches(self) -> Iterator[torch.Tensor]:
        n, bs = len(self._x_normal), self.batch_normal_
        order = torch.randperm(n, generator=self._generator).to(self.device_)
        for start in range(0, n - bs + 1, bs):  # one pass over the normals, incomplete batch dropped
            yield order[start:start + bs]

    def _forward_eg(self, xp, xn, z):
        """E and G outputs of one iteration (with graph); valid until E or G takes a step."""
        with self._autocast():
            ep = self.encoder_(xp)
            en = self._encode_anomalies(xn)
            gz = self.generator_(z)
            rec = self.generator_(ep)
        return ep, en, gz, rec

    def _encode_anomalies(self, xn: torch.Tensor | None) -> torch.Tensor | None:
        """E(x-) with the batch statistics of x- (as every group gets its own BatchNorm batch) but
        without moving E's running statistics towards the anomalies (see the module docstring)."""
        if xn is None:
            return None
        with _running_stats_kept(self.encoder_):
            return self.encoder_(xn)

    def _update_d(self, xp, xn, ep, en, z, gz, rec) -> float:
        detach = (lambda t: None if t is None else t.detach())
        self._opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            loss = self._d_loss(xp, xn, detach(ep), detach(en), z, detach(gz), detach(rec))
        loss.backward()
        self._opt_d.step()
        return float(loss.detach())

    def _step_joint(self, xp, xn, z) -> dict[str, float]:
        ep, en, gz, rec = self._forward_eg(xp, xn, z)
        loss_d = self._update_d(xp, xn, ep, en, z, gz, rec)
        # D has changed: fresh D passes; E and G have not, so their graph is still exact.
        self._opt_g.zero_grad(set_to_none=True)
        self._opt_e.zero_grad(set_to_none=True)
        with _frozen(self.d_xz_, self.d_xx_), self._autocast():
            loss = self._g_terms("GE", z, gz) + self._e_terms("GE", xp, xn, ep, en) + self._cycle("GE", xp, xn, rec)
            loss.backward()
        self._opt_g.step()
        self._opt_e.step()
        return {"loss_d": loss_d, "loss_ge": float(loss.detach())}

    def _step_separate(self, xp, xn, z) -> dict[str, float]:
        """The public code's order: D, then G, then E, each on a graph built after the previous step."""
        ep, en, gz, rec = self._forward_eg(xp, xn, z)
        loss_d = self._update_d(xp, xn, ep, en, z, gz, rec)
        self._opt_g.zero_grad(set_to_none=True)
        with _frozen(self.d_xz_, self.d_xx_, self.encoder_), self._autocast():
            loss_g = self._g_terms("G", z, gz) + self._cycle("G", xp, xn, rec)
            loss_g.backward()
        self._opt_g.step()
        self._opt_e.zero_grad(set_to_none=True)
        with _frozen(self.d_xz_, self.d_xx_, self.generator_), self._autocast():
            ep = self.encoder_(xp)
            en = self._encode_anomalies(xn)
            rec = self.generator_(ep)  # G just changed: a fresh pass
            loss_e = self._e_terms("E", xp, xn, ep, en) + self._cycle("E", xp, xn, rec)
            loss_e.backward()
        self._opt_e.step()
        return {"loss_d": loss_d, "loss_g": float(loss_g.detach()), "loss_e": float(loss_e.detach())}

    def _should_stop(self, epoch: int, losses: dict[str, float]) -> bool:
        done = epoch + 1
        if done > EARLY_STOP_AFTER_EPOCH and losses["loss_d_min"] < EARLY_STOP_D_LOSS:
            self.fit_info_["early_stopped_at"] = done
            return True
        return False

    def _planned_epochs(self) -> int:
        return self.epochs_planned_

    # -- scoring -----------------------------------------------------------------------
    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        recon, latent = [], []
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(X), SCORE_BATCH):
                x = self._prepare(X[start:start + SCORE_BATCH])
                z = self.encoder_(x)
                err = (self.generator_(z).float() - x).pow(2).flatten(1).sum(1)
                recon.append(err.cpu())
                latent.append(z.float().norm(dim=1).cpu())
        return {"recon": torch.cat(recon).double().numpy(), "latent": torch.cat(latent).double().numpy()}
