"""The estimator registry, its builders and the registry-derived JSON schema."""

from __future__ import annotations

import pytest

from automl_backend import (
    TrialConfig,
    default_config,
    default_space,
    family_names,
)
from automl_backend._builders import BUILDERS, build_estimator
from automl_backend._registry import REGISTRY
from automl_backend._spec import check_distribution

ISSUE_FAMILIES = {
    "logistic", "ridge", "elastic_net", "random_forest", "extra_trees",
    "hist_gradient_boosting", "lightgbm", "svm", "knn", "mlp",
}  # fmt: skip


def test_registry_holds_the_families_the_issue_names() -> None:
    assert set(family_names()) == ISSUE_FAMILIES
    assert set(BUILDERS) == ISSUE_FAMILIES


def test_family_names_by_task() -> None:
    assert "logistic" in family_names("binary") and "logistic" not in family_names("regression")
    assert "ridge" in family_names("regression") and "ridge" not in family_names("multiclass")
    assert "lightgbm" in family_names("binary") and "lightgbm" in family_names("regression")


@pytest.mark.parametrize("family", sorted(ISSUE_FAMILIES))
def test_default_space_and_config_are_valid(family: str) -> None:
    for name, dist in default_space(family).items():
        check_distribution(family, name, dist)  # raises when outside the limits
    config = TrialConfig(family=family, params=default_config(family))
    for name, value in config.params.items():
        space = REGISTRY[family].hyperparameters[name].space
        assert space.contains(value), f"{family}.{name} default {value!r} outside its default space"


@pytest.mark.parametrize("family", sorted(ISSUE_FAMILIES))
def test_builders_make_estimators_for_every_task(family: str) -> None:
    for task in ("binary", "regression"):
        if family not in family_names(task):
            continue
        estimator = build_estimator(
            family, default_config(family, task), classification=task != "regression"
        )
        assert hasattr(estimator, "fit") and hasattr(estimator, "predict")
