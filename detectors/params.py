"""Declarative parameter rules, checked when ``fit`` runs (scikit-learn's convention).

A detector lists its rules in ``_parameter_constraints``; ``validate_params`` checks them all
and raises one message template that names the parameter, what is allowed and what it got.
scikit-learn has an equivalent, but only in a private module, so the suite keeps this small copy
of the idea.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Interval:
    """A real or integral range; ``None`` bounds are open-ended."""

    kind: type  # numbers.Integral or numbers.Real
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        lo_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        hi_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return lo_ok and hi_ok

    def __str__(self) -> str:
        name = "an int" if self.kind is numbers.Integral else "a float"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{name} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: frozenset

    def __init__(self, values: Iterable[Any]):
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=str))


class DeviceSpec:
    """'auto', 'cpu', 'cuda' or 'cuda:<index>'."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value in ("auto", "cpu", "cuda"):
            return True
        head, _, index = value.partition(":")
        return head == "cuda" and index.isdigit()

    def __str__(self) -> str:
        return "'auto', 'cpu', 'cuda' or 'cuda:<index>'"


@dataclass(frozen=True)
class IntTuple:
    """A tuple or list of ints >= 1 with at least ``min_len`` entries (widths, epoch milestones)."""

    min_len: int = 0
    what: str = "ints >= 1"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (tuple, list)) and len(value) >= self.min_len and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value)

    def __str__(self) -> str:
        least = f" (at least {self.min_len})" if self.min_len else ""
        return f"a tuple of {self.what}{least}"


class IsNone:
    def accepts(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class IsBool:
    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def __str__(self) -> str:
        return "a bool"


def validate_params(owner: str, params: dict[str, Any], constraints: dict[str, list]) -> None:
    """Raise ``ValueError`` for the first parameter that no rule of its list accepts."""
    for name, rules in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if not any(rule.accepts(value) for rule in rules):
            allowed = " or ".join(str(rule) for rule in rules)
            raise ValueError(f"The '{name}' parameter of {owner} must be {allowed}. Got {value!r} instead.")
