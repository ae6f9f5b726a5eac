"""AA-BiGAN (Tian, Su, Yin, IJCAI 2022): an anomaly-aware bidirectional GAN, docs/methods.md §4.

A least-squares BiGAN (encoder E: x -> z, generator G: z -> x, discriminator D_xz on (x, z)
pairs) plus an ALICE-style image-pair discriminator D_xx, made anomaly-aware by a third target
for the pairs of collected anomalies x-. The loss terms, each the mean over its own mini-batch
of (D(pair) - target)^2 (names as in :meth:`AABiGAN._d_terms` and :meth:`AABiGAN._ge_terms`):

    term                 pair             D target   G/E target   moves (G/E phase)
    xz/normal            (x+, E(x+))      a          c            E
    xz/anomaly           (x-, E(x-))      m          c            E
    xz/generated         (G(z), z)        b          c            G
    xx/normal            (x+, x+)         a          c * w        nothing (no G or E output)
    xx/anomaly           (x-, x-)         m          c * w        nothing
    xx/reconstruction    (x+, G(E(x+)))   b          c * w        G and E

a = 1, b = 0, m = (a + b) / 2 = 0.5, c = 0.75; the cycle weight w is 1/3 (1/2 in the
unsupervised variant, which drops both anomaly terms and is what runs when no y is 1).

Who minimises what. D minimises the sum of its six terms (both heads, one optimizer). As in the
authors' code, G minimises :data:`G_TERMS` (the generated pair and the cycle) and E minimises
:data:`E_TERMS` (the encoded pairs and the cycle), and each network gets the gradient of its own
loss only (:meth:`AABiGAN._ge_backward`: G's loss back-propagated into G's weights, E's into
E's), so that the generated-pair term does not reach E through the BatchNorm statistics G shares
between E(x+) and z. The reconstruction term is the only D_xx term that depends on G and E, and
it carries its gradient into both; without it D_xx wins the game, reconstructions stop improving
and validation AUROC peaks after one or two epochs. ``tests/test_aa_bigan.py`` checks term by
term which networks move.

Batch composition (public code). Per iteration E runs once on the concatenation [x+, x-] and G
once on [E(x+), z], so their BatchNorm layers normalise normals together with collected
anomalies, and encoded codes together with random ones, and their running statistics (used at
scoring time) see those mixed batches; each discriminator is called once per group of pairs.
This choice matters: normalising the anomaly batch by its own statistics lowers the latent
score's validation AUROC markedly on MNIST. One forward pass of E and G serves the D step
(detached) and the G and E steps; D runs afresh after its own step. G and E take their steps
from gradients at the same weights. (Deviation: the public code's E step back-propagated
through activations computed before G's step with G's weights after it, which current torch
refuses.)

Training (public code): Adam betas (0.5, 0.9), lr 1e-4 for G and E, 2.5e-5 for D, StepLR every
100 epochs x0.98, batch 200 normals per iteration (one epoch = one pass over the normals; the
last incomplete batch is kept, unless it holds a single sample, which BatchNorm cannot
normalise) and a batch of collected anomalies cycled over X-. Early stop: after epoch 300, stop
when an epoch's mean loss of either discriminator head falls below 0.015.

Anomaly batch size (public code, batch 200): MNIST / F-MNIST 50 at gamma_l .2, 22 at .1, 10 at
.05, 22 at .01; CIFAR-10 50 at .01. gamma_l is derived from the labels, |X-| / (|X+| + |X-|),
which inverts the protocol's count int(|X+| gamma_l / (1 - gamma_l)). A derived gamma_l within
10 % of a tabulated value uses the table (scaled by batch_size / 200); any other value (and ODDS,
CIFAR-10 at other gamma_l) gets the rule the table approximates, one pass over X- per epoch:
int(batch_size * gamma_l / (1 - gamma_l)), at least 2 (BatchNorm needs two samples) and at most
|X-|. ``anomaly_batch_size`` overrides it.

Epochs: ``epochs=None`` (default) is the paper's value for the network family, from
:data:`PAPER_EPOCHS` (200 for MNIST / F-MNIST, 1000 for CIFAR-10); ``epoch_scale`` in (0, 1]
shortens a run to max(1, round(epochs * epoch_scale)) for quick experiments. ``iterations``
replaces the epoch count by a budget of steps (epochs = ceil(iterations / steps per epoch)):
tables run from 200 to 25,000 training rows, so 200 epochs means 200 steps on one and 25,000 on
another. ``n_evaluations`` spreads that many validation evaluations evenly over the run (every
epochs // n_evaluations epochs) instead of ``eval_every``, so that runs of any length choose
among as many candidates.

Tables (the authors released no tabular model; this design is ours): every parameter left at
None takes :data:`TABULAR_DESIGN`, chosen by a design study on training data only
(``experiments/aa_bigan_tabular_study.py``, results in ``experiments/results/``): 2,000 training steps at
batch 64 and 50 validation evaluations spread over the run, instead of 200 epochs at batch 200
(200 steps on arrhythmia, 25,000 on shuttle).

Scores: reconstruction error sum((G(E(x)) - x)^2) over the 32x32 image ("recon") and latent norm
||E(x)|| ("latent"). With an ``eval_set`` the base class evaluates every ``eval_every`` epochs,
keeps the best epoch's weights and the better score; without one the score is "recon" (the
paper's choice for most image sets) and the final epoch's weights are kept.

Parameters: ``epochs``, ``epoch_scale``, ``iterations``, ``batch_size`` (normals per iteration),
``lr`` (G and E), ``lr_d``, ``weight_decay``, the targets ``a``, ``b``, ``anomaly_target`` (None:
(a + b) / 2) and ``c``, ``anomaly_batch_size``, ``latent_dim``, the tabular nets' ``mlp_hidden``
(None: Deep SAD's widths) and ``mlp_batchnorm`` (see :mod:`detectors.networks.bigan`), ``amp``,
``channels_last``, ``device``, ``random_state``, ``eval_every``, ``n_evaluations``, ``verbose``,
``arch``, ``contamination``.

Images: 28x28 inputs are resized to 32x32 inside the detector (bilinear, values stay in [0, 1]).
Tables: MLP nets, see :mod:`detectors.networks.bigan`. The training set lives on the device as
float32 tensors (32x32 images: about 24 MB per 6,000 MNIST images). Scoring runs in batches under
inference mode; image tensors and nets use channels-last memory (the layout oneDNN's and cuDNN's
convolution kernels prefer); ``amp=True`` runs forward passes in bfloat16 autocast on GPU
(ignored on CPU).
"""
from __future__ import annotations

