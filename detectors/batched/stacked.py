"""K copies of one network trained as one model: stacked weights, one vmapped call, per-copy Adam.

The experiments of one benchmark cell (same detector, parameters, dataset and γ's; different
normal or known classes, seeds and data) share their architecture. :class:`StackedModules`
holds the weights and buffers of K such networks as tensors with a leading dimension K
(``torch.func.stack_module_state``) and runs all of them, or a subset, in one call with
``torch.func.vmap`` over ``torch.func.functional_call``. Everything that must stay per
experiment does:

- BatchNorm running statistics: the buffers are stacked and passed through ``vmap`` like the
  weights, so each copy's train-mode BatchNorm normalises with its own batch statistics and
  updates its own row of the running mean and variance (``replace_all_batch_norm_modules_``,
  which would switch running statistics off, is not used);
- gradients: the K losses depend on disjoint rows of the stacked weights, so the gradient of
  their sum is each experiment's own gradient;
- optimiser state: :class:`StackedAdam` keeps Adam's moments per element (as torch's Adam does)
  and one step count per experiment and parameter, and updates only the experiments that took
  part in a step, so an experiment that has no batch left in an epoch does not move at all.

Experiments with different training-set sizes have different numbers of batches per epoch and
different last-batch sizes. :func:`train_steps` handles that by masking: at step t it runs the
experiments that still have a batch, grouped by batch size (``vmap`` needs one shape); the others
skip the step (weights, moments, step counts and BatchNorm statistics unchanged).

Each layer runs once for all K copies (a linear layer becomes a batched matrix product, a
convolution a grouped convolution). That pays where per-call overhead dominates: on a GPU, and on
CPU for the small MLPs of tables; on CPU, image experiments are fitted one by one instead
(:func:`detectors.batched.registry.stacking_pays`).
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

State = dict[str, torch.Tensor]

class StackedModules:
    """K networks of one architecture as stacked tensors, callable together or by subset."""

    def __init__(self, template: nn.Module, params: State, buffers: State):
        self.template = template  # on the meta device: structure and train/eval flag only
        self.params = params      # name -> (K, ...) leaf tensor that requires grad
        self.buffers = buffers    # name -> (K, ...) tensor (BatchNorm statistics)
        self.k = len(next(iter(params.values())))

    @classmethod
    def stack(cls, modules: Sequence[nn.Module]) -> "StackedModules":
        """Stack ``modules`` (same structure, same device); they are not changed."""
        modules = list(modules)
        params, buffers = stack_module_state(modules)
        return cls(copy.deepcopy(modules[0]).to("meta"), params, buffers)

    def substack(self, prefix: str) -> "StackedModules":
        """A new stack of the submodule ``prefix`` (e.g. the encoder of an autoencoder), with
        copies of its current weights and buffers."""
        def take(state: State, grad: bool) -> State:
            return {name[len(prefix) + 1:]: t.detach().clone().requires_grad_(grad)
                    for name, t in state.items() if name.startswith(prefix + ".")}

        return StackedModules(copy.deepcopy(self.template.get_submodule(prefix)),
                              take(self.params, True), take(self.buffers, False))

    def parameters(self, prefix: str | None = None) -> list[torch.Tensor]:
        """The stacked weights (of the submodule ``prefix`` only, when given)."""
        return [t for name, t in self.params.items() if prefix is None or name.startswith(prefix + ".")]

    def train(self, mode: bool = True) -> None:
        self.template.train(mode)

    def bound(self, state: State, prefix: str | None = None) -> Callable[..., Any]:
        """One experiment's network (or its submodule ``prefix``) as a function, for use inside
        :meth:`map`, where ``state`` holds that experiment's rows."""
        module = self.template if prefix is None else self.template.get_submodule(prefix)
        if prefix is not None:
            state = {name[len(prefix) + 1:]: t for name, t in state.items() if name.startswith(prefix + ".")}
        return lambda *args: functional_call(module, state, args)

    def map(self, fn: Callable[..., Any], inputs: Sequence[torch.Tensor], subset: torch.Tensor | None = None,
            prefixes: tuple[str, ...] | None = None) -> Any:
        """``fn(state, *inputs)`` for each experiment (or each of ``subset``), vmapped.

        ``inputs`` have a leading dimension of K (or ``len(subset)``). With a subset the weights
        are gathered (gradients flow back to the stacked rows) and the BatchNorm buffers the call
        updated are written back to their rows. ``prefixes`` limits ``state`` to the submodules
        ``fn`` uses (less to gather).
        """
        def wanted(name: str) -> bool:
            return prefixes is None or name.split(".", 1)[0] in prefixes

        params = {name: t for name, t in self.params.items() if wanted(name)}
        buffers = {name: t for name, t in self.buffers.items() if wanted(name)}
        if subset is None:
            return vmap(fn)({**params, **buffers}, *inputs)
        buffers = {name: t[subset] for name, t in buffers.items()}
        out = vmap(fn)({**{name: t[subset] for name, t in params.items()}, **buffers}, *inputs)
        with torch.no_grad():
            for name, t in buffers.items():
                self.buffers[name][subset] = t
        return out

    def load_into(self, k: int, module: nn.Module, prefix: str | None = None) -> nn.Module:
        """Copy experiment ``k``'s weights and buffers (of the submodule ``prefix``) into
        ``module`` (same structure)."""
        start = 0 if prefix is None else len(prefix) + 1
        state = {name[start:]: t[k].detach() for name, t in {**self.params, **self.buffers}.items()
                 if prefix is None or name.startswith(prefix + ".")}
        module.load_state_dict(state)
        return module


