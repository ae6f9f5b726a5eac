"""NDA: negative data augmentation (Sinha et al., ICLR 2021) used as an anomaly detector.

A GAN whose discriminator D learns to call three things apart: real normals (+), generated
samples (-) and *negatives* (-). The hinge losses (docs/methods.md §5):

    L_D = mean relu(1 - D(x)) + alpha * mean relu(1 + D(G(z))) + beta * mean relu(1 + D(x_neg))
    L_G = -mean D(G(z))

alpha = 0.25, beta = 0.75; ``n_dis`` = 4 D steps per G step; Adam lr 2e-4 for both nets with the
betas (0, 0.999) of the BigGAN-PyTorch code NDA builds on. Data live in [-1, 1]. The anomaly
score is -D(x): a sample D finds un-normal-like scores high.

Negatives:
- with collected anomalies (y == 1): those anomalies, drawn with replacement, one batch per D step;
- without (gamma_l = 0), images: NDA's jigsaw, the 2x2 patches of each real batch image put back
  in a random non-identity order;
- without, tabular data: the analogue chosen here is a feature-wise permutation across the
  batch (every column shuffled independently): each feature keeps its normal marginal, but the
  dependence between features, which is what makes a sample normal, is destroyed.

Networks: G and D's feature tower are the AA-BiGAN ones (``detectors.networks.bigan``, latent
100 for MNIST/F-MNIST, 128 for CIFAR-10, Deep SAD's representation size for tables) so that NDA
and AA-BiGAN compare at equal capacity; D = tower + one linear unit. Real, generated and negative
samples go through D in one concatenated batch so that D's batch norm sees the same mixture when
training as its running statistics describe when scoring. The AA-BiGAN generator
ends in a sigmoid ([0, 1]); NDA works in [-1, 1], so its samples are mapped with 2 G(z) - 1, and
real data with 2 x - 1. Training data outside [0, 1] would differ from every generated sample by
its range alone: it gets a per-feature min-max map fitted in ``fit`` and kept for scoring
(``rescale="auto"``) or is refused (``rescale="off"``); nothing is clipped
(:mod:`detectors.unit_range`).
The AA-BiGAN image nets are 32x32: images of another size (MNIST's 28x28) are resized
bilinearly to the generator's output size, as the AA-BiGAN code resizes its inputs to 32.
"""
from __future__ import annotations

import itertools
import numbers
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .networks import bigan
from .networks.arch import resolve_arch
from .params import Interval
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, frozen, minibatch_indices
from .unit_range import RESCALE_OPTIONS, fit_unit_range

ADAM_BETAS = (0.0, 0.999)
JIGSAW_GRID = 2  # 2x2 patches
# Every reordering of the 4 patches except the identity (which would be a real image).
JIGSAW_PERMUTATIONS = torch.tensor(
    [p for p in itertools.permutations(range(JIGSAW_GRID**2)) if list(p) != list(range(JIGSAW_GRID**2))]
)


# -- losses (module-level so that tests can spy on them) -------------------------------------
def hinge_d_terms(d_real: torch.Tensor, d_fake: torch.Tensor, d_neg: torch.Tensor,
                  alpha: float, beta: float) -> dict[str, torch.Tensor]:
    """The weighted terms of NDA's discriminator hinge loss; each is a mean over its own batch."""
    return {"real": F.relu(1.0 - d_real).mean(), "fake": alpha * F.relu(1.0 + d_fake).mean(),
            "negative": beta * F.relu(1.0 + d_neg).mean()}


def hinge_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's hinge loss: raise D on generated samples."""
    return -d_fake.mean()