import math
import numbers
from typing import ClassVar, Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .networks.arch import IMAGE_ARCHS, resolve_arch
from .networks.bigan import (
    IMAGE_SIZE,
    MLPOptions,
    build_encoder,
    build_generator,
    build_xx_discriminator,
    build_xz_discriminator,
    latent_dim_for,
)
from .params import Interval, IntTuple, IsBool, IsNone
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import MIN_TRAIN_BATCH, training_batches

# -- configuration (docs/methods.md §4, AA-BiGAN public code) ------------------------------------
PAPER_EPOCHS = {"mnist": 200, "fmnist": 200, "cifar10": 1000}
DEFAULT_EPOCHS = 200  # image families without a published value
# Tables (no published model): the design chosen by the strict-only study of
# experiments/aa_bigan_tabular_study.py, used for every parameter left at None on tabular data.
TABULAR_DESIGN = {"batch_size": 64, "iterations": 2000, "n_evaluations": 50}
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
# the loss terms by name: D_xz's three pairs, then D_xx's three; which of them G and E minimise
TERMS = ("xz/normal", "xz/generated", "xz/anomaly", "xx/normal", "xx/reconstruction", "xx/anomaly")
G_TERMS = ("xz/generated", "xx/normal", "xx/reconstruction", "xx/anomaly")
E_TERMS = ("xz/normal", "xz/anomaly", "xx/normal", "xx/reconstruction", "xx/anomaly")
CYCLE_WEIGHT = 1.0 / 3.0
CYCLE_WEIGHT_UNSUPERVISED = 1.0 / 2.0
EARLY_STOP_AFTER_EPOCH = 300
EARLY_STOP_D_LOSS = 0.015
SCORE_BATCH = 1024


