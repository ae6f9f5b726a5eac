"""Deep SAD (Ruff et al., ICLR 2020): deep semi-supervised anomaly detection, docs/methods.md §5.

A bias-free network φ maps data close to a fixed centre c; unlabelled samples are pulled
towards c (loss ||φ(x) - c||²) and collected anomalies pushed away (loss η / (||φ(x) - c||² + ε)).
The anomaly score is ||φ(x) - c||². Without collected anomalies (γl = 0) this is Deep SVDD.

Procedure, as in the authors' public code:
1. pretrain an autoencoder on all training data (MSE, Adam) and copy its encoder to φ;
2. c = mean of φ over all training data (network in eval mode), entries with |c_i| < center_eps
   moved to ±center_eps so that no unit can trivially reach the centre by dying;
3. train φ with Adam (L2 weight decay), learning rate ×0.1 at each milestone epoch.
Deviations: an entry of c that is exactly 0 becomes +center_eps (the public code leaves it at 0).
The pretrained encoder *is* copied into φ, as the paper describes; the public code never does it
(its state-dict keys do not match, their open issue #9), so its published numbers come from a
randomly initialised φ. The autoencoder's loss is the per-pixel mean of the public code
(``ae_loss="mean"``; see :mod:`detectors.autoencoder` for the measurement behind that choice).
Memory: the whole training set is held on the device as one float32 tensor while fitting.
Default selection is the last epoch, as the Deep SAD authors reported (``eval_every=None``).
Speed: image nets run channels-last, with the equivalent forms of :mod:`detectors.networks.lenet`.
Same seed → identical scores on CPU; on CUDA the transposed convolutions of the pretraining use
non-deterministic kernels, so reruns differ slightly.
"""
from __future__ import annotations

import copy
import numbers
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from .autoencoder import AE_LOSS_REDUCTIONS, PRETRAIN_STAGE, train_autoencoder
from .networks.arch import resolve_arch
from .networks.factory import build_encoder
from .params import Interval, IntTuple, IsBool, Options
from .registry import register
from .torch_base import TorchDetector
from .torch_utils import batched_inference, training_batches, use_channels_last

# Constants of the method (docs/methods.md §5).
DIST_EPS = 1e-6  # keeps the inverse loss of labelled anomalies finite
LR_DECAY = 0.1  # learning-rate factor at each milestone
SCORE_BATCH = 1024  # batch size for inference only


def Milestones() -> IntTuple:  # noqa: N802 - reads like the other parameter rules
    """Parameter rule: a tuple/list of positive epoch numbers (learning-rate milestones)."""
    return IntTuple(0, "epoch numbers >= 1 (learning-rate milestones)")


def milestone_lr(base_lr: float, milestones: Sequence[int], epoch: int) -> float:
    """The learning rate of 0-based ``epoch``: ``base_lr`` × 0.1 per milestone already passed."""
    return base_lr * LR_DECAY ** sum(epoch >= m for m in milestones)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_center(c: torch.Tensor, eps: float) -> torch.Tensor:
    """Entries with |c_i| < eps become ±eps (sign of c_i; +eps for an exact 0)."""
    sign = torch.where(c < 0, -torch.ones_like(c), torch.ones_like(c))
    return torch.where(c.abs() < eps, sign * eps, c)


