"""Search spaces and configurations: what a spec may say about models and preprocessing.

Every hyperparameter distribution is checked against the registry's limits here, so a
space can only name registered families and hyperparameters with legal values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from automl_backend._distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Scalar,
)
from automl_backend._registry import (
    FAMILY_NAMES,
    REGISTRY,
    HyperParameter,
    default_space,
    task_kind,
)

FamilyName = Literal[FAMILY_NAMES]  # type: ignore[valid-type]
"""Exactly the registered family names (an enum in every JSON schema)."""
Imputation = Literal["mean", "median", "most_frequent"]
Scaling = Literal["auto", "none", "standard", "robust", "minmax", "quantile"]
"""``auto``: standard scaling for scale-sensitive families, none for trees."""
Encoding = Literal["auto", "onehot", "ordinal", "target"]
"""``auto``: one-hot for scale-sensitive families, ordinal codes for trees."""
FeatureSelection = Literal["none", "kbest"]
Oversampling = Literal["none", "smote"]
"""``smote``: synthetic minority rows in each training fold (classification only)."""


def _strict() -> ConfigDict:
    """Spec models refuse unknown keys: a typo must not be silently ignored."""
    return ConfigDict(extra="forbid")


# ---------------------------------------------------------------- value checks


def accepts(hp: HyperParameter, value: Scalar) -> bool:
    """Whether ``value`` is a legal setting of ``hp`` (type and registry limits)."""
    if hp.kind == "categorical":
        return any(type(c) is type(value) and c == value for c in hp.choices)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if hp.kind == "int" and not isinstance(value, int):
        return False
    assert hp.low is not None and hp.high is not None
    return hp.low <= value <= hp.high


def _valid_names(family: str) -> str:
    return ", ".join(REGISTRY[family].hyperparameters)


def check_distribution(family: str, name: str, dist: Distribution) -> None:
    """Raise ValueError unless ``dist`` fits hyperparameter ``name`` of ``family``."""
    params = REGISTRY[family].hyperparameters
    if name not in params:
        raise ValueError(
            f"unknown hyperparameter {name!r} for {family}; valid: {_valid_names(family)}"
        )
    hp = params[name]
    where = f"{family}.{name}"
    if isinstance(dist, CategoricalDistribution):
        bad = [c for c in dist.choices if not accepts(hp, c)]
        if bad:
            raise ValueError(f"{where}: choices {bad} outside its limits ({hp.limits_text()})")
        return
    if hp.kind == "categorical":
        raise ValueError(
            f"{where} is categorical; use type 'categorical' with choices from {list(hp.choices)}"
        )
    if hp.kind == "int" and not isinstance(dist, IntDistribution):
        raise ValueError(f"{where} is an integer; use type 'int' ({hp.limits_text()})")
    if hp.kind == "float" and not isinstance(dist, FloatDistribution):
        raise ValueError(f"{where} is a float; use type 'float' ({hp.limits_text()})")
    assert hp.low is not None and hp.high is not None
    if dist.low < hp.low or dist.high > hp.high:
        raise ValueError(
            f"{where}: bounds [{dist.low}, {dist.high}] outside the limits ({hp.limits_text()})"
        )


# ---------------------------------------------------------------- spaces


class ModelSpace(BaseModel):
    """One model family and the distributions of its hyperparameters.

    Hyperparameters left out are searched over the registry's default space; give a
    one-choice categorical (or ``low == high``) to fix a value.
    """

    model_config = _strict()
    family: FamilyName
    params: dict[str, Distribution] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_params(self) -> ModelSpace:
        for name, dist in self.params.items():
            check_distribution(self.family, name, dist)
        return self

    def resolved(self, task: str | None = None) -> dict[str, Distribution]:
        """Default space overlaid with this space's own distributions, for ``task``."""
        space = default_space(self.family, task)
        allowed = REGISTRY[self.family].hyperparameters
        kind = None if task in (None, "auto") else task_kind(task)
        for name, dist in self.params.items():
            if kind is None or kind in allowed[name].tasks:
                space[name] = dist
        return space


def _unique(values: list[Any], field: str) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError(f"{field} lists a choice twice: {values}")
    return values


class PreprocessingSpace(BaseModel):
    """Preprocessing choices searched together with the model (one choice = fixed)."""

    model_config = _strict()
    imputation: list[Imputation] = Field(default_factory=lambda: ["median"], min_length=1)
    scaling: list[Scaling] = Field(default_factory=lambda: ["auto"], min_length=1)
    encoding: list[Encoding] = Field(default_factory=lambda: ["auto"], min_length=1)
    feature_selection: list[FeatureSelection] = Field(
        default_factory=lambda: ["none"], min_length=1
    )
    kbest_fraction: FloatDistribution = FloatDistribution(low=0.2, high=1.0)
    """Share of features kept by ``kbest`` (univariate F-test ranking)."""
    oversampling: list[Oversampling] = Field(default_factory=lambda: ["none"], min_length=1)
    """``smote`` oversamples every smaller class to the largest one's size, in ``fit`` only
    (so only training folds and the final refit); classification only."""

    @field_validator("imputation", "scaling", "encoding", "feature_selection", "oversampling")
    @classmethod
    def _no_repeats(cls, values: list[Any], info: Any) -> list[Any]:
        return _unique(values, info.field_name)

    @field_validator("kbest_fraction")
    @classmethod
    def _fraction(cls, dist: FloatDistribution) -> FloatDistribution:
        if dist.low <= 0 or dist.high > 1:
            raise ValueError("kbest_fraction must lie in (0, 1]")
        return dist


class PreprocessingConfig(BaseModel):
    """One concrete preprocessing choice (what a trial used)."""

    model_config = _strict()
    imputation: Imputation = "median"
    scaling: Scaling = "auto"
    encoding: Encoding = "auto"
    feature_selection: FeatureSelection = "none"
    kbest_fraction: float | None = Field(default=None, gt=0, le=1)
    oversampling: Oversampling = "none"


class TrialConfig(BaseModel):
    """One concrete configuration: a family, its hyperparameter values, preprocessing.

    Used for warm starts, best configurations and ensemble members.
    """

    model_config = _strict()
    family: FamilyName
    params: dict[str, Scalar] = Field(default_factory=dict)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)

    @model_validator(mode="after")
    def _check_values(self) -> TrialConfig:
        known = REGISTRY[self.family].hyperparameters
        for name, value in self.params.items():
            if name not in known:
                raise ValueError(
                    f"unknown hyperparameter {name!r} for {self.family}; "
                    f"valid: {_valid_names(self.family)}"
                )
            if not accepts(known[name], value):
                raise ValueError(
                    f"{self.family}.{name}={value!r} outside its limits "
                    f"({known[name].limits_text()})"
                )
        return self
