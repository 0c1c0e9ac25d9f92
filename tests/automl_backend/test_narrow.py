"""narrow_space_around: shrinking spaces around a good configuration."""

from __future__ import annotations

import math

import pytest

from automl_backend import (
    CategoricalDistribution,
    ExperimentSpec,
    FloatDistribution,
    IntDistribution,
    ModelSpace,
    SpecError,
    TrialConfig,
    narrow_space_around,
)
from automl_backend._narrow import narrow_distribution


def test_linear_range_is_centred_and_scaled() -> None:
    narrowed = narrow_distribution(FloatDistribution(low=0.0, high=1.0), 0.5, 0.2)
    assert narrowed.low == pytest.approx(0.4) and narrowed.high == pytest.approx(0.6)


def test_range_shifts_to_stay_inside_at_the_edge() -> None:
    narrowed = narrow_distribution(FloatDistribution(low=0.0, high=1.0), 0.99, 0.5)
    assert narrowed.high == pytest.approx(1.0) and narrowed.low == pytest.approx(0.5)


def test_log_range_narrows_in_log_space() -> None:
    narrowed = narrow_distribution(FloatDistribution(low=1e-4, high=1.0, log=True), 1e-2, 0.5)
    assert narrowed.log
    assert math.log10(narrowed.low) == pytest.approx(-3.0)
    assert math.log10(narrowed.high) == pytest.approx(-1.0)


def test_int_range_stays_integer_and_contains_the_value() -> None:
    narrowed = narrow_distribution(IntDistribution(low=1, high=100), 37, 0.1)
    assert isinstance(narrowed, IntDistribution)
    assert narrowed.low <= 37 <= narrowed.high
    assert narrowed.high - narrowed.low <= 12


def test_categoricals_are_kept() -> None:
    dist = CategoricalDistribution(choices=["a", "b"])
    assert narrow_distribution(dist, "a", 0.1) == dist


def test_model_space_keeps_untouched_params_and_validates() -> None:
    space = ModelSpace(family="lightgbm")
    best = TrialConfig(family="lightgbm", params={"learning_rate": 0.05, "num_leaves": 31})
    narrowed = narrow_space_around(space, best, 0.25)
    assert set(narrowed.params) == {"learning_rate", "num_leaves"}
    lr = narrowed.params["learning_rate"]
    assert lr.low < 0.05 < lr.high
    ModelSpace.model_validate(narrowed.model_dump())


def test_spec_focuses_on_the_best_family_and_warm_starts_it() -> None:
    spec = ExperimentSpec.for_families(["svm", "knn"], task="binary", n_trials=10)
    best = TrialConfig(family="svm", params={"C": 10.0, "gamma": 0.01})
    narrowed = narrow_space_around(spec, best, 0.5)
    assert [m.family for m in narrowed.models] == ["svm"]
    assert narrowed.warm_start[0] == best
    assert narrowed.budget == spec.budget
    assert [m.family for m in spec.models] == ["svm", "knn"]  # input untouched
    ExperimentSpec.model_validate(narrowed.model_dump())


def test_spec_with_default_families_accepts_any_registered_family() -> None:
    spec = ExperimentSpec()
    narrowed = narrow_space_around(spec, TrialConfig(family="ridge", params={"alpha": 2.0}), 0.5)
    assert narrowed.models[0].family == "ridge"


def test_mismatches_and_bad_factors_are_errors() -> None:
    best = TrialConfig(family="svm", params={"C": 1.0})
    with pytest.raises(SpecError, match="cannot narrow"):
        narrow_space_around(ModelSpace(family="knn"), best)
    with pytest.raises(SpecError, match="not in the spec's families"):
        narrow_space_around(ExperimentSpec.for_families(["knn"]), best)
    with pytest.raises(SpecError, match="factor"):
        narrow_space_around(ModelSpace(family="svm"), best, 0.0)
