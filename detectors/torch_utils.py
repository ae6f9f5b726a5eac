"""Small torch helpers shared by the deep detectors: devices, local seeding, batching."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import numpy as np
import torch


def resolve_device(spec: str) -> torch.device:
    """'auto' is the first GPU when one is visible, else the CPU; an unavailable GPU is an error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} was asked for, but torch sees no CUDA device here; use 'cpu' or 'auto'")
    return device


def seed_from(random_state: int | None) -> int:
    """A concrete seed: ``random_state`` itself, or a fresh one when it is None."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(random_state) % (2**63 - 1)


@contextlib.contextmanager
def torch_seed(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch's global generators for the block only, restoring them afterwards.

    Layer initialisation in torch draws from the global generator; forking it keeps a detector's
    weights a function of its own seed without touching anyone else's random state.
    """
    devices = [device] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def frozen(*modules: torch.nn.Module) -> Iterator[None]:
    """No weight gradients for ``modules`` for what is computed inside the block (inputs still
    get theirs): autograd records ``requires_grad`` when the forward pass runs."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def minibatch_indices(n: int, batch_size: int, generator: torch.Generator, device: torch.device,
                      drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Shuffled index batches over ``n`` samples, drawn with a local generator."""
    order = torch.randperm(n, generator=generator).to(device)
    stop = n - (n % batch_size) if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


#: The smallest training batch: train-mode BatchNorm cannot normalise a single sample.
MIN_TRAIN_BATCH = 2


def training_batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """One epoch's shuffled index batches (:func:`minibatch_indices`), the last incomplete batch
    kept unless it holds fewer than :data:`MIN_TRAIN_BATCH` samples."""
    for idx in minibatch_indices(n, batch_size, generator, device):
        if len(idx) >= MIN_TRAIN_BATCH:
            yield idx


def batched_inference(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Apply ``fn`` over ``X`` in batches under inference mode; returns a float64 numpy array."""
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            outputs.append(fn(X[start:start + batch_size]).float().cpu())
    return torch.cat(outputs).double().numpy()


def use_channels_last(*modules: torch.nn.Module) -> None:
    """Store the 4-d weights of ``modules`` channels-last (in place), for image inputs.

    Convolutions then run in oneDNN's (CPU) or cuDNN's (GPU) channels-last kernels, and every
    activation they produce, and so BatchNorm and max-pooling, stays in that layout. Inputs need
    no conversion: a convolution with channels-last weights takes its input in that layout.
    Values change only by float rounding (other kernels sum in another order).
    """
    for module in modules:
        module.to(memory_format=torch.channels_last)


def to_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """The whole array on the training device once: no per-batch host-to-device copies."""
    return torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=device)


def step_on_terms(optimizer: torch.optim.Optimizer, terms: dict[str, torch.Tensor],
                  clip_norm: float | None = None) -> dict[str, float]:
    """One optimizer step on the sum of named loss terms (gradient norm clipped to ``clip_norm``
    over the optimizer's parameters when given); returns each term's value."""
    loss = sum(terms.values())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], clip_norm)
    optimizer.step()
    return {name: float(value.detach()) for name, value in terms.items()}


def mean_over_steps(n_steps: int, step: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Run ``step`` ``n_steps`` times; the mean of each value it returns (an epoch's losses)."""
    totals: dict[str, float] = {}
    for _ in range(n_steps):
        for name, value in step().items():
            totals[name] = totals.get(name, 0.0) + value / n_steps
    return totals
