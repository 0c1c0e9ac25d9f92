"""FeatureBuilder: the vocabulary as one scikit-learn transformer, fit on training rows only.

It is the first step of a trial's pipeline, so cross-validation fits it on each training
fold and the final refit on all training rows; validation rows and new data only pass
through ``transform``. Everything learned (quantiles, bin edges, category tables,
projections, target encoders) is plain arrays or scikit-learn objects, so the fitted
pipeline saves as skops. Transforms are stored as their JSON form, not as code.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from automl_backend._features.vocabulary import (
    MISSING_CATEGORY,
    Binary,
    Bins,
    DateParts,
    FeatureTransform,
    Frequency,
    GroupStat,
    Polynomial,
    Projection,
    RowStats,
    TargetEncoding,
    Unary,
    resolved_columns,
)

_ADAPTER: TypeAdapter[list[FeatureTransform]] = TypeAdapter(list[FeatureTransform])


def parse_transforms(data: list[dict[str, Any]]) -> list[FeatureTransform]:
    """Transforms from their JSON form (as a spec or a FeatureBuilder holds them)."""
    return _ADAPTER.validate_python(data)


def finite_or_nan(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(values), values, np.nan)


def _numbers(X: pd.DataFrame, column: str) -> np.ndarray:
    return np.asarray(pd.to_numeric(X[column], errors="coerce"), dtype=float)


def _categories(X: pd.DataFrame, column: str) -> np.ndarray:
    values = X[column]
    return np.asarray(values.astype(str).where(values.notna(), MISSING_CATEGORY), dtype=object)


def _unary(kind: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "log1p":
            return np.sign(x) * np.log1p(np.abs(x))
        if kind == "sqrt":
            return np.sign(x) * np.sqrt(np.abs(x))
        if kind == "square":
            return x * x
        if kind == "reciprocal":
            return np.where(x == 0, np.nan, 1.0 / np.where(x == 0, 1.0, x))
    raise AssertionError(kind)


def combine_pair(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "ratio":
            return np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))
        if kind == "product":
            return a * b
        if kind == "difference":
            return a - b
        return a + b


def _lookup(
    keys: list[str], values: np.ndarray, categories: np.ndarray, default: float
) -> np.ndarray:
    table = dict(zip(keys, values.tolist(), strict=True))
    return np.array([table.get(c, default) for c in categories], dtype=float)


def _rank(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mid-rank quantile of ``x`` among the training values, in [0, 1]."""
    if len(sorted_values) == 0:
        return np.full(len(x), np.nan)
    low = np.searchsorted(sorted_values, x, side="left")
    high = np.searchsorted(sorted_values, x, side="right")
    out = (low + high) / (2.0 * len(sorted_values))
    return np.where(np.isnan(x), np.nan, out)