def least_squares(phase: str, term: str, output: torch.Tensor, target: float, weight: float = 1.0) -> torch.Tensor:
    """``weight * mean((output - target)^2)``: one expectation of the losses, over its own batch.

    ``phase`` ("D" or "GE") and ``term`` (e.g. "xz/anomaly") name the term; they do not change
    the value and exist so that tests can see which target and weight each term got.
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


def _design(arch: str) -> dict:
    """The defaults that parameters left at None take beyond the public code's: the tabular
    design on tables, none on images."""
    return {} if arch in IMAGE_ARCHS else TABULAR_DESIGN


def _total(terms: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    """The sum of the named terms that are present (the anomaly terms exist only with x-)."""
    return sum(terms[name] for name in names if name in terms)


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


class Batch(NamedTuple):
    """One iteration's inputs and the E / G outputs computed from them (with their graph)."""

    xp: torch.Tensor            # normals x+
    xn: torch.Tensor | None     # collected anomalies x- (None in the unsupervised variant)
    z: torch.Tensor             # random codes
    ep: torch.Tensor            # E(x+)
    en: torch.Tensor | None     # E(x-)
    gz: torch.Tensor            # G(z)
    rec: torch.Tensor           # G(E(x+))

    def detached(self) -> "Batch":
        return Batch(*(None if t is None else t.detach() for t in self))


