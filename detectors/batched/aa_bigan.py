"""AA-BiGAN for several experiments at once: E, G, D_xz and D_xx of every experiment stacked.

Each detector is built by its own ``_build`` under its own seed (networks, data on the device,
batch sizes, the collected-anomaly cycler on its own generator), so each starts exactly as it
would alone. The four networks of all experiments are then stacked as one module
(:class:`_Nets`) and every iteration runs the detector's own loss code
(``_forward``, ``_d_terms``, ``_ge_terms``) on them, vmapped, in the order of
:meth:`detectors.aa_bigan.AABiGAN._step`:

1. E and G forward once (their BatchNorm statistics move once, per experiment);
2. D's terms on the detached outputs, D's step (Adam per experiment);
3. D afresh on the same E / G outputs; G steps on the gradient of its loss, E on that of its own.

Per step each experiment draws its anomaly batch and its noise from its own generator, in the
order of its ``_train_epoch``. Experiments whose batch shapes differ at a step (different numbers
of normals, hence of batches, or a different last batch) are run in separate vmapped calls;
one with no batch left skips the step. Experiments that cannot share one stack (the
unsupervised variant next to the semi-supervised one, different latent sizes) are trained as
separate stacks, one after the other.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..aa_bigan import ADAM_BETAS, LR_GAMMA, LR_STEP_EPOCHS, AABiGAN, _Batch
from ..errors import DivergenceError
from ..torch_utils import torch_seed
from . import Data, check_group
from .stacked import StackedAdam, StackedModules

ADAM_EPS = 1e-8  # torch.optim.Adam's default, which the single-experiment detector uses
D_NETS, G_NETS, E_NETS = ("d_xz", "d_xx"), ("generator",), ("encoder",)
LOSS_NAMES = ("loss_d", "loss_d_xz", "loss_d_xx", "loss_g", "loss_e")  # the order of _step's result


class _Nets(nn.Module):
    """One experiment's four networks in one module; ``forward(fn, *args)`` is ``fn(*args)``, so
    one functional call can run any of the detector's loss code on the stacked weights."""

    def __init__(self, encoder: nn.Module, generator: nn.Module, d_xz: nn.Module, d_xx: nn.Module):
        super().__init__()
        self.encoder, self.generator, self.d_xz, self.d_xx = encoder, generator, d_xz, d_xx

    def forward(self, fn, *args):
        return fn(*args)


class _Experiment:
    def __init__(self, index: int, detector: AABiGAN, X: np.ndarray):
        self.index, self.detector, self.X = index, detector, X
        self.row = -1
        self.failed = False
        self.done = False


def fit_many(detectors: Sequence[AABiGAN], data: Sequence[Data]) -> list[BaseException | None]:
    """Fit AA-BiGAN ``detectors`` on their ``data`` together; per detector None or its exception."""
    check_group(detectors)
    if len(detectors) != len(data):
        raise ValueError(f"fit_many got {len(detectors)} detectors and {len(data)} data items")
    outcomes: list[BaseException | None] = [None] * len(detectors)
    parts: dict[tuple, list[_Experiment]] = defaultdict(list)
    for i, (det, (X, y, eval_set)) in enumerate(zip(detectors, data)):
        try:
            X, y, eval_set = det._begin_fit(X, y, eval_set)
            Xt, yt = det._start_fit(X, y, eval_set)
            with torch_seed(det._seed, det.device_):
                det._build(Xt, yt)
            det._start_epochs()
        except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
            raise
        except Exception as exc:  # noqa: BLE001 - this experiment fails as its fit would; the others go on
            outcomes[i] = exc
            continue
        key = (det.arch_, det.latent_dim_, det.supervised_, tuple(X.shape[1:]), str(det.device_), det._channels_last)
        parts[key].append(_Experiment(i, det, X))

    def fail(e: _Experiment, exc: BaseException) -> None:
        outcomes[e.index] = exc
        e.failed = True

    for part in parts.values():
        _train(part, fail)
        for e in part:
            if e.failed:
                continue
            try:
                e.detector._end_fit(e.X)
            except torch.cuda.OutOfMemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. non-finite training scores: this experiment only
                fail(e, exc)
    return outcomes