class StackedAdam(torch.optim.Optimizer):
    """``torch.optim.Adam`` (L2 weight decay added to the gradient) on stacked parameters, with a
    step count per experiment; :meth:`step` moves only the experiments of ``subset``.

    Adam's update is elementwise, so on the rows of one experiment it is the update of that
    experiment's own Adam, provided its bias corrections use its own number of steps. A torch
    optimizer with one parameter group, so that torch's learning-rate schedulers drive it.
    """

    def __init__(self, params: Sequence[torch.Tensor], k: int, *, lr: float, betas: tuple[float, float],
                 eps: float, weight_decay: float):
        super().__init__(list(params), dict(lr=float(lr), betas=betas, eps=float(eps), weight_decay=float(weight_decay)))
        device = self.params[0].device
        self.steps = [torch.zeros(k, dtype=torch.float64, device=device) for _ in self.params]
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]

    @property
    def params(self) -> list[torch.Tensor]:
        """The stacked parameters it steps."""
        return self.param_groups[0]["params"]

    @torch.no_grad()
    def step(self, subset: torch.Tensor | None = None) -> None:  # type: ignore[override]
        group = self.param_groups[0]
        lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, (m, v), steps in zip(self.params, self.moments, self.steps):
            if p.grad is None:  # as torch's Adam: a parameter without gradient is not stepped
                continue
            rows = slice(None) if subset is None else subset
            steps[rows] += 1
            step = steps[rows]
            shape = (-1,) + (1,) * (p.dim() - 1)
            param, grad, exp_avg, exp_avg_sq = p[rows], p.grad[rows], m[rows], v[rows]
            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = (lr / (1 - beta1 ** step)).to(p.dtype).view(shape)
            bias_correction2_sqrt = (1 - beta2 ** step).sqrt().to(p.dtype).view(shape)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            param.sub_(step_size * exp_avg / denom)
            if subset is not None:  # advanced indexing copied the rows: write them back
                p[subset], m[subset], v[subset] = param, exp_avg, exp_avg_sq


def train_steps(stack: StackedModules, optimizer: StackedAdam, batches: dict[int, list[torch.Tensor]],
                inputs: Callable[[int, torch.Tensor], tuple[torch.Tensor, ...]],
                loss: Callable[..., torch.Tensor]) -> dict[int, torch.Tensor]:
    """One epoch of optimiser steps for the experiments in ``batches`` (experiment -> its index
    batches, drawn from its own generator); returns each one's loss summed over samples.

    ``inputs(k, idx)`` gives experiment k's tensors for a batch; ``loss(state, *inputs)`` its
    mean loss on them. At step t the experiments that have a t-th batch take part, one vmapped
    call per batch size; the others skip the step (see the module docstring).
    """
    everyone = list(range(stack.k))
    totals = {k: torch.zeros((), device=optimizer.params[0].device) for k in batches}
    for t in range(max((len(b) for b in batches.values()), default=0)):
        by_size: dict[int, list[int]] = defaultdict(list)
        for k, own in batches.items():
            if t < len(own):
                by_size[len(own[t])].append(k)
        for size, ks in by_size.items():
            subset = None if ks == everyone else torch.tensor(ks, device=optimizer.params[0].device)
            parts = [inputs(k, batches[k][t]) for k in ks]
            stacked = [torch.stack(column) for column in zip(*parts)]
            losses = stack.map(loss, stacked, subset)
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step(subset)
            for j, k in enumerate(ks):
                totals[k] += losses[j].detach() * size
    return totals
