"""Between spec spaces and Optuna: suggest a TrialConfig, flatten one back for enqueueing.

Optuna parameter names: ``family``, ``<family>.<hyperparameter>`` and the
preprocessing names (``imputation``, ``scaling``, ``encoding``, ``feature_selection``,
``kbest_fraction``). A name is only suggested when it has more than one possible value
and matters for the data (e.g. ``encoding`` only with categorical columns).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl_backend._distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Scalar,
)
from automl_backend._spec import PreprocessingConfig, PreprocessingSpace, TrialConfig


@dataclass(frozen=True)
class ResolvedSpace:
    """The resolved space of one experiment on one data set."""

    models: dict[str, dict[str, Distribution]]
    preprocessing: PreprocessingSpace
    has_categorical: bool
    has_missing: bool
    grid_points: int | None = None
    """Set for grid search: numeric ranges become this many categorical values."""

    def preprocessing_choices(self) -> dict[str, list[Any]]:
        """Preprocessing names with the choices worth searching for this data."""
        pre = self.preprocessing
        choices: dict[str, list[Any]] = {
            "imputation": list(pre.imputation) if self.has_missing else [pre.imputation[0]],
            "scaling": list(pre.scaling),
            "encoding": list(pre.encoding) if self.has_categorical else [pre.encoding[0]],
            "feature_selection": list(pre.feature_selection),
            "oversampling": list(pre.oversampling),
        }
        return choices

    def grid_values(self, dist: Distribution) -> list[Scalar]:
        assert self.grid_points is not None
        if isinstance(dist, CategoricalDistribution):
            return list(dist.choices)
        if dist.low == dist.high:
            return [dist.low]
        if dist.log:
            raw = np.geomspace(dist.low, dist.high, self.grid_points)
        else:
            raw = np.linspace(dist.low, dist.high, self.grid_points)
        if isinstance(dist, IntDistribution):
            return sorted({round(float(v)) for v in raw})
        return [float(f"{v:.6g}") for v in raw]


def _suggest(trial: Any, key: str, dist: Distribution, space: ResolvedSpace) -> Scalar:
    if space.grid_points is not None and not isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, space.grid_values(dist))
    if isinstance(dist, CategoricalDistribution):
        if len(dist.choices) == 1:
            return dist.choices[0]
        return trial.suggest_categorical(key, dist.choices)
    if dist.low == dist.high:
        return dist.low
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(key, dist.low, dist.high, log=dist.log)


def suggest_config(trial: Any, space: ResolvedSpace) -> TrialConfig:
    """Ask ``trial`` for a family, its hyperparameters and the preprocessing."""
    families = list(space.models)
    family = families[0] if len(families) == 1 else trial.suggest_categorical("family", families)
    params = {
        name: _suggest(trial, f"{family}.{name}", dist, space)
        for name, dist in space.models[family].items()
    }
    chosen: dict[str, Any] = {}
    for name, choices in space.preprocessing_choices().items():
        chosen[name] = choices[0] if len(choices) == 1 else trial.suggest_categorical(name, choices)
    if chosen["feature_selection"] == "kbest":
        chosen["kbest_fraction"] = _suggest(
            trial, "kbest_fraction", space.preprocessing.kbest_fraction, space
        )
    return TrialConfig(family=family, params=params, preprocessing=PreprocessingConfig(**chosen))


_UNFIT: Any = object()
"""Marks a value that cannot be represented in a distribution (None is a real choice)."""


def _fit_value(value: Scalar, dist: Distribution, space: ResolvedSpace) -> Any:
    """``value`` moved inside ``dist`` (``_UNFIT`` when it cannot be represented)."""
    if space.grid_points is not None and not isinstance(dist, CategoricalDistribution):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _UNFIT
        grid = space.grid_values(dist)
        distance = [
            abs(math.log(float(value) / float(g))) if dist.log and value > 0 else abs(value - g)  # type: ignore[operator]
            for g in grid
        ]
        return grid[int(np.argmin(distance))]
    if isinstance(dist, CategoricalDistribution):
        return value if dist.contains(value) else _UNFIT
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _UNFIT
    clipped = min(max(value, dist.low), dist.high)
    if isinstance(dist, IntDistribution):
        return round(clipped)
    assert isinstance(dist, FloatDistribution)
    return float(clipped)


def flatten_config(config: TrialConfig, space: ResolvedSpace) -> dict[str, Any] | None:
    """Optuna parameters that make a trial use ``config`` (clipped into the space).

    None when the family is not searched. Hyperparameters the config leaves out, or
    whose value cannot be represented, are left to the sampler.
    """
    if config.family not in space.models:
        return None
    flat: dict[str, Any] = {"family": config.family}
    for name, dist in space.models[config.family].items():
        if name in config.params:
            value = _fit_value(config.params[name], dist, space)
            if value is not _UNFIT:
                flat[f"{config.family}.{name}"] = value
    pre = config.preprocessing.model_dump()
    for name, choices in space.preprocessing_choices().items():
        if pre[name] in choices:
            flat[name] = pre[name]
    if pre.get("kbest_fraction") is not None:
        value = _fit_value(pre["kbest_fraction"], space.preprocessing.kbest_fraction, space)
        if value is not _UNFIT:
            flat["kbest_fraction"] = value
    return flat


def grid_points_iter(space: ResolvedSpace) -> Iterator[dict[str, Any]]:
    """Every grid point as flat Optuna parameters (family by family)."""
    pre_names = list(space.preprocessing_choices())
    for family, dists in space.models.items():
        names = list(dists)
        values = [space.grid_values(dists[n]) for n in names]
        pre_values = [space.preprocessing_choices()[n] for n in pre_names]
        for combo in itertools.product(*values, *pre_values):
            flat: dict[str, Any] = {"family": family}
            flat.update(
                {f"{family}.{n}": v for n, v in zip(names, combo[: len(names)], strict=True)}
            )
            flat.update(dict(zip(pre_names, combo[len(names) :], strict=True)))
            if flat["feature_selection"] == "kbest":
                for fraction in space.grid_values(space.preprocessing.kbest_fraction):
                    yield {**flat, "kbest_fraction": fraction}
            else:
                yield flat
