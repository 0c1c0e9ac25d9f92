"""SMOTE-style oversampling: the interpolation, class balance, fit-only use, saving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from automl_backend import ExperimentSpec, SpecError, parse_spec, run_spec
from automl_backend._dataset import build_dataset
from automl_backend._features import OversampledClassifier, smote_resample
from automl_backend._features.oversample import smote_samples
from automl_backend._model import TRUSTED_TYPES
from automl_backend._preprocess import build_pipeline
from automl_backend._spec import PreprocessingConfig, TrialConfig


def test_each_synthetic_row_interpolates_a_row_and_one_of_its_nearest_neighbours() -> None:
    rng = np.random.default_rng(0)
    members = rng.normal(size=(12, 3))
    rows, base, neighbour, gap = smote_samples(members, 40, 3, np.random.default_rng(5))
    # Reference computation: brute-force distances, then the interpolation formula.
    distances = np.linalg.norm(members[:, None, :] - members[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :3]
    for i in range(40):
        assert neighbour[i] in nearest[base[i]] and neighbour[i] != base[i]
        assert 0.0 <= gap[i] < 1.0
        expected = members[base[i]] + gap[i] * (members[neighbour[i]] - members[base[i]])
        np.testing.assert_allclose(rows[i], expected)
    # Same seed, same rows.
    again, *_ = smote_samples(members, 40, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(rows, again)


def test_resample_balances_classes_and_keeps_the_original_rows_first() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    y = np.array([0] * 20 + [1] * 7 + [2] * 3)
    X_res, y_res = smote_resample(X, y, k_neighbors=5, seed=0)
    assert np.bincount(y_res).tolist() == [20, 20, 20]
    np.testing.assert_array_equal(X_res[:30], X)
    np.testing.assert_array_equal(y_res[:30], y)
    for label in (1, 2):  # synthetic rows stay inside their class's bounding box
        new = X_res[30:][y_res[30:] == label]
        box = X[y == label]
        assert (new >= box.min(axis=0) - 1e-12).all() and (new <= box.max(axis=0) + 1e-12).all()
    single = smote_resample(np.array([[0.0], [1.0], [5.0]]), np.array([0, 0, 1]))
    assert single[0][3:].tolist() == [[5.0]]  # a one-row class is duplicated


def test_oversampling_happens_in_fit_only() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 2))
    y = (np.arange(50) < 8).astype(int)
    model = OversampledClassifier(LogisticRegression()).fit(X, y)
    assert model.n_synthetic_ == 34 and list(model.classes_) == [0, 1]
    assert model.predict_proba(X[:5]).shape == (5, 2) and model.predict(X).shape == (50,)


def test_pipeline_option_for_classification_only() -> None:
    X = pd.DataFrame({"a": np.arange(40, dtype=float), "c": ["u", "v"] * 20})
    y = (np.arange(40) < 6).astype(int)
    types = {"a": "numeric", "c": "categorical"}
    config = TrialConfig(family="logistic", preprocessing=PreprocessingConfig(oversampling="smote"))
    pipeline = build_pipeline(config, types, classification=True).fit(X, y)
    assert isinstance(pipeline.named_steps["model"], OversampledClassifier)
    data = sio.dumps(pipeline)
    assert set(sio.get_untrusted_types(data=data)) <= TRUSTED_TYPES
    regression = build_pipeline(TrialConfig(family="ridge", preprocessing=config.preprocessing),
                                types, classification=False)  # fmt: skip
    assert not isinstance(regression.named_steps["model"], OversampledClassifier)


def test_spec_field_and_regression_check() -> None:
    spec = parse_spec({"preprocessing": {"oversampling": ["none", "smote"]}})
    assert spec.preprocessing.oversampling == ["none", "smote"]
    assert "classification" in (spec.task_problem("regression") or "")
    assert spec.task_problem("binary") is None
    with pytest.raises(SpecError, match="oversampling"):
        parse_spec({"preprocessing": {"oversampling": ["adasyn"]}})
    with pytest.raises(SpecError, match="classification"):
        parse_spec({"task": "regression", "preprocessing": {"oversampling": ["smote"]}})
    assert ExperimentSpec().preprocessing.oversampling == ["none"]


def _searched_preprocessing() -> list[str]:
    """Preprocessing names the HPO search suggests."""
    from automl_backend._hpo.suggest import ResolvedSpace

    space = ResolvedSpace(models={}, preprocessing=parse_spec({}).preprocessing,
                        has_categorical=False, has_missing=False)  # fmt: skip
    return list(space.preprocessing_choices())


@pytest.mark.skipif("oversampling" not in _searched_preprocessing(),
                    reason="the HPO search does not suggest preprocessing.oversampling yet")  # fmt: skip
def test_search_tries_oversampling() -> None:
    rng = np.random.default_rng(4)
    table = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    table["y"] = (table["a"] + 0.3 * rng.normal(size=120) > 1.2).astype(int)  # about 12 % ones
    data = build_dataset(table, "y", task="binary", name="imbalanced")
    spec = ExperimentSpec.for_families(
        ["logistic"], n_trials=2, cv={"folds": 3}, ensemble={"enabled": False},
        preprocessing={"oversampling": ["smote"]},
    )  # fmt: skip
    result = run_spec(spec, data)
    assert result.ok and result.best_config is not None
    assert result.best_config.preprocessing.oversampling == "smote"
