"""FEAWAD (Zhou, Song, Zhang, Liu, Zhu & Liu, IEEE TNNLS 2021): feature encoding with autoencoders
for weakly-supervised anomaly detection, written from the paper.

An autoencoder encodes x; three things about x then describe it to a score network: the hidden
code h (where x projects onto the manifold of the training data), the residual direction
r / ||r|| with r = x − x̂ (which way x leaves that manifold) and the residual length e = ||r||
(how far). The score network sees [r/e, h, e], and e is concatenated again to the input of each
of its later layers so the distance cannot be washed out.

Training, two stages:
1. the autoencoder alone, on unlabelled samples, mean squared reconstruction error;
2. everything end to end (autoencoder initialised from stage 1) with a DevNet-like loss on the
   score s(x) *and* on the residual length, margin a = 5:

       L = (1 − y) (|s(x)| + e(x)) + y (max(0, a − s(x)) + max(0, a − e(x))),

   so unlabelled samples get small scores and small residuals, collected anomalies large ones.

Sizes and settings as in the paper's public implementation: encoder x → d → 128 → 64 (ReLU),
decoder 64 → 128 → d (ReLU, so x̂ ≥ 0; the tabular protocol min-max scales features to [0, 1]),
score network [r/e, h, e] → 256 → (+e) 32 → (+e) 1; Adam lr 1e-4 in both stages; batches of 512,
20 per "epoch"; 100 pretraining epochs and 30 end-to-end epochs; stage-2 batches are half
unlabelled, half collected anomalies (drawn with replacement). Deviation: e is computed as
sqrt(||r||² + ε) so that r/e and the gradient stay finite for a perfectly reconstructed sample.
Batches are drawn afresh each step: ADBench's copy of the authors' code re-creates its random generator
from the same seed inside the batch function, so every one of its batches is the same draw, which
is not what the paper describes. Images are flattened (the paper defines tabular networks only). Score: s(x). Undefined without
collected anomalies.
"""
from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .autoencoder import PRETRAIN_STAGE
from .params import Interval
from .progress import report_epoch
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, mean_over_steps, step_on_terms
from .weak_sampling import balanced_batch, draw, label_pools

NORM_EPS = 1e-12  # inside the square root of the residual length
SCORE_BATCH = 4096


class FeawadAutoencoder(nn.Module):
    """x → d → 128 → 64 (code h) → 128 → d (ReLU after every layer), on flattened inputs."""

    def __init__(self, n_features: int, hidden: int = 128, code: int = 64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_features, n_features), nn.ReLU(), nn.Linear(n_features, hidden),
                                     nn.ReLU(), nn.Linear(hidden, code), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, n_features), nn.ReLU())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        return h, self.decoder(h)


