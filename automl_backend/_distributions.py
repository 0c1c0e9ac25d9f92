"""Hyperparameter distributions: the three shapes a searched value can take.

A log-float is a :class:`FloatDistribution` with ``log=True``. The ``type`` field is
the discriminator, so JSON/YAML specs say which shape they mean explicitly.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | float | bool | None
"""A value a categorical choice or a fixed hyperparameter may take."""


class IntDistribution(BaseModel):
    """Integers in ``[low, high]``, sampled uniformly or on a log scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False

    @model_validator(mode="after")
    def _check_bounds(self) -> IntDistribution:
        if self.low > self.high:
            raise ValueError(f"int range has low {self.low} > high {self.high}")
        if self.log and self.low < 1:
            raise ValueError(f"a log-scaled int range needs low >= 1, got {self.low}")
        return self

    def contains(self, value: Scalar) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


class FloatDistribution(BaseModel):
    """Floats in ``[low, high]``; ``log=True`` samples the logarithm uniformly."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _check_bounds(self) -> FloatDistribution:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("float range bounds must be finite")
        if self.low > self.high:
            raise ValueError(f"float range has low {self.low} > high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scaled float range needs low > 0, got {self.low}")
        return self

    def contains(self, value: Scalar) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


class CategoricalDistribution(BaseModel):
    """One of a fixed list of choices (strings, numbers, booleans or null)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["categorical"] = "categorical"
    choices: list[Scalar] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_unique(self) -> CategoricalDistribution:
        seen: list[Scalar] = []
        for choice in self.choices:
            # bool is an int in Python: compare with the type so True and 1 stay distinct.
            if any(type(c) is type(choice) and c == choice for c in seen):
                raise ValueError(f"categorical choices repeat {choice!r}")
            seen.append(choice)
        return self

    def contains(self, value: Scalar) -> bool:
        return any(type(c) is type(value) and c == value for c in self.choices)


Distribution = Annotated[
    IntDistribution | FloatDistribution | CategoricalDistribution,
    Field(discriminator="type"),
]
"""Any of the three distribution shapes, told apart by ``type``."""
