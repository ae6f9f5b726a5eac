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

Two ways to run the K copies, chosen by :func:`choose_strategy` (measured, see there):

- ``"vmap"``: one vmapped call; each layer runs once for all K copies (a linear layer becomes a
  batched matrix product, a convolution a grouped convolution). Pays where per-call overhead
  dominates: on a GPU, and on CPU for the small MLPs of tables.
- ``"loop"``: the same call made once per copy, on that copy's rows of the stacked tensors (views:
  gradients and BatchNorm updates land in the stacks), outputs stacked. Each convolution is then
  the ordinary single-experiment kernel. On CPU, where convolutions are compute-bound and torch's
  grouped-convolution backward pass is slow, this costs what K separate fits cost and no more;
  everything else (the stacked optimiser, the masking, the per-experiment bookkeeping) is shared.
"""
from __future__ import annotations

import copy
import os
from collections import defaultdict
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

State = dict[str, torch.Tensor]

#: Environment variable that forces one way of running the copies ("vmap" or "loop"), for tests
#: and measurements; unset or "auto": :func:`choose_strategy` decides.
STRATEGY_ENV = "BENCH_STACK_STRATEGY"
STRATEGIES = ("vmap", "loop")
_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def choose_strategy(modules: Sequence[nn.Module]) -> str:
    """``"loop"`` for networks with convolutions on CPU, ``"vmap"`` otherwise (or what
    :data:`STRATEGY_ENV` forces).

    Why: on CPU, nine Deep SAD experiments of an MNIST cell vmapped cost 1.84x (autoencoder) and
    2.80x (training) the CPU time of nine single epochs (``python -m benchmark.perf --k 1,9``;
    the grouped convolutions' backward pass), while nine tabular experiments vmapped cost
    0.30-0.52x (``benchmarks/batched_speed.py --dataset cardio``). The loop's figures are in
    the README (Timings).
    """
    forced = os.environ.get(STRATEGY_ENV, "auto")
    if forced in STRATEGIES:
        return forced
    if forced != "auto":
        raise ValueError(f"{STRATEGY_ENV} must be one of auto, {', '.join(STRATEGIES)}; got {forced!r}")
    on_cpu = all(p.device.type == "cpu" for m in modules for p in m.parameters())
    has_conv = any(isinstance(layer, _CONVOLUTIONS) for m in modules for layer in m.modules())
    return "loop" if on_cpu and has_conv else "vmap"


def _stack_outputs(outputs: list[Any]) -> Any:
    """The per-copy outputs of the loop stacked along a new first dimension, as vmap returns them
    (tensors, and tuples, lists or dicts of them)."""
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(outputs)
    if isinstance(first, dict):
        return {key: _stack_outputs([o[key] for o in outputs]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_outputs(list(column)) for column in zip(*outputs))
    raise TypeError(f"cannot stack outputs of type {type(first).__name__}")


def _rows_like_modules(stacked: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """``stacked`` (a new leaf) laid out so that each row has the strides of ``original``:
    ``torch.stack`` makes every row contiguous, and a channels-last weight that becomes contiguous
    sends its convolution, and every layer after it, to the NCHW kernels (in the loop over nine
    MNIST Deep SAD nets, NCHW max-pooling took 3.6 ms a call against 0.9 ms; torch profiler).
    Strides are compared as numbers, since a (8, 1, 5, 5) weight is both contiguous and
    channels-last to ``is_contiguous`` but not to the kernel choice."""
    shape, strides = tuple(original.shape), tuple(original.stride())
    n = original.numel()
    dense = 1 + sum((d - 1) * st for d, st in zip(shape, strides)) == n
    if not dense or strides == torch.empty(shape, device="meta").stride():
        return stacked
    laid = torch.empty_strided((len(stacked), *shape), (n, *strides), dtype=stacked.dtype, device=stacked.device)
    laid.copy_(stacked.detach())
    return laid.requires_grad_(stacked.requires_grad)


class StackedModules:
    """K networks of one architecture as stacked tensors, callable together or by subset."""

    def __init__(self, template: nn.Module, params: State, buffers: State, strategy: str = "vmap"):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
        self.template = template  # on the meta device: structure and train/eval flag only
        self.params = params      # name -> (K, ...) leaf tensor that requires grad
        self.buffers = buffers    # name -> (K, ...) tensor (BatchNorm statistics)
        self.strategy = strategy  # how map runs the copies (module docstring)
        self.k = len(next(iter(params.values())))

    @classmethod
    def stack(cls, modules: Sequence[nn.Module], strategy: str | None = None) -> "StackedModules":
        """Stack ``modules`` (same structure, same device); they are not changed. ``strategy``:
        "vmap" or "loop"; None lets :func:`choose_strategy` decide."""
        modules = list(modules)
        strategy = choose_strategy(modules) if strategy is None else strategy
        params, buffers = stack_module_state(modules)
        if strategy == "loop":
            originals = dict(modules[0].named_parameters())
            params = {name: _rows_like_modules(t, originals[name]) for name, t in params.items()}
        return cls(copy.deepcopy(modules[0]).to("meta"), params, buffers, strategy)

    def substack(self, prefix: str) -> "StackedModules":
        """A new stack of the submodule ``prefix`` (e.g. the encoder of an autoencoder), with
        copies of its current weights and buffers."""
        def take(state: State, grad: bool) -> State:
            return {name[len(prefix) + 1:]: t.detach().clone().requires_grad_(grad)
                    for name, t in state.items() if name.startswith(prefix + ".")}

        return StackedModules(copy.deepcopy(self.template.get_submodule(prefix)),
                              take(self.params, True), take(self.buffers, False), self.strategy)

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
        if self.strategy == "loop":
            return self._loop(fn, inputs, subset, {**params, **buffers})
        if subset is None:
            return vmap(fn)({**params, **buffers}, *inputs)
        buffers = {name: t[subset] for name, t in buffers.items()}
        out = vmap(fn)({**{name: t[subset] for name, t in params.items()}, **buffers}, *inputs)
        with torch.no_grad():
            for name, t in buffers.items():
                self.buffers[name][subset] = t
        return out

    def _loop(self, fn: Callable[..., Any], inputs: Sequence[torch.Tensor], subset: torch.Tensor | None,
              state: State) -> Any:
        """:meth:`map` one copy at a time: each call gets its rows of the stacks as views (one
        ``unbind`` per tensor, whose backward pass stacks the rows' gradients once)."""
        rows = {name: t.unbind(0) for name, t in state.items()}
        which = range(self.k) if subset is None else subset.tolist()
        outputs = [fn({name: r[k] for name, r in rows.items()}, *(x[j] for x in inputs)) for j, k in enumerate(which)]
        return _stack_outputs(outputs)

    def load_into(self, k: int, module: nn.Module, prefix: str | None = None) -> nn.Module:
        """Copy experiment ``k``'s weights and buffers (of the submodule ``prefix``) into
        ``module`` (same structure)."""
        start = 0 if prefix is None else len(prefix) + 1
        state = {name[start:]: t[k].detach() for name, t in {**self.params, **self.buffers}.items()
                 if prefix is None or name.startswith(prefix + ".")}
        module.load_state_dict(state)
        return module


class StackedAdam:
    """``torch.optim.Adam`` (L2 weight decay added to the gradient) on stacked parameters, with a
    step count per experiment; :meth:`step` moves only the experiments of ``subset``.

    Adam's update is elementwise, so on the rows of one experiment it is the update of that
    experiment's own Adam, provided its bias corrections use its own number of steps.
    """

    def __init__(self, params: Sequence[torch.Tensor], k: int, *, lr: float, betas: tuple[float, float],
                 eps: float, weight_decay: float):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), betas, float(eps), float(weight_decay)
        device = self.params[0].device
        self.steps = [torch.zeros(k, dtype=torch.float64, device=device) for _ in self.params]
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, subset: torch.Tensor | None = None) -> None:
        beta1, beta2 = self.betas
        for p, (m, v), steps in zip(self.params, self.moments, self.steps):
            if p.grad is None:  # as torch's Adam: a parameter without gradient is not stepped
                continue
            rows = slice(None) if subset is None else subset
            steps[rows] += 1
            step = steps[rows]
            shape = (-1,) + (1,) * (p.dim() - 1)
            param, grad, exp_avg, exp_avg_sq = p[rows], p.grad[rows], m[rows], v[rows]
            if self.weight_decay != 0:
                grad = grad.add(param, alpha=self.weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = (self.lr / (1 - beta1 ** step)).to(p.dtype).view(shape)
            bias_correction2_sqrt = (1 - beta2 ** step).sqrt().to(p.dtype).view(shape)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
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