def _train(part: list[_Experiment], fail) -> None:
    """Train one stack of compatible experiments to the end of each one's epochs."""
    for row, e in enumerate(part):
        e.row = row
    first = part[0].detector
    stack = StackedModules.stack([_Nets(e.detector.encoder_, e.detector.generator_, e.detector.d_xz_,
                                        e.detector.d_xx_) for e in part])
    # The detector's loss code, run on the stack's template networks (reparametrised per call).
    proxy = copy.copy(first)
    nets = stack.template
    proxy.encoder_, proxy.generator_, proxy.d_xz_, proxy.d_xx_ = nets.encoder, nets.generator, nets.d_xz, nets.d_xx
    adam = dict(betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=float(first.weight_decay))
    opt_d = StackedAdam([p for n in D_NETS for p in stack.parameters(n)], stack.k, lr=float(first.lr_d), **adam)
    opt_g = StackedAdam(stack.parameters("generator"), stack.k, lr=float(first.lr), **adam)
    opt_e = StackedAdam(stack.parameters("encoder"), stack.k, lr=float(first.lr), **adam)
    supervised = first.supervised_

    def batch_of(t: Sequence[torch.Tensor]) -> _Batch:
        """_Batch from the flat tensors (xp, z, ep, gz, rec[, xn, en]) of one experiment."""
        xp, z, ep, gz, rec, *anomalies = t
        xn, en = anomalies if anomalies else (None, None)
        return _Batch(xp, xn, z, ep, en, gz, rec)

    def forward(state, xp, z, *xn):
        def run():
            b = proxy._forward(xp, xn[0] if xn else None, z)
            return (b.ep, b.gz, b.rec) + ((b.en,) if xn else ())
        return functional_call(nets, state, (run,))

    def d_losses(state, *tensors):
        def run():
            with proxy._autocast():
                d = proxy._d_losses(proxy._d_terms(batch_of(tensors)))
            return torch.stack([d["d"], d["d_xz"], d["d_xx"]])
        return functional_call(nets, state, (run,))

    def ge_losses(state, *tensors):
        def run():
            with proxy._autocast():
                ge = proxy._ge_losses(proxy._ge_terms(batch_of(tensors)))
            return torch.stack([ge["g"], ge["e"]])
        return functional_call(nets, state, (run,))

    stack.train(True)
    epoch = 0
    while True:
        live = [e for e in part if not e.failed and not e.done]
        if not live:
            return
        batches = {e.row: list(e.detector._normal_batches()) for e in live}
        sums = {e.row: torch.zeros(len(LOSS_NAMES), dtype=torch.float64, device=first.device_) for e in live}
        for t in range(max(len(b) for b in batches.values())):
            inputs: dict[int, tuple[torch.Tensor, ...]] = {}
            for e in live:
                if t < len(batches[e.row]):
                    det, idx = e.detector, batches[e.row][t]
                    xp = det._x_normal[idx]
                    xn = det._x_anom[det._anomaly_cycler.take(det.batch_anomaly_)] if supervised else None
                    inputs[e.row] = (xp, det._noise(len(idx))) + ((xn,) if supervised else ())
            by_shape: dict[tuple, list[int]] = defaultdict(list)
            for row, tensors in inputs.items():
                by_shape[tuple(len(x) for x in tensors)].append(row)
            for rows in by_shape.values():
                subset = None if rows == list(range(stack.k)) else torch.tensor(rows, device=first.device_)
                xs = [torch.stack(column) for column in zip(*(inputs[row] for row in rows))]
                xp, z, *xn = xs
                out = stack.map(forward, xs, subset, prefixes=("encoder", "generator"))
                tensors = (xp, z, out[0], out[1], out[2]) + ((xn[0], out[3]) if supervised else ())
                d = stack.map(d_losses, tensors, subset, prefixes=D_NETS)
                opt_d.zero_grad()
                d[:, 0].sum().backward()
                opt_d.step(subset)
                ge = stack.map(ge_losses, tensors, subset, prefixes=D_NETS)
                opt_g.zero_grad()
                opt_e.zero_grad()
                ge[:, 0].sum().backward(inputs=opt_g.params, retain_graph=True)
                ge[:, 1].sum().backward(inputs=opt_e.params)
                opt_g.step(subset)
                opt_e.step(subset)
                values = torch.cat([d, ge], dim=1).detach().double()
                for j, row in enumerate(rows):
                    sums[row] += values[j]
        if (epoch + 1) % LR_STEP_EPOCHS == 0:  # StepLR after the epoch
            for optimizer in (opt_d, opt_g, opt_e):
                optimizer.lr *= LR_GAMMA
        for e in live:
            det = e.detector
            for name, module in (("encoder", det.encoder_), ("generator", det.generator_), ("d_xz", det.d_xz_),
                                 ("d_xx", det.d_xx_)):
                stack.load_into(e.row, module, name)
            n_batches = len(batches[e.row])
            losses = {name: float(v) / n_batches for name, v in zip(LOSS_NAMES, sums[e.row].tolist())}
            try:
                stop = det._end_epoch(epoch, losses)
            except DivergenceError as exc:
                fail(e, exc)
                continue
            if stop or epoch + 1 == det._epochs:
                det._finish_epochs()
                e.done = True
        epoch += 1