class ScoreNetwork(nn.Module):
    """[r/e, h, e] → 256 → concat e → 32 → concat e → 1."""

    def __init__(self, n_features: int, code: int = 64, first: int = 256, second: int = 32):
        super().__init__()
        self.first = nn.Sequential(nn.Linear(n_features + code + 1, first), nn.ReLU())
        self.second = nn.Sequential(nn.Linear(first + 1, second), nn.ReLU())
        self.out = nn.Linear(second + 1, 1)

    def forward(self, direction: torch.Tensor, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        e = e.unsqueeze(1)
        z = self.first(torch.cat([direction, h, e], dim=1))
        z = self.second(torch.cat([z, e], dim=1))
        return self.out(torch.cat([z, e], dim=1)).squeeze(1)


def encode(autoencoder: FeawadAutoencoder, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three factors of x: residual direction r/e, code h, residual length e."""
    h, x_hat = autoencoder(x)
    residual = x.flatten(1) - x_hat
    e = torch.sqrt((residual ** 2).sum(dim=1) + NORM_EPS)
    return residual / e.unsqueeze(1), h, e


@register("feawad")
class FEAWAD(TorchDetector):
    """Autoencoder feature encoding + deviation-style score network (Zhou et al. 2021)."""

    requires_labels: ClassVar[bool] = True
    test_params: ClassVar[dict] = {"epochs": 10, "ae_epochs": 10, "batch_size": 128, "lr": 1e-3, "ae_lr": 1e-3}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "batches_per_epoch": [Interval(numbers.Integral, 1, None)],
        "ae_epochs": [Interval(numbers.Integral, 0, None)],
        "ae_lr": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "margin": [Interval(numbers.Real, 0.0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 30, ae_epochs: int = 100, batches_per_epoch: int = 20, batch_size: int = 512,
                 lr: float = 1e-4, ae_lr: float = 1e-4, weight_decay: float = 0.0, margin: float = 5.0,
                 device: str = "auto", random_state: int | None = None, eval_every: int | None = None,
                 verbose: bool = False, contamination: float = 0.1):
        self.epochs = epochs
        self.ae_epochs = ae_epochs
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.ae_lr = ae_lr
        self.weight_decay = weight_decay
        self.margin = margin
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.contamination = contamination

    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        n_features = int(np.prod(X.shape[1:]))
        self.autoencoder_ = FeawadAutoencoder(n_features).to(self.device_)
        self.scorer_ = ScoreNetwork(n_features).to(self.device_)
        self._pools = label_pools(y)
        self.fit_info_["n_labelled_anomalies"] = int(y.sum())
        self.fit_info_["ae_final_loss"] = self._pretrain(X)
        params = [*self.autoencoder_.parameters(), *self.scorer_.parameters()]
        self.optimizer_ = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def pretraining_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Stage 1: mean squared reconstruction error (over samples and features)."""
        _, x_hat = self.autoencoder_(x)
        return ((x_hat - x.flatten(1)) ** 2).mean()

    def _pretrain(self, X: torch.Tensor) -> float | None:
        if int(self.ae_epochs) == 0:
            return None
        _, unlabelled = self._pools
        optimizer = torch.optim.Adam(self.autoencoder_.parameters(), lr=self.ae_lr)
        self.autoencoder_.train()
        loss = torch.zeros(())
        steps = int(self.batches_per_epoch)
        for step in range(int(self.ae_epochs) * steps):
            loss = self.pretraining_loss(X[draw(unlabelled, int(self.batch_size), self._generator)])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if (step + 1) % steps == 0:
                report_epoch(PRETRAIN_STAGE, (step + 1) // steps, int(self.ae_epochs))
        final = float(loss.detach())
        if not np.isfinite(final):
            from .errors import DivergenceError

            raise DivergenceError(f"autoencoder pretraining loss became {final}")
        return final

    def loss_terms(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Stage 2, every term as the training step sums them, each averaged over the whole batch."""
        direction, h, e = encode(self.autoencoder_, x)
        s = self.scorer_(direction, h, e)
        a = float(self.margin)
        return {
            "score_unlabelled": ((1 - labels) * s.abs()).mean(),
            "residual_unlabelled": ((1 - labels) * e).mean(),
            "score_anomaly": (labels * torch.clamp(a - s, min=0)).mean(),
            "residual_anomaly": (labels * torch.clamp(a - e, min=0)).mean(),
        }

    def epoch_plan(self, arch: str) -> dict[str, int]:
        return {PRETRAIN_STAGE: int(self.ae_epochs), self.TRAIN_STAGE: int(self.epochs)}

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        anomalies, unlabelled = self._pools

        def step() -> dict[str, float]:
            idx, labels = balanced_batch(anomalies, unlabelled, int(self.batch_size), self._generator)
            return step_on_terms(self.optimizer_, self.loss_terms(X[idx], labels))
        return mean_over_steps(int(self.batches_per_epoch), step)

    def _score_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return self.scorer_(*encode(self.autoencoder_, x))

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        return {"score": batched_inference(self._score_tensor, X, SCORE_BATCH)}

    def _modules(self) -> dict[str, nn.Module]:
        return {"autoencoder": self.autoencoder_, "scorer": self.scorer_}
