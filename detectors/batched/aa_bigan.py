"""AA-BiGAN for several experiments at once: E, G, D_xz and D_xx of every experiment stacked.

Each detector is built by its own :meth:`~detectors.torch_base.TorchDetector.build` under its own
seed (networks, data on the device, batch sizes, the collected-anomaly cycler on its own
generator), so each starts exactly as it would alone. The four networks of all experiments are
then stacked as one module (:class:`_Nets`) and every iteration runs the detector's own loss
code (``_forward``, :meth:`~detectors.aa_bigan.AABiGAN.d_losses`,
:meth:`~detectors.aa_bigan.AABiGAN.ge_losses`) on them, vmapped, in the order of
:meth:`detectors.aa_bigan.AABiGAN._step`:

1. E and G forward once (their BatchNorm statistics move once, per experiment);
2. D's losses on the detached outputs, D's step (Adam per experiment);
3. D afresh on the same E / G outputs; G steps on the gradient of its loss, E on that of its own.

Each experiment's step inputs come from its own
:meth:`~detectors.aa_bigan.AABiGAN.epoch_inputs`, so each draws its batches, anomalies and noise
from its own generator in the order of its ``_train_epoch``. Experiments whose batch shapes
differ at a step (different numbers of normals, hence of batches, or a different last batch)
are run in separate vmapped calls; one with no batch left skips the step. Experiments that
cannot share one stack (the unsupervised variant next to the semi-supervised one, different
latent sizes) are trained as separate stacks, one after the other. The learning rates follow
the detector's schedule (``StepLR``, stepped after each epoch).
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..aa_bigan import ADAM_BETAS, LR_GAMMA, LR_STEP_EPOCHS, AABiGAN, Batch
from .registry import Data, register_trainer
from .stacked import StackedAdam, StackedModules

ADAM_EPS = 1e-8  # torch.optim.Adam's default, which the single-experiment detector uses
D_NETS = ("d_xz", "d_xx")
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
    def __init__(self, index: int, detector: AABiGAN):
        self.index, self.detector = index, detector
        self.row = -1
        self.epochs = 0
        self.failed = False
        self.done = False


@register_trainer(AABiGAN)
def fit_many(detectors: Sequence[AABiGAN], data: Sequence[Data]) -> list[BaseException | None]:
    """Fit AA-BiGAN ``detectors`` on their ``data`` together; per detector None or its exception.
    Called through :func:`detectors.batched.fit_many`, which checks the group."""
    outcomes: list[BaseException | None] = [None] * len(detectors)
    parts: dict[tuple, list[_Experiment]] = defaultdict(list)
    for i, (det, (X, y, eval_set)) in enumerate(zip(detectors, data)):
        e = _Experiment(i, det)
        try:
            Xt, yt = det.start_fit(X, y, eval_set)
            det.build(Xt, yt)
            e.epochs = det.start_epochs()
        except torch.cuda.OutOfMemoryError:  # the whole group's problem: the runner retries smaller groups
            raise
        except Exception as exc:  # noqa: BLE001 - this experiment fails as its fit would; the others go on
            outcomes[i] = exc
            continue
        key = (det.arch_, det.latent_dim_, det.supervised_, tuple(Xt.shape[1:]), str(det.device_))
        parts[key].append(e)

    def fail(e: _Experiment, exc: BaseException) -> None:
        outcomes[e.index] = exc
        e.failed = True

    for part in parts.values():
        _train(part, fail)
    return outcomes


def _train(part: list[_Experiment], fail: Callable[[_Experiment, BaseException], None]) -> None:
    """Train one stack of compatible experiments to the end of each one's epochs; each ends fitted
    (its selection made) or failed."""
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
    schedulers = [torch.optim.lr_scheduler.StepLR(o, LR_STEP_EPOCHS, LR_GAMMA) for o in (opt_d, opt_g, opt_e)]
    supervised = first.supervised_

    def batch_of(t: Sequence[torch.Tensor]) -> Batch:
        """Batch from the flat tensors (xp, z, ep, gz, rec[, xn, en]) of one experiment."""
        xp, z, ep, gz, rec, *anomalies = t
        xn, en = anomalies if anomalies else (None, None)
        return Batch(xp, xn, z, ep, en, gz, rec)

    def forward(state, xp, z, *xn):
        def run():
            b = proxy._forward(xp, xn[0] if xn else None, z)
            return (b.ep, b.gz, b.rec) + ((b.en,) if xn else ())
        return functional_call(nets, state, (run,))

    def d_losses(state, *tensors):
        def run():
            d = proxy.d_losses(batch_of(tensors))
            return torch.stack([d["d"], d["d_xz"], d["d_xx"]])
        return functional_call(nets, state, (run,))

    def ge_losses(state, *tensors):
        def run():
            ge = proxy.ge_losses(batch_of(tensors))
            return torch.stack([ge["g"], ge["e"]])
        return functional_call(nets, state, (run,))

    stack.train(True)
    epoch = 0
    while True:
        live = [e for e in part if not e.failed and not e.done]
        if not live:
            return
        pending = {e.row: e.detector.epoch_inputs() for e in live}
        n_batches = dict.fromkeys(pending, 0)
        sums = {row: torch.zeros(len(LOSS_NAMES), dtype=torch.float64, device=first.device_) for row in pending}
        while pending:
            inputs: dict[int, tuple[torch.Tensor, ...]] = {}
            for row, step_inputs in list(pending.items()):
                try:
                    xp, xn, z = next(step_inputs)
                except StopIteration:
                    del pending[row]
                    continue
                inputs[row] = (xp, z) + ((xn,) if supervised else ())
                n_batches[row] += 1
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
        for scheduler in schedulers:
            scheduler.step()
        for e in live:
            det = e.detector
            for name, module in (("encoder", det.encoder_), ("generator", det.generator_), ("d_xz", det.d_xz_),
                                 ("d_xx", det.d_xx_)):
                stack.load_into(e.row, module, name)
            losses = {name: float(v) / n_batches[e.row] for name, v in zip(LOSS_NAMES, sums[e.row].tolist())}
            try:
                if det.end_epoch(epoch, losses) or epoch + 1 == e.epochs:
                    det.finish_fit()
                    e.done = True
            except torch.cuda.OutOfMemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a diverging loss: this experiment only
                fail(e, exc)
        epoch += 1
