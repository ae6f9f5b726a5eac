"""SS-DGM: Kingma et al. (2014) model M2 used as a semi-supervised anomaly detector.

A VAE whose latent code is split into a class ``y`` in {normal, anomaly} and a continuous ``z``:

- q(y|x): an MLP classifier (softmax over the two classes);
- q(z|x,y): a Gaussian encoder on ``[x, onehot(y)]``;
- p(x|y,z): a Bernoulli decoder on ``[z, onehot(y)]``; p(z) = N(0, I); p(y) uniform.

Training objective (minimised), as in the Deep SAD authors' baseline code:

    J = mean_labelled[-ELBO(x, y)] + mean_unlabelled[U(x)] - alpha * mean_labelled[log q(y|x)]
    U(x) = sum_y q(y|x) * (-ELBO(x, y)) - H(q(y|x))

with alpha = alpha_scale * (1 - r) / r, r = labelled fraction of the training set (docs/methods.md §5).
The score of a sample is q(anomaly | x).

How the suite's data maps onto M2 (the Deep SAD authors' use, where no normal is labelled):
every sample of X+ (``y == 0``) is *unlabelled*, so its class is summed out under q(y|x); only the
collected anomalies (``y == 1``) are *labelled*, with class "anomaly".

The prior p(y) is uniform by default (``anomaly_prior=0.5``), as in Kingma et al. and the Deep SAD
code. With only one class ever labelled, M2 has a degenerate optimum: q(y|x) says "anomaly" for
everything and the "normal" decoder is never used. It happens on small runs (1 of 6 seeds, 500
MNIST normals + 25 anomalies, 5 epochs: constant scores). ``anomaly_prior="empirical"`` sets
p(anomaly) = r, the anomaly share of the training set, which pulls the unlabelled samples to
"normal" early and removed that collapse; but at full scale (MNIST, gamma_l = 0.01, 150 epochs,
6 normal/known pairs) the uniform prior scored higher on average (AUROC 0.863 vs 0.811), so the
paper's choice stays the default and the other is an option. Without any
collected anomaly the method is undefined (no labelled term, classifier never told which class is
"anomaly"): ``requires_labels = True`` and the base raises :class:`NotApplicableError`.

Deviations, documented: the KL term is computed in closed form instead of the single-sample
Monte-Carlo estimate of the reference code (same expectation, lower variance); the decoder emits
logits and the likelihood uses ``binary_cross_entropy_with_logits`` (numerically safer than
sigmoid + log).

Inputs: the Bernoulli likelihood needs training data in [0, 1]. Data already there (images, the
runner's min-max-scaled tables) is used as is; other training data gets a per-feature min-max
map fitted in ``fit`` and kept for scoring (``rescale="auto"``), or is refused
(``rescale="off"``); see :mod:`detectors.unit_range`. Nothing is clipped: test data outside the
training range is scored by the classifier q(y|x) as it is.

Memory: the whole training set is held on the device as one float32 tensor while fitting.
"""
from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .networks.arch import mlp_sizes, resolve_arch
from .params import Interval, Options
from .registry import register
from .torch_base import TorchDetector
from .unit_range import RESCALE_OPTIONS, fit_unit_range
from .torch_utils import batched_inference, minibatch_indices

