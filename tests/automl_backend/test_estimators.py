"""AutoMLClassifier / AutoMLRegressor: scikit-learn's estimator checks and attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl_backend import (
    AutoMLClassifier,
    AutoMLRegressor,
    ExperimentSpec,
    family_names,
    load_dataset,
)

# A tiny, deterministic budget (trial count, no clock) so each check fits in a second
# and refits reproduce exactly.
_CLS_SPEC = ExperimentSpec.for_families(["logistic"], n_trials=2, cv={"folds": 2},
                                        ensemble={"enabled": False})  # fmt: skip
_REG_SPEC = ExperimentSpec.for_families(["ridge"], n_trials=2, cv={"folds": 2},
                                        ensemble={"enabled": False})  # fmt: skip

# Why a check cannot apply: the estimators accept object (categorical) columns by
# design, so an object column holding dicts is treated as a category instead of
# raising the TypeError this check expects.
_EXPECTED = {
    "check_dtype_object": "object columns are categorical features by design",
}


@parametrize_with_checks(
    [AutoMLClassifier(spec=_CLS_SPEC), AutoMLRegressor(spec=_REG_SPEC)],
    expected_failed_checks=lambda estimator: _EXPECTED,
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_classifier_attributes_and_dataframe_input() -> None:
    data = load_dataset("sklearn:iris")
    model = AutoMLClassifier(n_trials=4, random_state=1).fit(data.X, data.y)
    assert list(model.classes_) == [0, 1, 2]
    # The first trials are the portfolio's (test_portfolio.py): any classifier family.
    assert model.best_params_["family"] in family_names("multiclass")
    assert len(model.leaderboard_) == 4 and model.study_.trials
    assert model.ensemble_ and model.n_features_in_ == 4
    assert list(model.feature_names_in_) == list(data.X.columns)
    assert model.score(data.X, data.y) > 0.9
    assert model.predict_proba(data.X.head(3)).shape == (3, 3)


def test_string_labels_and_categorical_columns() -> None:
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "blue"], size=80)
    X = pd.DataFrame({"colour": colour, "noise": rng.normal(size=80)})
    y = np.where(colour == "red", "hot", "cold")
    model = AutoMLClassifier(n_trials=3).fit(X, y)
    assert set(model.classes_) == {"hot", "cold"}
    assert (model.predict(X) == y).mean() == 1.0


def test_regressor_with_metric_and_time_budget() -> None:
    data = load_dataset("sklearn:diabetes")
    model = AutoMLRegressor(time_budget=4, metric="mae").fit(data.X, data.y)
    assert model.result_.metric == "mae" and model.best_score_ < 0
    assert model.predict(data.X).shape == (442,)


def test_invalid_settings_are_reported_at_fit() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        AutoMLClassifier(metric="nope", n_trials=1).fit([[0.0], [1.0]] * 5, [0, 1] * 5)
