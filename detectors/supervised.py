"""The supervised classifier baseline of the Deep SAD paper, docs/methods.md §5.

Deep SAD's encoder architecture (the same LeNet / MLP, bias-free, no pretraining) followed by a
linear head with a bias (a logit needs one; the hypersphere-collapse argument that forbids biases
in Deep SAD does not apply to a classifier). Trained with plain binary cross-entropy on the
unlabelled data as class 0 (assumed normal) against the collected anomalies as class 1; the score
is P(anomaly | x). Undefined without collected anomalies (γl = 0), hence ``requires_labels``.

Class imbalance: at γl = 0.01 the anomalies are ~1% of a batch and the classifier mostly learns
the normal class. Like the Deep SAD authors' baseline, the loss is deliberately left unweighted
(no class weights, no oversampling), so the numbers are comparable with the paper's.
Training settings are Deep SAD's (Adam, lr 1e-4, milestone 50, 150 epochs, batch 128, weight
decay 0.5e-6). Default selection is the last epoch (``eval_every=None``).
Memory: the whole training set is held on the device as one float32 tensor while fitting.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from .deep_sad import SCORE_BATCH, Milestones, milestone_lr, set_lr
from .networks.arch import resolve_arch
from .networks.factory import build_encoder
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, training_batches, use_channels_last


class EncoderClassifier(nn.Module):
    """Encoder → Linear(rep_dim → 1): returns the anomaly logit."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.rep_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x)).squeeze(1)


@register("supervised")
class SupervisedClassifier(TorchDetector):
    """Binary classifier: unlabelled (0) vs collected anomalies (1); score P(anomaly | x).

    Parameters: epochs=150, batch_size=128, lr=1e-4, weight_decay=0.5e-6, lr_milestones=(50,),
    arch="auto", device="auto", random_state=None, eval_every=None, verbose=False, contamination=0.1.
    """

    requires_labels: ClassVar[bool] = True
    # lr 1e-2 so that 5 short epochs train: at the method's 1e-4 they moved each weight by at most
    # 0.0025 and the toy-task AUROC followed the random initialisation (1.0, 0.85, 0.0, 0.47,
    # 1.0, 0.85 over seeds 0-5); at 1e-2 it is 1.0 on every seed.
    test_params: ClassVar[dict] = {"epochs": 5, "batch_size": 64, "lr": 1e-2}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lr_milestones": [Milestones()],
    }

    def __init__(
        self,
        *,
        epochs: int = 150,
        batch_size: int = 128,
        lr: float = 1e-4,
        weight_decay: float = 0.5e-6,
        lr_milestones: tuple[int, ...] = (50,),
        arch: str = "auto",
        device: str = "auto",
        random_state: int | None = None,
        eval_every: int | None = None,
        verbose: bool = False,
        max_rows: int | None = None,
        contamination: float = 0.1,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_milestones = lr_milestones
        self.arch = arch
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.max_rows = max_rows
        self.contamination = contamination

    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.arch_ = resolve_arch(self.arch, tuple(X.shape[1:]))
        self.net_ = EncoderClassifier(build_encoder(self.arch_, tuple(X.shape[1:]))).to(self.device_)
        if X.dim() == 4:  # images: channels-last kernels (speed only, see use_channels_last)
            use_channels_last(self.net_)
        self.optimizer_ = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self._loss = nn.BCEWithLogitsLoss()
        self.fit_info_["n_labelled_anomalies"] = int(y.sum())

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        set_lr(self.optimizer_, milestone_lr(float(self.lr), self.lr_milestones, epoch))
        targets = y.float()
        total, count = torch.zeros((), device=self.device_), 0
        for idx in training_batches(len(X), int(self.batch_size), self._generator, self.device_):
            loss = sum(self._loss_terms(X[idx], targets[idx]).values())
            self.optimizer_.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_.step()
            total += loss.detach() * len(idx)
            count += len(idx)
        return {"bce": float(total) / max(count, 1)}

    def _loss_terms(self, x: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named terms of one training step's loss (the step minimises their sum)."""
        return {"bce": self._loss(self.net_(x), targets)}

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        # The sigmoid is taken in float64 on the logits so that confident scores do not tie at 1.0.
        return {"score": expit(batched_inference(self.net_, X, SCORE_BATCH))}

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}
