"""Deep SAD's bias-free MLP encoder and decoder for tabular data (the ODDS sets).

Each hidden layer is Linear (no bias) → BatchNorm1d (no affine, eps 1e-4) → leaky ReLU 0.01; the
code layer is a bias-free Linear. No biases for the same reason as in :mod:`.lenet` (a bias lets
Deep SAD collapse onto its centre). The decoder mirrors the hidden sizes and ends in a sigmoid,
since the tabular protocol min-max scales the features to [0, 1] on the training part.
Sizes come from :func:`detectors.networks.arch.mlp_sizes`.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .lenet import BN_EPS, LEAKY_SLOPE


def _hidden_block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, n_out, bias=False),
        nn.BatchNorm1d(n_out, eps=BN_EPS, affine=False),
        nn.LeakyReLU(LEAKY_SLOPE),
    )


class MLPEncoder(nn.Module):
    """x_dim → hidden[0] → … → hidden[-1] → rep_dim (linear code)."""

    def __init__(self, x_dim: int, hidden: Sequence[int], rep_dim: int):
        super().__init__()
        sizes = [x_dim, *hidden]
        self.hidden = nn.Sequential(*(_hidden_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.code = nn.Linear(sizes[-1], rep_dim, bias=False)
        self.rep_dim = rep_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.code(self.hidden(x.flatten(1)))


class MLPDecoder(nn.Module):
    """rep_dim → hidden[-1] → … → hidden[0] → x_dim → sigmoid."""

    def __init__(self, x_dim: int, hidden: Sequence[int], rep_dim: int):
        super().__init__()
        sizes = [rep_dim, *reversed(tuple(hidden))]
        self.hidden = nn.Sequential(*(_hidden_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.reconstruction = nn.Linear(sizes[-1], x_dim, bias=False)
        self.rep_dim = rep_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.reconstruction(self.hidden(z)))
