"""PReNet (Pang, Shen, Jin & van den Hengel, KDD 2023): pairwise relation prediction, from the paper.

Instead of scoring single samples, the network learns what kind of *pair* two training samples
form. A shared feature learner ψ (one hidden layer of 20 ReLU units for tables) maps each sample of
a pair; a linear relation head η scores the concatenation, φ(x_i, x_j) = η([ψ(x_i), ψ(x_j)]), and is
regressed (absolute error) onto a target per pair kind: anomaly–anomaly 8, anomaly–unlabelled 4,
unlabelled–unlabelled 0. Pairs multiply the few collected anomalies into many training examples,
and a sample unlike the unlabelled data already breaks the "normal–normal" relation, which is how
the method hopes to find anomaly types it never saw.

Batches as in the paper (stratified, drawn with replacement): a quarter anomaly–anomaly pairs, a
quarter anomaly–unlabelled, half unlabelled–unlabelled; 512 pairs, 20 batches per "epoch", 50
epochs, RMSprop lr 1e-3 with weight decay 0.01. Anomaly score of x: the mean over E = 30 draws of
φ(a_k, x) + φ(x, u_k), with a_k a collected anomaly and u_k an unlabelled training sample.

Deviation, said plainly: the E reference pairs are drawn once per fit (seeded) and shared by every
scored sample, where the paper draws them per sample; that makes scores deterministic. Because η
is linear, the ensemble score equals (w_left + w_right)·ψ(x) plus a constant that depends only on
the references, so sharing them leaves the ranking exactly as the ensemble's expectation would.
Images are flattened (the paper defines tabular networks only). Undefined without collected
anomalies.
"""
from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .devnet import HiddenSizes
from .params import Interval
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, mean_over_steps, step_on_terms
from .weak_sampling import draw, label_pools

PAIR_TARGETS = {"anomaly-anomaly": 8.0, "anomaly-unlabelled": 4.0, "unlabelled-unlabelled": 0.0}
SCORE_BATCH = 4096


class RelationNet(nn.Module):
    """ψ: x → [Linear → ReLU]*; η: Linear(2·width → 1) on [ψ(left), ψ(right)]."""

    def __init__(self, n_features: int, hidden: tuple[int, ...]):
        super().__init__()
        sizes = [n_features, *hidden]
        self.feature = nn.Sequential(*[m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.relation = nn.Linear(2 * sizes[-1], 1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        features = torch.cat([self.feature(left.flatten(1)), self.feature(right.flatten(1))], dim=1)
        return self.relation(features).squeeze(1)


@register("prenet")
class PReNet(TorchDetector):
    """Pairwise relation prediction network (Pang et al. 2023): score from learned pair relations."""

    requires_labels: ClassVar[bool] = True
    test_params: ClassVar[dict] = {"epochs": 10, "batch_size": 128}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "hidden": [HiddenSizes()],
        "batches_per_epoch": [Interval(numbers.Integral, 1, None)],
        "n_references": [Interval(numbers.Integral, 1, None)],
        "batch_size": [Interval(numbers.Integral, 4, None)],
    }

    def __init__(self, *, epochs: int = 50, batches_per_epoch: int = 20, batch_size: int = 512, lr: float = 1e-3,
                 weight_decay: float = 0.01, hidden: tuple[int, ...] = (20,), n_references: int = 30,
                 device: str = "auto", random_state: int | None = None, eval_every: int | None = None,
                 verbose: bool = False, contamination: float = 0.1):
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.hidden = hidden
        self.n_references = n_references
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.contamination = contamination

    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.net_ = RelationNet(int(np.prod(X.shape[1:])), tuple(self.hidden)).to(self.device_)
        self.optimizer_ = torch.optim.RMSprop(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self._pools = label_pools(y)
        anomalies, unlabelled = self._pools
        k = int(self.n_references)
        # The scoring references, drawn once with the fit's generator (see the module docstring).
        self.references_ = (X[draw(anomalies, k, self._generator)], X[draw(unlabelled, k, self._generator)])
        self.fit_info_["n_labelled_anomalies"] = int(y.sum())

    def pair_batch(self, X: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """One stratified batch: (left, right) rows per pair kind, a quarter, a quarter and a half."""
        anomalies, unlabelled = self._pools
        quarter = int(self.batch_size) // 4
        half = int(self.batch_size) - 2 * quarter
        g = self._generator
        return {
            "anomaly-anomaly": (X[draw(anomalies, quarter, g)], X[draw(anomalies, quarter, g)]),
            "anomaly-unlabelled": (X[draw(anomalies, quarter, g)], X[draw(unlabelled, quarter, g)]),
            "unlabelled-unlabelled": (X[draw(unlabelled, half, g)], X[draw(unlabelled, half, g)]),
        }

    def loss_terms(self, pairs: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Absolute error per pair kind, each weighted by its share of the batch (they sum to the batch mean)."""
        total = sum(len(left) for left, _ in pairs.values())
        return {kind: (self.net_(left, right) - PAIR_TARGETS[kind]).abs().sum() / total
                for kind, (left, right) in pairs.items()}

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        return mean_over_steps(int(self.batches_per_epoch),
                               lambda: step_on_terms(self.optimizer_, self.loss_terms(self.pair_batch(X))))

    def _ensemble_score(self, x: torch.Tensor) -> torch.Tensor:
        anomalies, unlabelled = self.references_
        k, n = len(anomalies), len(x)
        rows = x.repeat_interleave(k, dim=0)
        with_anomaly = self.net_(anomalies.repeat(n, *([1] * (anomalies.dim() - 1))), rows)
        with_unlabelled = self.net_(rows, unlabelled.repeat(n, *([1] * (unlabelled.dim() - 1))))
        return (with_anomaly + with_unlabelled).reshape(n, k).mean(dim=1)

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        return {"score": batched_inference(self._ensemble_score, X, max(1, SCORE_BATCH // int(self.n_references)))}

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}