@register("aa-bigan")
class AABiGAN(TorchDetector):
    """Anomaly-aware bidirectional GAN; semi-supervised with collected anomalies, unsupervised without.

    Parameters (docs/methods.md §4; the module docstring says how they are used):
        epochs: None is the paper's value, 200 for MNIST / F-MNIST, 1,000 for CIFAR-10; on tables
            the design study's step budget (:data:`TABULAR_DESIGN`).
        epoch_scale: in (0, 1], shortens a run to max(1, round(epochs * epoch_scale)).
        iterations: a budget of training steps instead of epochs (not both).
        mlp_hidden, mlp_batchnorm: the tabular nets' hidden widths (None: Deep SAD's) and BatchNorm
            in E and G (tables only; images refuse them).
        batch_size: normals per iteration (None: 200 on images, 64 on tables).
        anomaly_batch_size: None is the public code's table.
        lr: G's and E's learning rate (1e-4). lr_d: both discriminators' (2.5e-5). weight_decay: 0.
        a, b, c: the targets 1, 0, 0.75. anomaly_target: None is (a + b) / 2.
        latent_dim: None is 100 for MNIST-sized images, 128 for CIFAR-10, Deep SAD's size for tables.
        amp: bfloat16 autocast on GPU. channels_last: image memory layout (speed only).
        device, random_state, arch ("auto" or a network family), contamination (PyOD's threshold).
        eval_every: evaluate on ``eval_set`` every this many epochs (None: never; keep the last epoch).
        n_evaluations: evaluate this many times, evenly spread, instead (None: eval_every on
            images, 50 evaluations on tables).
        verbose: a progress bar over epochs. A default fit from Python trains 200 epochs (minutes
            on a GPU, hours on a laptop CPU) and is silent without it.

    Fitted: ``fit_info_`` (batch sizes, cycle weight, epochs planned and run, selected epoch and
    score, validation AUROC), ``history_`` (per epoch: each network's mean loss and the validation
    AUROC of both scores), ``score_name_``, and PyOD's ``decision_scores_``, ``threshold_``,
    ``labels_``.
    """

    default_score: ClassVar[str] = "recon"
    test_params: ClassVar[dict] = {"epochs": 2, "batch_size": 64, "eval_every": 1}
    # 2: the CIFAR-10 E, G, D_xz and D_xx built as the authors' (detectors/networks/bigan.py); the
    # other families compute as in version 1.
    computation_version: ClassVar[int] = 2
    computation_changes: ClassVar[dict[int, tuple[str, ...]]] = {2: ("cifar10",)}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lr_d": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "epochs": [Interval(numbers.Integral, 1, None), IsNone()],
        "batch_size": [Interval(numbers.Integral, 1, None), IsNone()],
        "epoch_scale": [Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "a": [Interval(numbers.Real)],
        "b": [Interval(numbers.Real)],
        "c": [Interval(numbers.Real)],
        "anomaly_target": [Interval(numbers.Real), IsNone()],
        "anomaly_batch_size": [Interval(numbers.Integral, 1, None), IsNone()],
        "latent_dim": [Interval(numbers.Integral, 1, None), IsNone()],
        "amp": [IsBool()],
        "channels_last": [IsBool()],
        "iterations": [Interval(numbers.Integral, 1, None), IsNone()],
        "mlp_hidden": [IntTuple(1, "hidden widths"), IsNone()],
        "mlp_batchnorm": [IsBool()],
        "n_evaluations": [Interval(numbers.Integral, 1, None), IsNone()],
    }

    def __init__(self, *, epochs: int | None = None, epoch_scale: float = 1.0, batch_size: int | None = None,
                 lr: float = LR_GE, lr_d: float = LR_D, weight_decay: float = 0.0,
                 a: float = 1.0, b: float = 0.0, anomaly_target: float | None = None, c: float = 0.75,
                 anomaly_batch_size: int | None = None, latent_dim: int | None = None,
                 iterations: int | None = None, mlp_hidden: tuple[int, ...] | None = None, mlp_batchnorm: bool = True,
                 n_evaluations: int | None = None,
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
        self.iterations = iterations
        self.mlp_hidden = mlp_hidden
        self.mlp_batchnorm = mlp_batchnorm
        self.n_evaluations = n_evaluations
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
        if X.dim() == 4 and (self.mlp_hidden is not None or not self.mlp_batchnorm):
            raise ValueError("mlp_hidden and mlp_batchnorm shape the tabular nets; the image nets are the public code's")
        mlp = MLPOptions(None if self.mlp_hidden is None else tuple(self.mlp_hidden), self.mlp_batchnorm)
        self.encoder_ = build_encoder(self.arch_, shape, self.latent_dim_, mlp).to(self.device_)
        self.generator_ = build_generator(self.arch_, shape, self.latent_dim_, mlp).to(self.device_)
        self.d_xz_ = build_xz_discriminator(self.arch_, shape, self.latent_dim_, mlp).to(self.device_)
        self.d_xx_ = build_xx_discriminator(self.arch_, shape, mlp).to(self.device_)
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
        if n_pos < MIN_TRAIN_BATCH:
            raise ValueError(f"AABiGAN needs at least {MIN_TRAIN_BATCH} unlabelled (normal) samples; got {n_pos}")
        self.gamma_l_ = n_neg / (n_pos + n_neg)
        self.supervised_ = n_neg > 0
        design = _design(self.arch_)
        batch = self.batch_size if self.batch_size is not None else design.get("batch_size", REFERENCE_BATCH)
        self.n_evaluations_ = self.n_evaluations if self.n_evaluations is not None else design.get("n_evaluations")
        self.batch_normal_ = int(min(batch, n_pos))
        if self.supervised_:
            self.batch_anomaly_ = int(self.anomaly_batch_size or anomaly_batch_size(
                self.gamma_l_, self.arch_, self.batch_normal_, n_neg))
        else:
            self.batch_anomaly_ = 0
        self.cycle_weight_ = CYCLE_WEIGHT if self.supervised_ else CYCLE_WEIGHT_UNSUPERVISED
        steps = self._step_budget(self.arch_)
        if steps is not None:  # one epoch is ceil(n+ / batch) steps (the last batch is kept)
            self.epochs_planned_ = self._scaled(math.ceil(steps / self._batches_per_epoch()))
        else:
            self.epochs_planned_ = self.epoch_plan(self.arch_)[self.TRAIN_STAGE]
        self._anomaly_cycler = _Cycler(n_neg, self._generator, self.device_) if self.supervised_ else None
        self.fit_info_.update(
            variant="semi-supervised" if self.supervised_ else "unsupervised",
            gamma_l=self.gamma_l_, batch_normal=self.batch_normal_, batch_anomaly=self.batch_anomaly_,
            cycle_weight=self.cycle_weight_, epochs_planned=self.epochs_planned_,
            steps_planned=self.epochs_planned_ * self._batches_per_epoch(),
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
    def _forward(self, xp: torch.Tensor, xn: torch.Tensor | None, z: torch.Tensor) -> Batch:
        """E once on [x+, x-] and G once on [E(x+), z] (the public code's batch composition)."""
        n = len(xp)
        with self._autocast():
            e_all = self.encoder_(xp if xn is None else torch.cat([xp, xn]))
            ep = e_all[:n]
            g_all = self.generator_(torch.cat([ep, z]))
        return Batch(xp, xn, z, ep, None if xn is None else e_all[n:], g_all[n:], g_all[:n])

    def _pair_terms(self, phase: str, batch: Batch, targets: dict[str, float], weights: dict[str, float]
                    ) -> dict[str, torch.Tensor]:
        """The six least-squares terms of one phase, by name, each with its own target and weight.
        D_xx's first tower runs once for both pairs that start with x+ (same batch: exact)."""
        xp, xn = batch.xp, batch.xn
        outputs = {"xz/normal": self.d_xz_(xp, batch.ep), "xz/generated": self.d_xz_(batch.gz, batch.z)}
        fa = self.d_xx_.tower_a(xp)
        outputs["xx/normal"] = self.d_xx_.pair(fa, self.d_xx_.tower_b(xp))
        outputs["xx/reconstruction"] = self.d_xx_.pair(fa, self.d_xx_.tower_b(batch.rec))
        if xn is not None:
            outputs["xz/anomaly"] = self.d_xz_(xn, batch.en)
            outputs["xx/anomaly"] = self.d_xx_(xn, xn)
        return {term: least_squares(phase, term, out, targets[term], weights.get(term, 1.0))
                for term, out in outputs.items()}

    def _d_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        """D's terms on detached E / G outputs: gradients reach D_xz and D_xx only."""
        a, b, m = self.a, self.b, self._m
        targets = {"xz/normal": a, "xz/generated": b, "xz/anomaly": m,
                   "xx/normal": a, "xx/reconstruction": b, "xx/anomaly": m}
        return self._pair_terms("D", batch.detached(), targets, {})

    def _ge_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        """G's and E's terms: every pair towards c, the D_xx ("cycle") terms weighted."""
        w = self.cycle_weight_
        return self._pair_terms("GE", batch, dict.fromkeys(TERMS, self.c), {t: w for t in TERMS if t.startswith("xx/")})

    @staticmethod
    def _d_losses(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """D's loss, the sum of its six terms (both heads step together), and each head's part
        (for the history only)."""
        return {"d": _total(terms, TERMS), "d_xz": _total(terms, TERMS[:3]), "d_xx": _total(terms, TERMS[3:])}

    @staticmethod
    def _ge_losses(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """G's and E's losses as the public code writes them: G the generated pair and the
        cycle, E the encoded pairs and the cycle."""
        return {"g": _total(terms, G_TERMS), "e": _total(terms, E_TERMS)}

    # -- training ----------------------------------------------------------------------
    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        sums: dict[str, float] = {}
        n_batches = 0
        for xp, xn, z in self.epoch_inputs():
            for k, v in self._step(xp, xn, z).items():
                sums[k] = sums.get(k, 0.0) + v
            n_batches += 1
        for scheduler in self._schedulers:
            scheduler.step()
        return {k: v / n_batches for k, v in sums.items()}

    def _batches_per_epoch(self) -> int:
        n, bs = len(self._x_normal), self.batch_normal_
        return n // bs + (n % bs >= MIN_TRAIN_BATCH)

    def epoch_inputs(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]]:
        """The inputs ``(x+, x-, z)`` of each training step of one epoch, drawn from the detector's
        generator: one shuffled pass over the normals (the last incomplete batch kept, as in the
        public code, unless it holds a single sample), for each batch the next collected anomalies
        of the cycle (None in the unsupervised variant) and fresh codes. Used by ``_train_epoch``
        and by the trainer of several detectors at once."""
        for idx in training_batches(len(self._x_normal), self.batch_normal_, self._generator, self.device_):
            xn = self._x_anom[self._anomaly_cycler.take(self.batch_anomaly_)] if self.supervised_ else None
            yield self._x_normal[idx], xn, self._noise(len(idx))

    def _step(self, xp: torch.Tensor, xn: torch.Tensor | None, z: torch.Tensor) -> dict[str, float]:
        """One iteration: D steps on detached E / G outputs; then G and E each step on the gradient
        of their own loss, from one graph (E and G have not changed since it was built; D is run
        afresh after its step)."""
        batch = self._forward(xp, xn, z)
        self._opt_d.zero_grad(set_to_none=True)
        d = self.d_losses(batch)
        d["d"].backward()
        self._opt_d.step()

        self._opt_g.zero_grad(set_to_none=True)
        self._opt_e.zero_grad(set_to_none=True)
        ge = self._ge_backward(batch)
        self._opt_g.step()
        self._opt_e.step()
        return {"loss_" + name: loss.item() for name, loss in (*d.items(), *ge.items())}

    def d_losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """D's loss ``"d"`` (what D's step minimises) and each head's part, on the detached E / G
        outputs of ``batch`` (:meth:`_forward`); see :meth:`_d_losses`."""
        with self._autocast():
            return self._d_losses(self._d_terms(batch))

    def ge_losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """G's loss ``"g"`` and E's loss ``"e"`` on ``batch`` (:meth:`_forward`), each to be
        back-propagated into its own network's weights only; see :meth:`_ge_losses`."""
        with self._autocast():
            return self._ge_losses(self._ge_terms(batch))

    def _ge_backward(self, batch: Batch) -> dict[str, torch.Tensor]:
        """G's and E's gradients, each of its own loss: G's loss back-propagated into G's weights
        only, then E's into E's weights only, through the same graph. The generated pair's
        gradient never reaches E (it would through the BatchNorm statistics G shares between
        E(x+) and z); the reconstruction term reaches both (``tests/test_aa_bigan.py`` checks the
        applied gradients against the two losses)."""
        ge = self.ge_losses(batch)
        ge["g"].backward(inputs=list(self.generator_.parameters()), retain_graph=True)
        ge["e"].backward(inputs=list(self.encoder_.parameters()))
        return ge

    def _should_stop(self, epoch: int, losses: dict[str, float]) -> bool:
        done = epoch + 1
        if done > EARLY_STOP_AFTER_EPOCH and min(losses["loss_d_xz"], losses["loss_d_xx"]) < EARLY_STOP_D_LOSS:
            self.fit_info_["early_stopped_at"] = done
            return True
        return False

    def _planned_epochs(self) -> int:
        return self.epochs_planned_

    def _step_budget(self, arch: str) -> int | None:
        """Training steps asked for: ``iterations``, else the tabular design's budget on tables when
        ``epochs`` is None, else None (count epochs)."""
        if self.iterations is not None and self.epochs is not None:
            raise ValueError(f"give epochs or iterations, not both (epochs={self.epochs}, iterations={self.iterations})")
        if self.iterations is not None:
            return int(self.iterations)
        return _design(arch).get("iterations") if self.epochs is None else None

    def epoch_plan(self, arch: str) -> dict[str, int]:
        if self._step_budget(arch) is not None:
            raise ValueError("with a step budget (iterations) the number of epochs depends on the training data")
        base_epochs = self.epochs if self.epochs is not None else PAPER_EPOCHS.get(arch, DEFAULT_EPOCHS)
        return {self.TRAIN_STAGE: self._scaled(base_epochs)}

    def _scaled(self, epochs: int) -> int:
        """``epochs`` shortened by ``epoch_scale`` (at least one)."""
        return max(1, int(round(epochs * self.epoch_scale)))

    def _eval_interval(self, epochs: int) -> int | None:
        """``n_evaluations`` evenly spread over the run (so that runs of any length choose among as
        many candidates), else ``eval_every``; None disables evaluation either way."""
        n_evaluations = getattr(self, "n_evaluations_", self.n_evaluations)
        if self.eval_every is None or n_evaluations is None:
            return self.eval_every
        return max(1, epochs // n_evaluations)

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
