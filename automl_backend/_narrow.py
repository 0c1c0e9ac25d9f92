"""narrow_space_around: shrink a search space around a good configuration.

Used to refine a promising result (e.g. when an agent evolves a hypothesis): each
numeric range keeps ``factor`` of its width, centred on the best value (in log space
for log-scaled ranges) and shifted to stay inside the original range; categorical
choices are kept. The result is always a valid space.
"""

from __future__ import annotations

import math
from typing import overload

from automl_backend._distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Scalar,
)
from automl_backend._errors import SpecError
from automl_backend._spec import ExperimentSpec, ModelSpace, TrialConfig


def _narrow_range(low: float, high: float, value: float, factor: float, log: bool) -> tuple[float, float]:  # fmt: skip
    to = math.log if log else float
    back = math.exp if log else float
    lo, hi, centre = to(low), to(high), to(min(max(value, low), high))
    half = (hi - lo) * factor / 2.0
    new_lo, new_hi = centre - half, centre + half
    if new_lo < lo:
        new_lo, new_hi = lo, lo + 2 * half
    if new_hi > hi:
        new_lo, new_hi = hi - 2 * half, hi
    # exp(log(x)) drifts by an ulp; clamp so the result never leaves the original range.
    return max(back(new_lo), low), min(back(new_hi), high)


def narrow_distribution(dist: Distribution, value: Scalar, factor: float) -> Distribution:
    """``dist`` narrowed to ``factor`` of its width around ``value``."""
    if isinstance(dist, CategoricalDistribution) or value is None or isinstance(value, str | bool):
        return dist
    if isinstance(dist, IntDistribution):
        lo, hi = _narrow_range(dist.low, dist.high, float(value), factor, dist.log)
        new_lo = max(dist.low, math.floor(lo))
        new_hi = min(dist.high, math.ceil(hi))
        return IntDistribution(low=new_lo, high=max(new_lo, new_hi), log=dist.log)
    assert isinstance(dist, FloatDistribution)
    lo, hi = _narrow_range(dist.low, dist.high, float(value), factor, dist.log)
    return FloatDistribution(low=lo, high=hi, log=dist.log)


def _narrow_model(space: ModelSpace, best: TrialConfig, factor: float, task: str | None) -> ModelSpace:  # fmt: skip
    if space.family != best.family:
        raise SpecError(
            f"cannot narrow a {space.family} space around a {best.family} configuration"
        )
    resolved = space.resolved(task)
    narrowed = dict(space.params)
    for name, value in best.params.items():
        dist = resolved.get(name)
        if dist is not None and not isinstance(dist, CategoricalDistribution):
            narrowed[name] = narrow_distribution(dist, value, factor)
    return ModelSpace(family=space.family, params=narrowed)


@overload
def narrow_space_around(
    space: ExperimentSpec, best_config: TrialConfig, factor: float = 0.5
) -> ExperimentSpec: ...
@overload
def narrow_space_around(
    space: ModelSpace, best_config: TrialConfig, factor: float = 0.5
) -> ModelSpace: ...
def narrow_space_around(
    space: ExperimentSpec | ModelSpace, best_config: TrialConfig, factor: float = 0.5
) -> ExperimentSpec | ModelSpace:
    """Narrow ``space`` around ``best_config``; ``0 < factor <= 1`` is the kept width share.

    For a :class:`ModelSpace` the family must match. For an :class:`ExperimentSpec`
    the result searches only the best configuration's family (the numeric ranges of
    the hyperparameters set in ``best_config`` narrowed, the rest as in the spec),
    keeps the preprocessing choices, and tries ``best_config`` first (warm start). The input is never modified.
    """
    if not 0 < factor <= 1:
        raise SpecError(f"factor must be in (0, 1], got {factor}")
    if isinstance(space, ModelSpace):
        return _narrow_model(space, best_config, factor, None)
    task = None if space.task == "auto" else space.task
    existing = {m.family: m for m in space.models}
    base = existing.get(best_config.family, ModelSpace(family=best_config.family))
    if space.models and best_config.family not in existing:
        raise SpecError(
            f"best configuration's family {best_config.family!r} is not in the spec's "
            f"families ({', '.join(existing)})"
        )
    narrowed = _narrow_model(base, best_config, factor, task)
    warm = [best_config, *(c for c in space.warm_start if c != best_config)]
    return space.model_copy(update={"models": [narrowed], "warm_start": warm}, deep=True)
