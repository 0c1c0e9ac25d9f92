"""Preprocessing: column coercion and the scikit-learn pipeline a configuration describes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from automl_backend._builders import build_estimator
from automl_backend._features import FeatureBuilder, FeatureTransform, OversampledClassifier
from automl_backend._registry import REGISTRY
from automl_backend._spec import PreprocessingConfig, TrialConfig

_DATE_PARTS = ("year", "month", "day", "weekday", "hour", "days")


def coerce_columns(X: pd.DataFrame, column_types: dict[str, str]) -> pd.DataFrame:
    """``X`` restricted to the known columns, each converted the way training saw it.

    Numeric and boolean columns become floats (NaN for gaps), dates datetime64,
    categories Python objects. Used for training data and for new data at predict time.
    """
    missing = [c for c in column_types if c not in X.columns]
    if missing:
        raise KeyError(missing)
    out = {}
    for column, kind in column_types.items():
        values = X[column]
        if kind == "numeric":
            out[column] = pd.to_numeric(values, errors="coerce").astype(float)
        elif kind == "boolean":
            out[column] = values.map(_to_bool_float).astype(float)
        elif kind == "datetime":
            out[column] = pd.to_datetime(values, errors="coerce", format="mixed")
        else:
            out[column] = values.astype("object").where(values.notna(), np.nan)
    return pd.DataFrame(out, index=X.index)


def _to_bool_float(value: Any) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, str):
        return 1.0 if value.strip().lower() == "true" else 0.0
    return float(bool(value))


class DateExpander(BaseEstimator, TransformerMixin):
    """Replace each datetime column by numeric parts (year, month, ..., days since 1970)."""

    def __init__(self, columns: list[str] | None = None) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: Any = None) -> DateExpander:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for column in self.columns or []:
            values = pd.to_datetime(X.pop(column), errors="coerce")
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert(None)
            X[f"{column}__year"] = values.dt.year.astype(float)
            X[f"{column}__month"] = values.dt.month.astype(float)
            X[f"{column}__day"] = values.dt.day.astype(float)
            X[f"{column}__weekday"] = values.dt.weekday.astype(float)
            X[f"{column}__hour"] = values.dt.hour.astype(float)
            epoch = (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            X[f"{column}__days"] = epoch.astype(float)
        return X


def resolve_preprocessing(config: PreprocessingConfig, family: str) -> tuple[str, str]:
    """Concrete (scaling, encoding) for ``family``, resolving ``auto``."""
    sensitive = REGISTRY[family].scale_sensitive
    scaling = config.scaling if config.scaling != "auto" else ("standard" if sensitive else "none")
    encoding = (
        config.encoding if config.encoding != "auto" else ("onehot" if sensitive else "ordinal")
    )
    return scaling, encoding


def _scaler(kind: str, seed: int) -> Any:
    from sklearn import preprocessing as p

    return {
        "standard": p.StandardScaler,
        "robust": p.RobustScaler,
        "minmax": p.MinMaxScaler,
    }.get(kind, lambda: p.QuantileTransformer(n_quantiles=200, random_state=seed))()


def build_pipeline(
    config: TrialConfig,
    column_types: dict[str, str],
    *,
    classification: bool,
    seed: int = 0,
    n_threads: int = 1,
    n_train: int = 1000,
    features: Sequence[FeatureTransform] = (),
) -> Any:
    """The unfitted pipeline (features -> dates -> impute/scale/encode -> select -> model).

    ``features``: transforms of the vocabulary (checked against the data beforehand); their
    step comes first, so it is fit on the rows the pipeline is fit on and nothing else.
    Generated columns are numeric and go through the numeric imputer and scaler.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import SelectPercentile, f_classif, f_regression
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    pre = config.preprocessing
    scaling, encoding = resolve_preprocessing(pre, config.family)
    dates = [c for c, k in column_types.items() if k == "datetime"]
    numeric = [c for c, k in column_types.items() if k in ("numeric", "boolean")]
    numeric += [f"{c}__{part}" for c in dates for part in _DATE_PARTS]
    categorical = [c for c, k in column_types.items() if k == "categorical"]

    def numeric_pipeline() -> Pipeline:
        numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=pre.imputation))]
        if scaling != "none":
            numeric_steps.append(("scale", _scaler(scaling, seed)))
        return Pipeline(numeric_steps)

    branches: list[tuple[str, Any, list[str]]] = []
    if numeric:
        branches.append(("num", numeric_pipeline(), numeric))
    if categorical:
        fill = SimpleImputer(strategy="constant", fill_value="__missing__")
        if encoding == "onehot":
            encoder: Any = OneHotEncoder(
                handle_unknown="infrequent_if_exist", max_categories=32, sparse_output=False
            )
        elif encoding == "target":
            encoder = TargetEncoder(random_state=seed)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        cat_steps: list[tuple[str, Any]] = [("impute", fill), ("encode", encoder)]
        if scaling != "none" and encoding != "onehot":
            cat_steps.append(("scale", _scaler(scaling, seed)))
        branches.append(("cat", Pipeline(cat_steps), categorical))

    steps: list[tuple[str, Any]] = []
    if features:
        plain = [f.model_dump(mode="json") for f in features]
        steps.append(("features", FeatureBuilder(plain, seed=seed)))
    if dates:
        steps.append(("dates", DateExpander(dates)))
    # Generated columns are exactly the ones no branch names: the remainder.
    remainder: Any = numeric_pipeline() if features else "drop"
    steps.append(("columns", ColumnTransformer(branches, remainder=remainder)))
    if pre.feature_selection == "kbest":
        fraction = pre.kbest_fraction or 1.0
        score = f_classif if classification else f_regression
        steps.append(("select", SelectPercentile(score, percentile=max(1.0, 100.0 * fraction))))
    model = build_estimator(
        config.family,
        config.params,
        classification=classification,
        seed=seed,
        n_threads=n_threads,
        n_train=n_train,
    )
    if classification and pre.oversampling == "smote":
        model = OversampledClassifier(model, random_state=seed)
    steps.append(("model", model))
    return Pipeline(steps)