# -- negatives -------------------------------------------------------------------------------
def jigsaw(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image's 2x2 patches in a random non-identity order (an odd last row/column stays put)."""
    n, c, h, w = images.shape
    ph, pw = h // JIGSAW_GRID, w // JIGSAW_GRID
    core = images[:, :, : ph * JIGSAW_GRID, : pw * JIGSAW_GRID]
    # (n, c, gy, ph, gx, pw) -> (n, gy*gx, c, ph, pw)
    patches = core.reshape(n, c, JIGSAW_GRID, ph, JIGSAW_GRID, pw).permute(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(n, JIGSAW_GRID**2, c, ph, pw)
    choice = torch.randint(len(JIGSAW_PERMUTATIONS), (n,), generator=generator)
    order = JIGSAW_PERMUTATIONS[choice].to(images.device)
    shuffled = patches[torch.arange(n, device=images.device)[:, None], order]
    shuffled = shuffled.reshape(n, JIGSAW_GRID, JIGSAW_GRID, c, ph, pw).permute(0, 3, 1, 4, 2, 5)
    out = images.clone()
    out[:, :, : ph * JIGSAW_GRID, : pw * JIGSAW_GRID] = shuffled.reshape(n, c, ph * JIGSAW_GRID, pw * JIGSAW_GRID)
    return out


def permute_features(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Every column shuffled independently across the rows: marginals kept, dependence broken."""
    order = torch.argsort(torch.rand(X.shape, generator=generator), dim=0).to(X.device)
    return torch.gather(X, 0, order)


class Discriminator(nn.Module):
    """A feature tower followed by one linear unit (the hinge-GAN critic)."""

    def __init__(self, tower: nn.Module, n_features: int):
        super().__init__()
        self.tower = tower
        self.head = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.tower(x).flatten(1)).squeeze(1)


@register("nda")
class NDA(TorchDetector):
    """NDA GAN detector; score -D(x).

    Defaults: NDA's settings (hinge loss, alpha 0.25, beta 0.75, 4 D steps per G step, Adam lr
    2e-4), batch 64, 100 epochs (one epoch = one pass over the unlabelled samples, one D step per
    batch). The number of epochs is not given for this use by the AA-BiGAN paper; 100 is the
    suite's choice. Beware small training sets: one epoch is ``n_normals // batch_size`` D steps,
    and at lr 2e-4 Adam moves each weight by at most 2e-4 per step, so a few hundred normals give
    too few steps for D to leave its random initialisation (``fit_info_["d_steps"]`` says how
    many were run; ``history_`` shows whether ``d_loss`` left its starting value 1 + alpha + beta).

    Memory: the unlabelled samples and the collected anomalies are held on the device as float32
    tensors (resized to 32x32 for images) while fitting.
    """

    default_score: ClassVar[str] = "neg_d"
    # Short settings that still train D: 40 D steps at lr 2e-3 take its hinge loss from its
    # starting value 1 + alpha + beta = 2 down to 0.77-1.57 over the toy-task seeds 0-5. With
    # 12 D steps at lr 2e-4 (each weight moved by at most 0.0024) D stays at its random
    # initialisation, and the ranking, hence the AUROC, is the sign of a random slope.
    test_params: ClassVar[dict] = {"epochs": 10, "batch_size": 64, "lr": 2e-3, "n_dis": 2}
    # 2: G and D's tower on CIFAR-10 are AA-BiGAN's CIFAR-10 networks as the authors built them
    # (detectors/networks/bigan.py); the other families compute as in version 1.
    computation_version: ClassVar[int] = 2
    computation_changes: ClassVar[dict[int, tuple[str, ...]]] = {2: ("cifar10",)}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "alpha": [Interval(numbers.Real, 0.0, None)],
        "beta": [Interval(numbers.Real, 0.0, None)],
        "n_dis": [Interval(numbers.Integral, 1, None)],
        "rescale": [RESCALE_OPTIONS],
    }

    def __init__(self, *, epochs: int = 100, batch_size: int = 64, lr: float = 2e-4, weight_decay: float = 0.0,
                 alpha: float = 0.25, beta: float = 0.75, n_dis: int = 4, device: str = "auto",
                 random_state: int | None = None, eval_every: int | None = 1, verbose: bool = False,
                 arch: str = "auto", rescale: str = "auto", max_rows: int | None = None,
                 contamination: float = 0.1):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.beta = beta
        self.n_dis = n_dis
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.arch = arch
        self.rescale = rescale
        self.max_rows = max_rows
        self.contamination = contamination

    # -- hooks ---------------------------------------------------------------------------
    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        shape = tuple(X.shape[1:])
        self.arch_ = resolve_arch(self.arch, shape)
        self.is_image_ = len(shape) == 3
        self.latent_dim_ = bigan.latent_dim_for(self.arch_, shape)
        if self.is_image_:  # the AA-BiGAN image nets are 32x32
            self.model_shape_ = (shape[0], bigan.IMAGE_SIZE, bigan.IMAGE_SIZE)
            tower = bigan.build_image_tower(self.arch_, shape[0])
        else:
            self.model_shape_ = shape
            tower = bigan.build_mlp_tower(self.arch_, shape[0])
        self.G_ = bigan.build_generator(self.arch_, self.model_shape_, self.latent_dim_).to(self.device_)
        self.D_ = Discriminator(tower, tower.out_features).to(self.device_)
        self.opt_g_ = torch.optim.Adam(self.G_.parameters(), lr=self.lr, betas=ADAM_BETAS, weight_decay=self.weight_decay)
        self.opt_d_ = torch.optim.Adam(self.D_.parameters(), lr=self.lr, betas=ADAM_BETAS, weight_decay=self.weight_decay)
        self._d_steps = 0
        self.input_map_ = fit_unit_range(X, self.rescale, type(self).__name__)
        self.fit_info_["input_scaling"] = "none" if self.input_map_.is_identity else "min-max fitted on the training data"
        self._normals = self._to_model_space(X[y == 0])
        self._negatives = self._to_model_space(X[y == 1]) if bool((y == 1).any()) else None
        self.fit_info_.update(
            negatives="collected anomalies" if self._negatives is not None
            else ("jigsaw 2x2" if self.is_image_ else "feature-wise permutation"),
            latent_dim=self.latent_dim_, model_shape=self.model_shape_,
        )

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        normals = self._normals
        bs = int(self.batch_size)
        d_losses, g_losses = [], []
        # drop_last: a one-sample batch would break D's batch normalisation
        for idx in minibatch_indices(len(normals), bs, self._generator, self.device_, drop_last=True):
            real = normals[idx]
            d_loss = sum(self._d_loss_terms(real, self._draw_negatives(real)).values())
            self.opt_d_.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d_.step()
            d_losses.append(float(d_loss.detach()))
            self._d_steps += 1
            if self._d_steps % int(self.n_dis) == 0:
                g_loss = sum(self._g_loss_terms(bs).values())
                self.opt_g_.zero_grad(set_to_none=True)
                g_loss.backward()
                self.opt_g_.step()
                g_losses.append(float(g_loss.detach()))
        self.fit_info_["d_steps"] = self._d_steps
        out = {"d_loss": float(np.mean(d_losses))}
        if g_losses:
            out["g_loss"] = float(np.mean(g_losses))
        return out

    def _d_loss_terms(self, real: torch.Tensor, neg: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named terms of one D step's loss (the step minimises their sum); G is not moved.

        One D pass over the three kinds: D's batch norm then sees the same mixture in training
        as its running statistics hold at scoring time (separate passes would normalise real
        batches by real-only statistics and score with mixed ones).
        """
        fake = self._generate(len(real)).detach()
        d_all = self.D_(torch.cat([real, fake, neg]))
        d_real, d_fake, d_neg = torch.split(d_all, [len(real), len(fake), len(neg)])
        return hinge_d_terms(d_real, d_fake, d_neg, self.alpha, self.beta)

    def _g_loss_terms(self, n: int) -> dict[str, torch.Tensor]:
        """The named terms of one G step's loss; D's weights are frozen while it is built, so the
        G loss leaves no gradient on them (only G's optimizer steps, but a stray gradient on D
        would be one ``zero_grad`` away from leaking into D's update)."""
        with frozen(self.D_):
            return {"generator": hinge_g_loss(self.D_(self._generate(n)))}

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        return {"neg_d": batched_inference(lambda xb: -self.D_(self._to_model_space(xb)), X)}

    def _modules(self) -> dict[str, nn.Module]:
        return {"G": self.G_, "D": self.D_}

    # -- helpers -------------------------------------------------------------------------
    def _to_model_space(self, X: torch.Tensor) -> torch.Tensor:
        """Inputs through the training data's [0, 1] map, then to [-1, 1] at the generator's output size.

        Not clipped: test data outside the training range reaches D as it is (D accepts any input).
        """
        X = self.input_map_(X)
        if self.is_image_ and tuple(X.shape[1:]) != self.model_shape_:
            X = F.interpolate(X, size=self.model_shape_[1:], mode="bilinear", align_corners=False)
        return 2.0 * X - 1.0

    def _generate(self, n: int) -> torch.Tensor:
        """n samples of G in [-1, 1] (the shared generator ends in a sigmoid)."""
        z = torch.randn(n, self.latent_dim_, generator=self._generator).to(self.device_)
        return 2.0 * self.G_(z) - 1.0

    def _draw_negatives(self, real: torch.Tensor) -> torch.Tensor:
        if self._negatives is not None:
            idx = torch.randint(len(self._negatives), (len(real),), generator=self._generator).to(self.device_)
            return self._negatives[idx]
        if self.is_image_:
            return jigsaw(real, self._generator)
        return permute_features(real, self._generator)

    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        try:
            super()._fit(X, y, eval_set)
        finally:  # the training data in model space is not part of the fitted model
            self._normals = self._negatives = None