def squared_distance(embedding: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """||φ(x) - c||² per sample: Deep SAD's distance, loss input and anomaly score."""
    return ((embedding - c) ** 2).sum(dim=1)


def sad_loss_terms(dist: torch.Tensor, labelled: torch.Tensor, eta: float) -> dict[str, torch.Tensor]:
    """Deep SAD's two loss terms from the squared distances ``dist`` of one batch to the centre.

    Both are divided by the whole batch size, so their sum is the mean over the batch of
    ||φ(x) - c||² (unlabelled) and η / (||φ(x) - c||² + ε) (collected anomalies). A function of
    tensors only, so that the trainer of several experiments at once applies the same loss.
    """
    n = dist.shape[0]
    return {
        "unlabelled": torch.where(labelled, torch.zeros_like(dist), dist).sum() / n,
        "labelled": torch.where(labelled, eta / (dist + DIST_EPS), torch.zeros_like(dist)).sum() / n,
    }


@register("deep-sad")
class DeepSAD(TorchDetector):
    """Deep SAD; at γl = 0 (no y == 1) it is Deep SVDD with the same pretraining.

    Parameters (defaults = the Deep SAD paper's MNIST settings, used for every dataset):
    epochs=150, lr=1e-4, lr_milestones=(50,), batch_size=128, weight_decay=0.5e-6, eta=1.0,
    center_eps=0.1; pretrain=True with ae_epochs=150, ae_lr=1e-4, ae_weight_decay=0.5e-3,
    ae_lr_milestones=() (the autoencoder uses ``batch_size`` too), ae_loss="mean" (the squared error
    averaged over every pixel, as in Deep SAD's code; see :mod:`detectors.autoencoder`); arch="auto" (the runner passes
    "mnist", "fmnist", "cifar10" or an ODDS set's name).
    """

    requires_labels: ClassVar[bool] = False
    test_params: ClassVar[dict] = {"epochs": 3, "ae_epochs": 3, "batch_size": 64}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lr_milestones": [Milestones()],
        "eta": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "center_eps": [Interval(numbers.Real, 0.0, None)],
        "pretrain": [IsBool()],
        "ae_epochs": [Interval(numbers.Integral, 0, None)],
        "ae_lr": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "ae_weight_decay": [Interval(numbers.Real, 0.0, None)],
        "ae_lr_milestones": [Milestones()],
        "ae_loss": [Options(AE_LOSS_REDUCTIONS)],
    }

    def __init__(
        self,
        *,
        epochs: int = 150,
        batch_size: int = 128,
        lr: float = 1e-4,
        weight_decay: float = 0.5e-6,
        lr_milestones: tuple[int, ...] = (50,),
        eta: float = 1.0,
        center_eps: float = 0.1,
        pretrain: bool = True,
        ae_epochs: int = 150,
        ae_lr: float = 1e-4,
        ae_weight_decay: float = 0.5e-3,
        ae_lr_milestones: tuple[int, ...] = (),
        ae_loss: str = "mean",
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
        self.eta = eta
        self.center_eps = center_eps
        self.pretrain = pretrain
        self.ae_epochs = ae_epochs
        self.ae_lr = ae_lr
        self.ae_weight_decay = ae_weight_decay
        self.ae_lr_milestones = ae_lr_milestones
        self.ae_loss = ae_loss
        self.arch = arch
        self.device = device
        self.random_state = random_state
        self.eval_every = eval_every
        self.verbose = verbose
        self.max_rows = max_rows
        self.contamination = contamination

    # -- hooks ---------------------------------------------------------------------------
    def _build(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.arch_ = resolve_arch(self.arch, tuple(X.shape[1:]))
        if self.pretrain and self.ae_epochs > 0:
            ae_history: list[float] = []
            encoder, _ = train_autoencoder(
                X, self.arch_, epochs=int(self.ae_epochs), lr=float(self.ae_lr),
                weight_decay=float(self.ae_weight_decay), batch_size=int(self.batch_size),
                generator=self._generator, device=self.device_,
                lr_milestones=tuple(self.ae_lr_milestones), history=ae_history, reduction=self.ae_loss,
            )
            net = copy.deepcopy(encoder)
            self.fit_info_["ae_final_loss"] = ae_history[-1]
        else:
            net = build_encoder(self.arch_, tuple(X.shape[1:])).to(self.device_)
            if X.dim() == 4:  # the pretrained encoder is channels-last already
                use_channels_last(net)
        self.set_network(net, X, y)

    def set_network(self, net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> None:
        """The end of :meth:`build`: φ is ``net`` (the pretrained encoder, or a fresh one when
        there is no pretraining), the centre c its mean embedding of ``X``, and φ's optimizer.

        A trainer that pretrains the autoencoders of several detectors together calls it with
        each detector's own encoder."""
        self.net_ = net
        self.c_ = self._init_center(X)
        self.optimizer_ = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.fit_info_["n_labelled_anomalies"] = int(y.sum())

    def epoch_plan(self, arch: str) -> dict[str, int]:
        return {PRETRAIN_STAGE: int(self.ae_epochs) if self.pretrain else 0, self.TRAIN_STAGE: int(self.epochs)}

    def _init_center(self, X: torch.Tensor) -> torch.Tensor:
        """Mean embedding of all training data in eval mode, small entries pushed to ±center_eps."""
        self.net_.eval()
        mean = torch.as_tensor(batched_inference(self.net_, X, SCORE_BATCH).mean(axis=0),
                               dtype=torch.float32, device=self.device_)
        self.fit_info_["center_entries_clipped"] = int((mean.abs() < self.center_eps).sum())
        return clip_center(mean, float(self.center_eps))

    def _train_epoch(self, epoch: int, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        set_lr(self.optimizer_, milestone_lr(float(self.lr), self.lr_milestones, epoch))
        labelled = y == 1
        total, count = torch.zeros((), device=self.device_), 0
        for idx in training_batches(len(X), int(self.batch_size), self._generator, self.device_):
            # index_select gathers the batch as X[idx] does, through a simpler kernel
            loss = sum(self._loss_terms(X.index_select(0, idx), labelled.index_select(0, idx)).values())
            self.optimizer_.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_.step()
            total += loss.detach() * len(idx)
            count += len(idx)
        return {"loss": float(total) / max(count, 1)}

    def _loss_terms(self, x: torch.Tensor, labelled: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named terms of one training step's loss (the step minimises their sum); see
        :func:`sad_loss_terms`."""
        return sad_loss_terms(self._distance(x), labelled, float(self.eta))

    def _distance(self, x: torch.Tensor) -> torch.Tensor:
        return squared_distance(self.net_(x), self.c_)

    def _score_candidates(self, X: torch.Tensor) -> dict[str, np.ndarray]:
        return {"score": batched_inference(self._distance, X, SCORE_BATCH)}

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}

    @property
    def center_(self) -> np.ndarray:
        """The hypersphere centre c (fitted)."""
        return self.c_.detach().cpu().numpy()
