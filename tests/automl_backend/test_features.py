"""The feature-transform vocabulary: edge cases, leak-free fitting, checks against data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from pydantic import TypeAdapter
from sklearn.model_selection import StratifiedKFold

from automl_backend import ExperimentSpec, SpecError
from automl_backend._features import FeatureBuilder, FeatureTransform, check_features
from automl_backend._features.vocabulary import MAX_GENERATED_COLUMNS
from automl_backend._metrics import score
from automl_backend._model import TRUSTED_TYPES
from automl_backend._preprocess import build_pipeline, coerce_columns
from automl_backend._spec import TrialConfig

_LIST = TypeAdapter(list[FeatureTransform])
TYPES = {"a": "numeric", "b": "numeric", "city": "categorical", "when": "datetime"}


def transforms(*items: dict[str, Any]) -> list[FeatureTransform]:
    return _LIST.validate_python(list(items))


def frame() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "a": [-3.0, 0.0, 2.0, np.nan, 8.0, 5.0],
            "b": [1.0, 0.0, -4.0, 2.0, 0.0, 5.0],  # zeros for ratio/reciprocal
            "city": ["x", "y", "x", None, "z", "x"],
            "when": [
                "2024-01-01 10:00",
                "2024-02-29",
                "not a date",
                None,
                "1970-01-02",
                "2024-06-01",
            ],
        }
    )
    return coerce_columns(raw, TYPES)


def built(X: pd.DataFrame, *items: dict[str, Any], y: Any = None) -> pd.DataFrame:
    plain = [t.model_dump(mode="json") for t in transforms(*items)]
    return FeatureBuilder(plain).fit(X, y).transform(X)


# ---------------------------------------------------------------- edge cases


def test_log_and_sqrt_keep_the_sign_of_negatives() -> None:
    out = built(frame(), {"kind": "log1p", "column": "a"}, {"kind": "sqrt", "column": "a"})
    np.testing.assert_allclose(out["log1p(a)"][:3], [-np.log1p(3), 0.0, np.log1p(2)])
    np.testing.assert_allclose(out["sqrt(a)"][:3], [-np.sqrt(3), 0.0, np.sqrt(2)])
    assert np.isnan(out["log1p(a)"][3])  # missing stays missing (imputed later)


def test_division_by_zero_is_missing_and_imputed_by_the_pipeline() -> None:
    X = frame()
    out = built(
        X, {"kind": "ratio", "left": "a", "right": "b"}, {"kind": "reciprocal", "column": "b"}
    )
    assert np.isnan(out["ratio(a,b)"][1]) and np.isnan(out["ratio(a,b)"][4])
    assert out["ratio(a,b)"][0] == -3.0 and out["reciprocal(b)"][2] == -0.25
    assert np.isnan(out["reciprocal(b)"][1])
    feats = transforms({"kind": "ratio", "left": "a", "right": "b"})
    config = TrialConfig(family="logistic")
    pipeline = build_pipeline(config, TYPES, classification=True, features=feats)
    y = np.array([0, 1, 0, 1, 0, 1])
    pipeline.fit(X, y)  # NaN from x/0 must not reach the model
    assert pipeline.predict_proba(X).shape == (6, 2)


def test_binary_sum_difference_product_and_polynomial() -> None:
    out = built(
        frame(),
        {"kind": "sum", "left": "a", "right": "b"},
        {"kind": "difference", "left": "a", "right": "b"},
        {"kind": "product", "left": "a", "right": "b"},
        {"kind": "polynomial", "columns": ["a", "b"]},
    )
    assert list(out["sum(a,b)"][:3]) == [-2.0, 0.0, -2.0]
    assert list(out["difference(a,b)"][:3]) == [-4.0, 0.0, 6.0]
    assert list(out["product(a,b)"][:3]) == [-3.0, 0.0, -8.0]
    assert list(out["a*a"][:3]) == [9.0, 0.0, 4.0] and list(out["b*b"][:3]) == [1.0, 0.0, 16.0]


def test_overflow_becomes_missing() -> None:
    X = pd.DataFrame({"a": [1e300, 2.0], "b": [1e300, 1.0]})
    out = built(
        X, {"kind": "product", "left": "a", "right": "b"}, {"kind": "square", "column": "a"}
    )
    assert np.isnan(out["product(a,b)"][0]) and np.isnan(out["square(a)"][0])


def test_rank_and_bins_use_training_rows_and_handle_constants() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": [7.0] * 4})
    items = transforms(
        {"kind": "rank", "column": "a"}, {"kind": "bins", "column": "a", "bins": 2},
        {"kind": "rank", "column": "c"}, {"kind": "bins", "column": "c"},
    )  # fmt: skip
    builder = FeatureBuilder([t.model_dump() for t in items]).fit(train)
    new = builder.transform(
        pd.DataFrame({"a": [0.0, 2.5, 10.0, np.nan], "c": [7.0, 1.0, 9.0, 7.0]})
    )
    assert list(new["rank(a)"][:3]) == [0.0, 0.5, 1.0] and np.isnan(new["rank(a)"][3])
    assert list(new["bins2(a)"][:3]) == [0.0, 1.0, 1.0]
    assert new["rank(c)"][0] == 0.5  # a constant column ranks in the middle
    assert new["bins5(c)"].nunique() <= 2


def test_categories_unseen_and_missing() -> None:
    X = frame()
    y = np.array([0, 1, 0, 1, 1, 0])
    items = (
        {"kind": "frequency", "column": "city"},
        {"kind": "group", "column": "a", "by": "city", "stat": "mean"},
        {"kind": "group", "column": "a", "by": "city", "stat": "count"},
        {"kind": "target_encoding", "column": "city", "folds": 2},
    )
    builder = FeatureBuilder([t.model_dump() for t in transforms(*items)]).fit(X, y)
    new = coerce_columns(pd.DataFrame({"a": [1.0, 1.0], "b": [1.0, 1.0], "city": ["x", "paris"],
                                       "when": [None, None]}), TYPES)  # fmt: skip
    out = builder.transform(new)
    assert out["frequency(city)"].tolist() == [0.5, 0.0]
    assert out["mean(a|city)"][0] == pytest.approx(4 / 3) and np.isnan(out["mean(a|city)"][1])
    assert out["count(a|city)"].tolist() == [3.0, 0.0]
    assert out["target_encoding(city)"][1] == pytest.approx(y.mean(), abs=0.2)  # unseen: prior
    seen = builder.transform(X)
    assert seen["frequency(city)"][3] == pytest.approx(1 / 6)  # missing is its own category


def test_date_parts_with_bad_values() -> None:
    out = built(
        frame(),
        {"kind": "date_parts", "column": "when", "parts": ["year", "month", "hour", "days"]},
    )
    assert out["year(when)"][0] == 2024 and out["hour(when)"][0] == 10
    assert out["days(when)"][4] == 1.0
    assert out[["year(when)", "month(when)"]].iloc[2:4].isna().all().all()


def test_row_stats_and_projections() -> None:
    X = frame()
    out = built(X, {"kind": "row_stats"}, {"kind": "pca", "components": 2},
                {"kind": "random_projection", "columns": ["a", "b"], "components": 1})  # fmt: skip
    assert out["row_missing"].tolist() == [0, 0, 0, 1, 0, 0]
    assert out["row_mean"][0] == -1.0 and out["row_std"][0] == 2.0
    assert out[["pca_0", "pca_1", "random_projection_0"]].notna().all().all()
    constant = pd.DataFrame({"a": [1.0] * 5, "b": [2.0] * 5})
    flat = built(constant, {"kind": "pca", "components": 1}, {"kind": "row_stats"})
    assert np.isfinite(flat["pca_0"]).all()


# ---------------------------------------------------------------- checks against data


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"kind": "log1p", "column": "price"},
            "no column 'price' in the data; numeric columns: a, b",
        ),
        (
            {"kind": "ratio", "left": "a", "right": "city"},
            "column 'city' is categorical, not numeric",
        ),
        (
            {"kind": "frequency", "column": "a"},
            "column 'a' is numeric, not categorical; categorical columns: city",
        ),
        ({"kind": "date_parts", "column": "a"}, "datetime columns: when"),
        ({"kind": "group", "column": "a", "by": "b"}, "column 'b' is numeric, not categorical"),
    ],
)
def test_wrong_column_is_one_line_listing_valid_columns(
    item: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SpecError, match="features\\[0\\]") as info:
        check_features(transforms(item), TYPES, n_rows=10)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_limits_on_generated_columns_and_memory() -> None:
    many = [{"kind": "pca", "components": 50, "columns": ["a", "b"]}]  # capped at 2 columns
    check_features(transforms(*many), TYPES, n_rows=10)
    numeric = {f"x{i}": "numeric" for i in range(6)}
    poly = [{"kind": "polynomial", "columns": list(numeric)}] * 10  # 21 columns each
    with pytest.raises(SpecError, match=f"210 columns; at most {MAX_GENERATED_COLUMNS}"):
        check_features(transforms(*poly), numeric, n_rows=10)
    with pytest.raises(SpecError, match="GiB"):
        check_features(transforms(*poly[:5]), numeric, n_rows=10**8)


def test_spec_rejects_unknown_kinds_and_round_trips() -> None:
    with pytest.raises(SpecError, match="features"):
        _parse({"features": [{"kind": "eval", "column": "a"}]})
    spec = _parse({"features": [{"kind": "ratio", "left": "a", "right": "b"}]})
    assert ExperimentSpec.model_validate_json(spec.to_json()) == spec
    assert _parse({"features": "auto"}).features == "auto"


def _parse(data: dict[str, Any]) -> ExperimentSpec:
    from automl_backend import parse_spec

    return parse_spec(data)


# ---------------------------------------------------------------- no leakage


def _noise_problem(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"noise": rng.integers(0, n // 2, n).astype(str).astype(object),
                      "z": rng.normal(size=n)})  # fmt: skip
    return X, rng.integers(0, 2, n)


def _cv_accuracy(X: pd.DataFrame, y: np.ndarray, types: dict[str, str], feats: list[Any]) -> float:
    scores = []
    for train, valid in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        config = TrialConfig(family="lightgbm", params={"n_estimators": 50})
        pipeline = build_pipeline(config, types, classification=True, features=feats)
        pipeline.fit(X.iloc[train], y[train])
        scores.append(score("accuracy", y[valid], pipeline.predict_proba(X.iloc[valid])))
    return float(np.mean(scores))


def test_target_encoding_of_noise_is_chance_level() -> None:
    X, y = _noise_problem()
    types = {"noise": "categorical", "z": "numeric"}
    feats = transforms({"kind": "target_encoding", "column": "noise"})
    assert _cv_accuracy(X, y, types, feats) < 0.58
    # The same encoding fit on all rows first (the leak the vocabulary prevents) "learns"
    # the noise, which shows the test can tell the difference.
    leaked = X.assign(te=X["noise"].map(pd.Series(y).groupby(X["noise"]).mean()))
    assert (
        _cv_accuracy(leaked.drop(columns="noise"), y, {"z": "numeric", "te": "numeric"}, []) > 0.7
    )


def test_fitted_state_never_sees_the_validation_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _noise_problem(100)
    X.index = pd.RangeIndex(1000, 1100)  # labels differ from positions on purpose
    seen: list[pd.Index] = []
    original = FeatureBuilder._fit

    def spy(self: FeatureBuilder, rows: pd.DataFrame, target: Any) -> Any:
        seen.append(rows.index)
        return original(self, rows, target)

    monkeypatch.setattr(FeatureBuilder, "_fit", spy)
    types = {"noise": "categorical", "z": "numeric"}
    feats = transforms(
        {"kind": "rank", "column": "z"}, {"kind": "target_encoding", "column": "noise"}
    )
    folds = list(StratifiedKFold(4, shuffle=True, random_state=1).split(X, y))
    for train, valid in folds:
        config = TrialConfig(family="logistic")
        pipeline = build_pipeline(config, types, classification=True, features=feats)
        pipeline.fit(X.iloc[train], y[train])
        pipeline.predict_proba(X.iloc[valid])
        fitted_on = set(seen[-1])
        assert fitted_on == set(X.index[train]) and not fitted_on & set(X.index[valid])
        # The rank table is exactly the training fold's values.
        state = pipeline.named_steps["features"].states_[0]["sorted"]
        np.testing.assert_array_equal(state, np.sort(X["z"].iloc[train]))
    assert len(seen) == len(folds)  # predicting never refits


def test_fitted_pipeline_saves_with_the_allow_list() -> None:
    X = frame()
    y = np.array([0, 1, 0, 1, 1, 0])
    feats = transforms({"kind": "target_encoding", "column": "city", "folds": 2},
                       {"kind": "pca", "components": 1}, {"kind": "rank", "column": "a"})  # fmt: skip
    pipeline = build_pipeline(TrialConfig(family="logistic"), TYPES, classification=True,
                              features=feats).fit(X, y)  # fmt: skip
    data = sio.dumps(pipeline)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= TRUSTED_TYPES
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_allclose(loaded.predict_proba(X), pipeline.predict_proba(X))