class FeatureBuilder(BaseEstimator, TransformerMixin):
    """Append the columns of ``transforms`` (JSON form of the vocabulary) to a frame.

    ``fit_transform`` gives training rows out-of-fold target encodings (cross-fitting);
    ``transform`` uses encodings learned from all rows seen in ``fit``.
    """

    def __init__(self, transforms: list[dict[str, Any]] | None = None, seed: int = 0) -> None:
        self.transforms = transforms
        self.seed = seed

    # ------------------------------------------------------------ fitting

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureBuilder:
        self._fit(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        oof = self._fit(X, y)
        return self._apply(X, oof)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "states_")
        return self._apply(X, {})

    def _fit(self, X: pd.DataFrame, y: Any) -> dict[int, np.ndarray]:
        """Learn every transform's state; returns cross-fitted target encodings by index."""
        transforms = parse_transforms(list(self.transforms or []))
        self.states_: list[Any] = []
        self.n_fit_rows_ = len(X)
        oof: dict[int, np.ndarray] = {}
        for i, t in enumerate(transforms):
            state, train_values = self._fit_one(t, X, y)
            self.states_.append(state)
            if train_values is not None:
                oof[i] = train_values
        self.column_types_ = {c: str(X[c].dtype) for c in X.columns}
        return oof

    def _fit_one(self, t: FeatureTransform, X: pd.DataFrame, y: Any) -> tuple[Any, Any]:
        if isinstance(t, Unary) and t.kind == "rank":
            x = _numbers(X, t.column)
            return {"sorted": np.sort(x[~np.isnan(x)])}, None
        if isinstance(t, Bins):
            x = _numbers(X, t.column)
            x = x[~np.isnan(x)]
            if len(x) == 0:
                return {"edges": np.array([], dtype=float)}, None
            edges = np.unique(np.quantile(x, np.linspace(0, 1, t.bins + 1)[1:-1]))
            return {"edges": edges}, None
        if isinstance(t, GroupStat):
            frame = pd.DataFrame({"v": _numbers(X, t.column), "g": _categories(X, t.by)})
            grouped = frame.groupby("g")["v"]
            table = {"mean": grouped.mean(), "std": grouped.std(ddof=0), "count": grouped.count()}
            stats = table[t.stat]
            return {"keys": [str(k) for k in stats.index], "values": stats.to_numpy(float)}, None
        if isinstance(t, Frequency):
            counts = pd.Series(_categories(X, t.column)).value_counts(normalize=True)
            return {"keys": [str(k) for k in counts.index], "values": counts.to_numpy(float)}, None
        if isinstance(t, TargetEncoding):
            return self._fit_target_encoding(t, X, y)
        if isinstance(t, Projection):
            return self._fit_projection(t, X), None
        if isinstance(t, RowStats):
            return {"columns": resolved_columns(t, self._numeric_columns(X))}, None
        return None, None

    def _fit_target_encoding(self, t: TargetEncoding, X: pd.DataFrame, y: Any) -> tuple[Any, Any]:
        from sklearn.model_selection import KFold
        from sklearn.preprocessing import TargetEncoder

        if y is None:
            raise ValueError("target encoding needs the target in fit")
        y = np.asarray(y)
        target_type = "continuous" if y.dtype.kind == "f" else "auto"
        folds = KFold(n_splits=min(t.folds, len(y)), shuffle=True, random_state=self.seed)
        encoder = TargetEncoder(target_type=target_type, cv=folds)
        column = _categories(X, t.column).reshape(-1, 1)
        # fit_transform cross-fits: a training row's value comes from the other folds.
        train_values = encoder.fit_transform(column, y)
        return encoder, train_values

    def _fit_projection(self, t: Projection, X: pd.DataFrame) -> dict[str, Any]:
        from sklearn.decomposition import PCA
        from sklearn.random_projection import GaussianRandomProjection

        columns = resolved_columns(t, self._numeric_columns(X))
        matrix = np.column_stack([_numbers(X, c) for c in columns])
        center = (
            np.nan_to_num(np.nanmedian(matrix, axis=0)) if len(matrix) else np.zeros(len(columns))
        )
        filled = np.where(np.isnan(matrix), center, matrix)
        scale = filled.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        standard = (filled - center) / scale
        n = min(t.components, len(columns), max(len(X), 1))
        if t.kind == "pca":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: 0/0 ratios
                model: Any = PCA(n_components=n, random_state=self.seed).fit(standard)
        else:
            model = GaussianRandomProjection(n_components=n, random_state=self.seed).fit(standard)
        return {"columns": columns, "center": center, "scale": scale, "model": model}

    @staticmethod
    def _numeric_columns(X: pd.DataFrame) -> dict[str, str]:
        return {c: "numeric" for c in X.columns if pd.api.types.is_numeric_dtype(X[c].dtype)}

    # ------------------------------------------------------------ applying

    def _apply(self, X: pd.DataFrame, oof: dict[int, np.ndarray]) -> pd.DataFrame:
        transforms = parse_transforms(list(self.transforms or []))
        out: dict[str, np.ndarray] = {}
        for i, (t, state) in enumerate(zip(transforms, self.states_, strict=True)):
            for name, values in self._columns(t, state, X, oof.get(i)):
                out[name] = finite_or_nan(values)
        if not out:
            return X
        generated = pd.DataFrame(out, index=X.index)
        return pd.concat([X, generated.drop(columns=[c for c in generated if c in X])], axis=1)

    def _columns(self, t: FeatureTransform, state: Any, X: pd.DataFrame,
                 train_values: np.ndarray | None) -> list[tuple[str, np.ndarray]]:  # fmt: skip
        names = t.names() if not isinstance(t, TargetEncoding) else []
        if isinstance(t, Unary):
            x = _numbers(X, t.column)
            values = _rank(state["sorted"], x) if t.kind == "rank" else _unary(t.kind, x)
            return [(names[0], values)]
        if isinstance(t, Bins):
            x = _numbers(X, t.column)
            values = np.searchsorted(state["edges"], x, side="right").astype(float)
            return [(names[0], np.where(np.isnan(x), np.nan, values))]
        if isinstance(t, Binary):
            return [(names[0], combine_pair(t.kind, _numbers(X, t.left), _numbers(X, t.right)))]
        if isinstance(t, GroupStat | Frequency):
            column = t.by if isinstance(t, GroupStat) else t.column
            default = 0.0 if isinstance(t, Frequency) or t.stat == "count" else np.nan
            values = _lookup(state["keys"], state["values"], _categories(X, column), default)
            return [(names[0], values)]
        if isinstance(t, TargetEncoding):
            encoded = train_values
            if encoded is None:
                encoded = state.transform(_categories(X, t.column).reshape(-1, 1))
            encoded = np.asarray(encoded, dtype=float).reshape(len(X), -1)
            width = encoded.shape[1]
            labels = t.names(width if width > 1 else 0)
            return [(labels[k], encoded[:, k]) for k in range(width)]
        if isinstance(t, Polynomial):
            cols = [_numbers(X, c) for c in t.columns]
            pairs = [(a, b) for i, a in enumerate(cols) for b in cols[i:]]
            return [(name, a * b) for name, (a, b) in zip(names, pairs, strict=True)]
        if isinstance(t, Projection):
            matrix = np.column_stack([_numbers(X, c) for c in state["columns"]])
            filled = np.where(np.isnan(matrix), state["center"], matrix)
            projected = state["model"].transform((filled - state["center"]) / state["scale"])
            return [(names[k], projected[:, k]) for k in range(projected.shape[1])]
        if isinstance(t, DateParts):
            return self._date_parts(t, X)
        assert isinstance(t, RowStats)
        matrix = np.column_stack([_numbers(X, c) for c in state["columns"]])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN
            stats = {
                "mean": np.nanmean(matrix, axis=1),
                "std": np.nanstd(matrix, axis=1),
                "missing": np.isnan(matrix).sum(axis=1).astype(float),
            }
        return [(f"row_{s}", stats[s]) for s in t.stats]

    @staticmethod
    def _date_parts(t: DateParts, X: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        values = pd.to_datetime(X[t.column], errors="coerce", format="mixed")
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert(None)
        parts = {
            "year": values.dt.year,
            "month": values.dt.month,
            "weekday": values.dt.weekday,
            "hour": values.dt.hour,
            "days": (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1),
        }
        return [
            (name, parts[p].to_numpy(dtype=float, na_value=np.nan))
            for name, p in zip(t.names(), t.parts, strict=True)
        ]
