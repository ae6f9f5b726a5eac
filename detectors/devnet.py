"""DevNet (Pang, Shen & van den Hengel, KDD 2019): deviation networks, written from the paper.

A network φ maps x straight to a scalar anomaly score. A prior says what normal scores look like:
``l`` draws r_1..r_l from N(0, 1) give a reference mean μ_R and std σ_R, and the deviation of a
sample is dev(x) = (φ(x) − μ_R) / σ_R. The loss pulls the deviation of unlabelled samples (assumed
normal) to 0 and pushes that of collected anomalies beyond a margin ``a`` (a Z-score of 5, far in
the prior's tail):

    L = (1 − y) |dev(x)| + y max(0, a − dev(x)).

Training as in the paper: mini-batches of 512 that are half unlabelled, half collected anomalies
(drawn with replacement), 20 batches per "epoch", 50 epochs, RMSprop (lr 1e-3, gradient norm
clipped at 1), L2 penalty 0.01 on the hidden layer's weights; φ has one hidden layer of 20 ReLU
units (the paper's default; ``hidden=(1000, 250, 20)`` is its deeper variant). The reference draws
are fresh for every batch, as the paper's algorithm describes. The score is φ(x). Images are
flattened: the paper defines only this MLP. Undefined without collected anomalies.

Why not PyOD's ``DevNet`` (3.6.7): its training loop calls ``deviation_loss(outputs, labels)``
against the signature ``(y_true, y_pred)``, so the labels play the prediction and the loss is
linear in the outputs with the same slope for every sample (labels have no effect); the (B, 1)
outputs also broadcast against (B,) labels into a B × B matrix. Its batches are plain shuffles
(no balancing), ``random_seed`` is unused and importing the module reseeds numpy's and torch's
global generators. Measured once on the easy task of tests/test_weak_detectors.py (seeds 0-2, its
default 50 epochs): AUROC 0.00 with the true labels and 0.00 with the labels moved to other rows,
as every output is pushed down and the larger inputs furthest; the test there pins the cause (the
gradient on every output is the same whatever its label).
"""
from __future__ import annotations

import numbers
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from .params import Interval
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, mean_over_steps, step_on_terms
from .weak_sampling import balanced_batch, label_pools

REFERENCE_DRAWS = 5000  # l in the paper's Algorithm 1
SCORE_BATCH = 4096


class HiddenSizes:
    """Parameter rule: a non-empty tuple/list of positive layer widths."""

    def accepts(self, value) -> bool:
        return isinstance(value, (tuple, list)) and len(value) > 0 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value)

    def __str__(self) -> str:
        return "a non-empty tuple of positive layer widths"


class ScoreMLP(nn.Module):
    """x (flattened) → [Linear → ReLU] per hidden width → Linear(1): a scalar score per sample."""

    def __init__(self, n_features: int, hidden: Sequence[int]):
        super().__init__()
        sizes = [n_features, *hidden]
        self.hidden = nn.Sequential(*[m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.score = nn.Linear(sizes[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.hidden(x.flatten(1))).squeeze(1)


def deviation_terms(scores: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor,
                    margin: float) -> dict[str, torch.Tensor]:
    """The two halves of the deviation loss, each averaged over the whole batch (they sum to L)."""
    dev = (scores - reference.mean()) / reference.std()
    return {"inlier": ((1 - labels) * dev.abs()).mean(),
            "outlier": (labels * torch.clamp(margin - dev, min=0)).mean()}


@register("devnet")
class DevNet(TorchDetector):
    """Deviation network: an MLP score trained with the Z-score deviation loss (Pang et al. 2019)."""

    requires_labels: ClassVar[bool] = True
    test_params: ClassVar[dict] = {"epochs": 10, "batch_size": 128}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "hidden": [HiddenSizes()],
        "batches_per_epoch": [Interval(numbers.Integral, 1, None)],
        "margin": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "clip_norm": [Interval(numbers.Real, 0.0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 50, batches_per_epoch: int = 20, batch_size: int = 512, lr: float = 1e-3,
                 weight_decay: float = 0.01, hidden: tuple[int, ...] = (20,), margin: float = 5.0,
                 clip_norm: float = 1.0, device: str = "auto", random_state: int | None = None,
                 eval_every: int | None = None, verbose: bool = False, contamination: float = 0.1):
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.hidden = hidden
        self.margin = margin
        self.clip_norm = clip_norm
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.contamination = contamination

    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.net_ = ScoreMLP(int(np.prod(X.shape[1:])), tuple(self.hidden)).to(self.device_)
        self.optimizer_ = torch.optim.RMSprop(self.net_.parameters(), lr=self.lr)
        self._pools = label_pools(y)
        self.fit_info_["n_labelled_anomalies"] = int(y.sum())

    def loss_terms(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every term of the training loss on one batch, exactly as the training step sums them."""
        reference = torch.randn(REFERENCE_DRAWS, generator=self._generator).to(self.device_)
        terms = deviation_terms(self.net_(x), labels, reference, float(self.margin))
        # L2 on the hidden layers' weights only (not on biases, not on the score layer), as in the paper.
        terms["l2"] = float(self.weight_decay) * sum(
            (m.weight ** 2).sum() for m in self.net_.hidden if isinstance(m, nn.Linear))
        return terms

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        anomalies, unlabelled = self._pools

        def step() -> dict[str, float]:
            idx, labels = balanced_batch(anomalies, unlabelled, int(self.batch_size), self._generator)
            return step_on_terms(self.optimizer_, self.loss_terms(X[idx], labels), float(self.clip_norm))
        return mean_over_steps(int(self.batches_per_epoch), step)

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        return {"score": batched_inference(self.net_, X, SCORE_BATCH)}

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}
