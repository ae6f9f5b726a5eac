"""Bring training data into [0, 1] for the detectors whose model needs it, without clipping.

SS-DGM's Bernoulli likelihood is defined for x in [0, 1] only, and NDA's generator ends in a
sigmoid, so real samples outside [0, 1] would be told apart from generated ones by their range
alone. Clipping every input to [0, 1] would silently change the user's data: on standardised
features many rows become identical, their scores tie, ``threshold_`` equals the maximum score
and nothing is flagged.

So, with ``rescale="auto"`` (the default), data already in [0, 1] (images, the runner's
min-max-scaled tables) is used as it is, and any other training data gets a per-feature min-max
map fitted on the training set and stored on the detector, so that scoring applies the same map.
Test data may fall outside [0, 1] after that map; it is *not* clipped: the networks that score it
(SS-DGM's classifier, NDA's discriminator) accept any real input. ``rescale="off"`` refuses
training data outside [0, 1] with a message saying what to do.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .params import Options

RANGE_TOL = 1e-6  # float32 rounding of min-max-scaled data may overshoot [0, 1] by this much
RESCALE_OPTIONS = Options({"auto", "off"})


@dataclass(frozen=True)
class UnitRangeMap:
    """x -> (x - low) / span, per feature (identity when ``low`` is None)."""

    low: torch.Tensor | None = None
    span: torch.Tensor | None = None

    @property
    def is_identity(self) -> bool:
        return self.low is None

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        if self.low is None:
            return X
        return (X - self.low.to(X.device)) / self.span.to(X.device)


def fit_unit_range(X: torch.Tensor, rescale: str, owner: str) -> UnitRangeMap:
    """The map that brings training data ``X`` into [0, 1] (see the module docstring)."""
    lo, hi = float(X.min()), float(X.max())
    if lo >= -RANGE_TOL and hi <= 1.0 + RANGE_TOL:
        return UnitRangeMap()
    if rescale == "off":
        raise ValueError(
            f"{owner} needs training data in [0, 1] (its model is defined there) and got values in "
            f"[{lo:.4g}, {hi:.4g}]; scale it first (e.g. sklearn's MinMaxScaler fitted on the training "
            f"data) or use rescale='auto' to let {owner} fit and keep such a map itself"
        )
    low = X.min(dim=0).values
    span = X.max(dim=0).values - low
    span = torch.where(span > 0, span, torch.ones_like(span))  # a constant feature maps to 0
    return UnitRangeMap(low.detach().clone(), span.detach().clone())
