"""SSAD (Görnitz et al. 2013): kernel semi-supervised SVDD, solved exactly on the whole training set.

Two variants, as in the Deep SAD paper's baselines:

- ``ssad-raw``: RBF kernel on flattened pixels (or the tabular features);
- ``ssad-hybrid``: RBF kernel on the codes of Deep SAD's autoencoder encoder, pretrained on the
  same training data with :func:`detectors.autoencoder.train_autoencoder`.

The dual and its solver are in :mod:`detectors.kernel_qp`. Collected anomalies (``y == 1``) are
the labelled anomalies of SSAD; unlabelled samples are SSAD's unlabelled set (the suite has no
labelled normals). ``kappa`` applies only when labels exist (it is 0 without them).

Kernel width ``gamma`` (``K(x, x') = exp(-gamma ||x - x'||^2)``):

- ``gamma`` given: used as is;
- else, with an ``eval_set`` holding both classes: every value of ``gammas`` (default
  ``logspace(-7, 2, 10, base 2)``, the Deep SAD grid) is fitted and the one with the best
  AUROC on the eval_set is kept (the runner passes the ``oracle-10`` part or a ``strict``
  hold-out of training data);
- else the median heuristic: ``1 / median ||x_i - x_j||^2`` over pairs of up to
  ``MEDIAN_SAMPLE`` evenly spaced training points (on MNIST pixels it lands near 2^-6.6, inside
  the grid; ``1/n_features`` would be 2^-9.6, far below it).

Score: squared distance to the centre minus the squared radius (positive = outside the sphere).

Size: the exact solve holds dense n x n kernels, which is fine for an image class (about 6,000
points, 1.6 GB peak) but not for ODDS shuttle (about 29,000 training points). Above
``DENSE_LIMIT`` points ``fit`` refuses with a message rather than exhausting memory;
``max_train=N`` solves on a seeded subsample of N unlabelled points (every collected anomaly is
kept unless ``max_collected=M`` keeps a seeded M of them), recorded in ``fit_info_`` and, as
parameters, in the results row (:mod:`.subsample`). ``ssad-hybrid`` also holds the whole
training set on the device as one float32 tensor while its autoencoder trains.

Scores are float64, but the hybrid's codes come from a float32 network: a point whose score lies
within about 1e-6 of ``threshold_`` can change label between a batch and a subset of it (its
code's last digits depend on the batch it was encoded in).
"""
from __future__ import annotations

import numbers
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from .autoencoder import AE_LOSS_REDUCTIONS
from .base import SemiSupervisedDetector
from .kernel_qp import SUPPORT_TOL, solve_ssad_dual
from .params import Interval, IsBool, IsNone, Options
from .registry import register
from .subsample import limit_rows_stratified, limit_training_rows
from .torch_base import TorchDetector
from .torch_utils import batched_inference, resolve_device, seed_from, to_tensor

DEFAULT_GAMMAS: tuple[float, ...] = tuple(float(g) for g in np.logspace(-7, 2, 10, base=2))
MEDIAN_SAMPLE = 2000  # points used by the median heuristic
SCORE_CHUNK = 4096  # rows of the test-vs-support-vector kernel computed at once
DENSE_LIMIT = 15000  # training points above which the exact dense solve is refused without max_train

# Deep SAD's MNIST autoencoder settings (docs/methods.md §5), the hybrid's defaults.
AE_EPOCHS = 150
AE_LR = 1e-4
AE_WEIGHT_DECAY = 0.5e-3
AE_BATCH_SIZE = 128


class _PositiveGrid:
    """A non-empty sequence of positive finite numbers (the candidate kernel widths)."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
            return False
        return all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) and v > 0 for v in value)

    def __str__(self) -> str:
        return "a non-empty sequence of positive numbers"


def squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances in float64, clipped at 0 against rounding."""
    D = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    np.maximum(D, 0.0, out=D)
    return D


def median_heuristic_gamma(Z: np.ndarray) -> float:
    """1 / median squared distance over pairs of up to MEDIAN_SAMPLE evenly spaced rows of Z."""
    idx = np.unique(np.linspace(0, len(Z) - 1, min(len(Z), MEDIAN_SAMPLE)).astype(int))
    D = squared_distances(Z[idx], Z[idx])
    med = float(np.median(D[np.triu_indices(len(idx), 1)])) if len(idx) > 1 else 0.0
    return 1.0 / med if med > 0 else 1.0