# Kingma et al.'s dims [x, y, z, hidden] as used by the Deep SAD authors (docs/methods.md §5).
IMAGE_DIMS: dict[str, tuple[int, tuple[int, ...]]] = {  # arch -> (z, hidden)
    "mnist": (32, (128, 64)),
    "fmnist": (64, (256, 128)),
    "cifar10": (128, (512, 256)),
}
N_CLASSES = 2  # 0 = normal, 1 = anomaly
ANOMALY = 1
LOGVAR_CLAMP = (-12.0, 8.0)  # keeps exp(logvar) finite early in training


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear + ReLU for every layer of ``sizes`` (no activation after the last one)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class M2(nn.Module):
    """Classifier q(y|x), encoder q(z|x,y) and Bernoulli decoder p(x|y,z) of model M2."""

    def __init__(self, x_dim: int, z_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.classifier = _mlp([x_dim, hidden[0], N_CLASSES])  # one hidden layer, as in the reference
        self.encoder = nn.Sequential(_mlp([x_dim + N_CLASSES, *hidden]), nn.ReLU())
        self.mu = nn.Linear(hidden[-1], z_dim)
        self.logvar = nn.Linear(hidden[-1], z_dim)
        self.decoder = _mlp([z_dim + N_CLASSES, *reversed(hidden), x_dim])  # emits logits

    def class_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.classifier(x), dim=1)

    def neg_elbo(self, x: torch.Tensor, y_onehot: torch.Tensor, log_prior: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
        """-ELBO(x, y) per sample: Bernoulli NLL + KL(q(z|x,y) || N(0,I)) - log p(y).

        The reparameterisation noise is drawn on the CPU from the detector's own generator, so
        runs are reproducible without touching torch's global random state.
        """
        h = self.encoder(torch.cat([x, y_onehot], dim=1))
        mu, logvar = self.mu(h), self.logvar(h).clamp(*LOGVAR_CLAMP)
        noise = torch.randn(mu.shape, generator=generator).to(mu.device)
        z = mu + torch.exp(0.5 * logvar) * noise
        logits = self.decoder(torch.cat([z, y_onehot], dim=1))
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
        return nll + kl - y_onehot @ log_prior


def m2_loss_terms(model: M2, x_lab: torch.Tensor, x_unl: torch.Tensor, alpha: float, log_prior: torch.Tensor,
                  generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The terms of the M2 objective J_alpha on one batch, weighted as in J (their sum is J).

    Each term is averaged over its own samples; ``log_prior`` holds log p(y) for (normal, anomaly).
    The training step sums exactly these, so tests can check which networks each one moves.
    """
    zero = x_unl.new_zeros(())
    labelled, classification = zero, zero
    if len(x_lab):
        y_lab = F.one_hot(torch.full((len(x_lab),), ANOMALY, device=x_lab.device), N_CLASSES).float()
        labelled = model.neg_elbo(x_lab, y_lab, log_prior, generator).mean()
        classification = -model.class_log_probs(x_lab)[:, ANOMALY].mean()
    unlabelled = zero
    if len(x_unl):
        log_q = model.class_log_probs(x_unl)
        q = log_q.exp()
        per_class = []
        for c in range(N_CLASSES):
            y_c = F.one_hot(torch.full((len(x_unl),), c, device=x_unl.device), N_CLASSES).float()
            per_class.append(model.neg_elbo(x_unl, y_c, log_prior, generator))
        expected = (q * torch.stack(per_class, dim=1)).sum(dim=1)
        entropy = -(q * log_q).sum(dim=1)
        unlabelled = (expected - entropy).mean()
    return {"labelled": labelled, "unlabelled": unlabelled, "alpha_classification": alpha * classification}


@register("ss-dgm")
class SSDGM(TorchDetector):
    """Semi-supervised deep generative model M2 (Kingma et al. 2014); score q(anomaly | x).

    Defaults follow the Deep SAD authors' SS-DGM trainer: Adam, lr 1e-3, 150 epochs, batch 128,
    weight decay 1e-6, no lr schedule; the last epoch is kept (``eval_every=None``), as the Deep SAD
    authors reported it; set ``eval_every`` to select epochs on an eval_set.
    ``alpha_scale`` is the 0.1 of alpha = 0.1 (1 - r) / r.
    Tabular nets: hidden sizes and z size from :func:`detectors.networks.arch.mlp_sizes` (the
    Deep SAD MLP of the ODDS set: e.g. cardio [21, 2, 8, [32, 16]]).
    """

    requires_labels: ClassVar[bool] = True
    default_score: ClassVar[str] = "q_anomaly"
    test_params: ClassVar[dict] = {"epochs": 5, "batch_size": 64, "lr": 2e-3}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "alpha_scale": [Interval(numbers.Real, 0.0, None)],
        "anomaly_prior": [Interval(numbers.Real, 0.0, 1.0, closed="neither"), Options({"empirical"})],
        "rescale": [RESCALE_OPTIONS],
    }

    def __init__(self, *, epochs: int = 150, batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 1e-6,
                 alpha_scale: float = 0.1, anomaly_prior: float | str = 0.5, device: str = "auto", random_state: int | None = None,
                 eval_every: int | None = None, verbose: bool = False, arch: str = "auto", rescale: str = "auto",
                 max_rows: int | None = None, contamination: float = 0.1):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.alpha_scale = alpha_scale
        self.anomaly_prior = anomaly_prior
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
        arch = resolve_arch(self.arch, tuple(X.shape[1:]))
        x_dim = int(np.prod(X.shape[1:]))
        if arch in IMAGE_DIMS:
            z_dim, hidden = IMAGE_DIMS[arch]
        else:
            hidden, z_dim = mlp_sizes(arch, x_dim)
        self.arch_ = arch
        self.input_map_ = fit_unit_range(X.reshape(len(X), -1), self.rescale, type(self).__name__)
        self.fit_info_["input_scaling"] = "none" if self.input_map_.is_identity else "min-max fitted on the training data"
        self.dims_ = (x_dim, N_CLASSES, z_dim, tuple(hidden))
        self.model_ = M2(x_dim, z_dim, tuple(hidden)).to(self.device_)
        self.optimizer_ = torch.optim.Adam(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        r = int(y.sum()) / len(y)
        self.alpha_ = float(self.alpha_scale) * (1.0 - r) / r
        p_anomaly = r if self.anomaly_prior == "empirical" else float(self.anomaly_prior)
        self.class_prior_ = (1.0 - p_anomaly, p_anomaly)
        self._log_prior = torch.log(torch.tensor(self.class_prior_, device=self.device_))
        self.fit_info_.update(dims=self.dims_, alpha=self.alpha_, labelled_fraction=r, class_prior=self.class_prior_)

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        flat = self._prepare(X)
        labelled_mask = y == 1
        sums: dict[str, float] = {}
        n_batches = 0
        for idx in minibatch_indices(len(flat), int(self.batch_size), self._generator, self.device_):
            xb, lb = flat[idx], labelled_mask[idx]
            losses = self._loss_terms(xb[lb], xb[~lb])
            losses["loss"] = sum(losses.values())
            self.optimizer_.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.optimizer_.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            n_batches += 1
        return {k: v / max(n_batches, 1) for k, v in sums.items()}

    def _loss_terms(self, x_lab: torch.Tensor, x_unl: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named terms of one training step's loss (the step minimises their sum)."""
        return m2_loss_terms(self.model_, x_lab, x_unl, self.alpha_, self._log_prior, self._generator)

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        flat = self._prepare(X)
        q = batched_inference(lambda xb: self.model_.class_log_probs(xb)[:, ANOMALY].exp(), flat)
        return {"q_anomaly": q}

    def _modules(self) -> dict[str, nn.Module]:
        return {"model": self.model_}

    # -- helpers -------------------------------------------------------------------------
    def _prepare(self, X: torch.Tensor) -> torch.Tensor:
        """Flattened samples through the training data's [0, 1] map (no clipping)."""
        return self.input_map_(X.reshape(len(X), -1))
