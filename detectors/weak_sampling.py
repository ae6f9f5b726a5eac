"""Mini-batches for the weakly-supervised detectors (DevNet, PReNet, FEAWAD).

Their papers do not pass over the data in epochs: an "epoch" is a fixed number of mini-batches,
each drawn with replacement so that collected anomalies, a percent or less of the training set,
make up a fixed share of every batch (half for DevNet and FEAWAD). This module draws those index
batches with the detector's own ``torch.Generator``, so a fit depends on its seed alone.
"""
from __future__ import annotations

import torch


def draw(pool: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``k`` entries of ``pool`` drawn uniformly with replacement."""
    picks = torch.randint(len(pool), (k,), generator=generator)
    return pool[picks.to(pool.device)]


def label_pools(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices of the collected anomalies (y == 1) and of the unlabelled rows (y == 0)."""
    return torch.nonzero(y == 1).flatten(), torch.nonzero(y == 0).flatten()


def balanced_batch(anomalies: torch.Tensor, unlabelled: torch.Tensor, batch_size: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices and 0/1 labels of a batch that is half unlabelled, half collected anomalies."""
    n_anomalies = batch_size // 2
    idx = torch.cat([draw(unlabelled, batch_size - n_anomalies, generator), draw(anomalies, n_anomalies, generator)])
    labels = torch.cat([torch.zeros(batch_size - n_anomalies), torch.ones(n_anomalies)]).to(idx.device)
    return idx, labels