class _SSADBase(SemiSupervisedDetector):
    """The SSAD core on a feature map given by ``_features`` (flattened pixels or codes)."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "gamma": [Interval(numbers.Real, 0.0, None, closed="neither"), IsNone()],
        "gammas": [_PositiveGrid()],
        "C1": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "C2": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "kappa": [Interval(numbers.Real, 0.0, None)],
        "verbose": [IsBool()],
        "max_train": [Interval(numbers.Integral, 1, None), IsNone()],
        "random_state": [Interval(numbers.Integral, 0, None), IsNone()],
    }

    def _features(self, X: np.ndarray, fitting: bool, y: np.ndarray | None = None) -> np.ndarray:
        """The feature map of ``X``; ``fitting``: learn it first (from ``X`` and its labels ``y``)."""
        raise NotImplementedError

    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        Z = self._features(X, fitting=True, y=y)
        Z, y = self._limit_size(Z, y)
        labelled = y == 1
        signs = np.where(labelled, -1.0, 1.0)
        kappa = float(self.kappa) if labelled.any() else 0.0
        selecting = self.gamma is None and eval_set is not None and len(np.unique(eval_set[1])) == 2
        if self.gamma is not None:
            candidates, source = [float(self.gamma)], "fixed"
        elif selecting:
            candidates, source = [float(g) for g in self.gammas], "eval_set"
        else:
            candidates, source = [median_heuristic_gamma(Z)], "median heuristic"
        Z_val = self._features(eval_set[0], fitting=False) if selecting else None

        D = squared_distances(Z, Z)
        aurocs: dict[float, float] = {}
        best: tuple[float, dict] | None = None
        for i, gamma in enumerate(candidates):
            last = i == len(candidates) - 1
            # The last (or only) kernel is built in place of D: one dense n x n array fewer.
            K = np.multiply(D, -gamma, out=D if last else None)
            np.exp(K, out=K)
            sol = solve_ssad_dual(K, signs, labelled, C1=self.C1, C2=self.C2, kappa=kappa)
            del K
            keep = sol.alpha > SUPPORT_TOL * max(float(sol.alpha.max()), 1e-300)
            model = {
                "gamma": gamma, "support_vectors": Z[keep].copy(), "dual_coef": sol.signed_alpha[keep],
                "center_sq_norm": sol.center_sq_norm, "radius_sq": sol.radius_sq,
                "status": sol.status, "iterations": sol.iterations,
            }
            value = float(roc_auc_score(eval_set[1], self._decision(Z_val, model))) if selecting else 0.0
            aurocs[gamma] = value
            if self.verbose:
                print(f"SSAD gamma={gamma:.4g}: {sol.status} in {sol.iterations} iterations, "
                      f"{int(keep.sum())} support vectors" + (f", eval AUROC {value:.4f}" if selecting else ""))
            if best is None or value > best[0]:
                best = (value, model)
        del D
        model = best[1]
        self.gamma_ = model["gamma"]
        self.support_vectors_ = model["support_vectors"]
        self.dual_coef_ = model["dual_coef"]
        self.center_sq_norm_ = model["center_sq_norm"]
        self.radius_sq_ = model["radius_sq"]
        self.fit_info_.update({
            "gamma": self.gamma_, "gamma_source": source, "kappa": kappa,
            "n_support": int(len(self.dual_coef_)), "solver_status": model["status"],
            "solver_iterations": model["iterations"],
        })
        if selecting:
            self.fit_info_["eval_auroc_by_gamma"] = aurocs

    def _limit_size(self, Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z_kept, y_kept, subsampled_from = limit_training_rows(Z, y, self.max_train, seed_from(self.random_state),
                                                           self.max_collected)
        if subsampled_from is not None:
            self.fit_info_["subsampled_from"] = subsampled_from
        if len(y_kept) > DENSE_LIMIT:
            gigabytes = len(y_kept) ** 2 * 8 / 2**30
            raise ValueError(
                f"{type(self).__name__} solves its dual exactly on dense {len(y_kept)} x {len(y_kept)} kernels "
                f"({gigabytes:.1f} GB each); set max_train=N (e.g. 10000) and/or max_collected=M to solve it on a "
                "seeded subsample of N unlabelled points and M collected anomalies")
        return Z_kept, y_kept

    def _decision(self, Z: np.ndarray, model: dict) -> np.ndarray:
        """Squared distance to the centre minus R^2; K(x, x) = 1 for the RBF kernel."""
        sv, coef, gamma = model["support_vectors"], model["dual_coef"], model["gamma"]
        out = np.empty(len(Z))
        for start in range(0, len(Z), SCORE_CHUNK):
            Kx = squared_distances(Z[start:start + SCORE_CHUNK], sv)
            np.multiply(Kx, -gamma, out=Kx)
            np.exp(Kx, out=Kx)
            out[start:start + SCORE_CHUNK] = 1.0 - 2.0 * (Kx @ coef)
        return out + model["center_sq_norm"] - model["radius_sq"]

    def _score(self, X: np.ndarray) -> np.ndarray:
        model = {"support_vectors": self.support_vectors_, "dual_coef": self.dual_coef_, "gamma": self.gamma_,
                 "center_sq_norm": self.center_sq_norm_, "radius_sq": self.radius_sq_}
        return self._decision(self._features(X, fitting=False), model)


@register("ssad-raw")
class SSADRaw(_SSADBase):
    """SSAD with an RBF kernel on flattened pixels or tabular features (Deep SAD's "raw" baseline).

    Parameters: ``gamma`` (None = select, see the module docstring), ``gammas`` (the grid),
    ``C1`` (box of unlabelled samples), ``C2`` (box of labelled anomalies), ``kappa`` (weight of
    the labelled margin), ``max_train``, ``max_collected`` and ``random_state`` (size limits, see
    the module docstring), ``verbose``, ``contamination``.
    """

    test_params: ClassVar[dict] = {}

    def __init__(self, *, gamma: float | None = None, gammas: Sequence[float] = DEFAULT_GAMMAS, C1: float = 1.0,
                 C2: float = 1.0, kappa: float = 1.0, max_train: int | None = None, max_collected: int | None = None,
                 random_state: int | None = None, verbose: bool = False, contamination: float = 0.1):
        self.gamma = gamma
        self.gammas = gammas
        self.C1 = C1
        self.C2 = C2
        self.kappa = kappa
        self.max_train = max_train
        self.max_collected = max_collected
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination

    def _features(self, X: np.ndarray, fitting: bool, y: np.ndarray | None = None) -> np.ndarray:
        return X.reshape(len(X), -1).astype(np.float64)


@register("ssad-hybrid")
class SSADHybrid(_SSADBase):
    """SSAD on the codes of Deep SAD's autoencoder encoder (Deep SAD's "hybrid" baseline).

    The autoencoder is trained on all training data (unlabelled and collected anomalies, as Deep
    SAD pretrains) with ``epochs``, ``lr``, ``weight_decay`` and ``batch_size`` (defaults: Deep
    SAD's MNIST autoencoder settings), network ``arch`` and ``device``; ``random_state`` seeds
    its initialisation and batch order. ``max_rows=N`` trains the autoencoder on a stratified
    seeded subsample of N training rows (as the deep detectors' ``max_rows``); the codes of every
    row are still computed for the kernel, which ``max_train`` and ``max_collected`` cap. There is
    no per-epoch selection, hence no ``eval_every``: the eval_set only chooses ``gamma``.
    """

    test_params: ClassVar[dict] = {"epochs": 2, "batch_size": 64, "lr": 1e-3}
    # The autoencoder's training parameters follow the deep detectors' rules; ``arch`` is checked
    # by ``resolve_arch`` when the network is built.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        name: TorchDetector._parameter_constraints[name]
        for name in ("epochs", "batch_size", "lr", "weight_decay", "device", "random_state")
    } | {"ae_loss": [Options(AE_LOSS_REDUCTIONS)], "max_rows": TorchDetector._parameter_constraints["max_rows"]}

    def __init__(self, *, gamma: float | None = None, gammas: Sequence[float] = DEFAULT_GAMMAS, C1: float = 1.0,
                 C2: float = 1.0, kappa: float = 1.0, max_train: int | None = None, max_collected: int | None = None,
                 epochs: int = AE_EPOCHS, lr: float = AE_LR,
                 weight_decay: float = AE_WEIGHT_DECAY, batch_size: int = AE_BATCH_SIZE, ae_loss: str = "mean",
                 arch: str = "auto", max_rows: int | None = None,
                 device: str = "auto", random_state: int | None = None, verbose: bool = False,
                 contamination: float = 0.1):
        self.gamma = gamma
        self.gammas = gammas
        self.C1 = C1
        self.C2 = C2
        self.kappa = kappa
        self.max_train = max_train
        self.max_collected = max_collected
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.ae_loss = ae_loss
        self.arch = arch
        self.max_rows = max_rows
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination

    def _features(self, X: np.ndarray, fitting: bool, y: np.ndarray | None = None) -> np.ndarray:
        from .autoencoder import train_autoencoder
        from .networks.arch import resolve_arch

        if fitting:
            self.device_ = resolve_device(self.device)
            seed = seed_from(self.random_state)
            generator = torch.Generator().manual_seed(seed)
            arch = resolve_arch(self.arch, tuple(X.shape[1:]))
            history: list[float] = []
            X_ae, _, subsampled_from = limit_rows_stratified(X, y, self.max_rows, seed)
            if subsampled_from is not None:
                self.fit_info_["ae_subsampled_from"] = subsampled_from
            self.encoder_, _ = train_autoencoder(
                to_tensor(X_ae, self.device_), arch, epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
                batch_size=self.batch_size, generator=generator, device=self.device_, history=history,
                reduction=self.ae_loss)
            self.fit_info_.update({"arch": arch, "ae_final_loss": history[-1] if history else None})
        codes = batched_inference(lambda x: self.encoder_(x).flatten(1), to_tensor(X, self.device_))
        return codes.astype(np.float64)
