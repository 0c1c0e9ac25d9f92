"""Turn a table or image array into float32 rows for the networks (no torch here).

The preprocessing is fitted on training rows only and is plain JSON, so a saved model
carries it and can predict on raw data later.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl_backend.nas._errors import NASError

_MAX_LEVELS = 30
"""Most one-hot columns per categorical feature (the rarest levels share 'other')."""


@dataclass
class Preprocessor:
    """Standardise numbers, one-hot encode categories (tables) or scale pixels (images)."""

    kind: str = "tabular"
    numeric: list[str] = field(default_factory=list)
    medians: list[float] = field(default_factory=list)
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    pixel_mean: float = 0.0
    pixel_std: float = 1.0

    @classmethod
    def fit(cls, X: pd.DataFrame | np.ndarray, kind: str) -> Preprocessor:
        if kind == "image":
            arr = np.asarray(X, dtype=np.float64)
            return cls(
                kind="image", pixel_mean=float(arr.mean()), pixel_std=float(arr.std()) or 1.0
            )
        df = _frame(X)
        numeric = [c for c in df.columns if _is_numeric(df[c])]
        cats = [c for c in df.columns if c not in numeric]
        num = df[numeric].astype(float)
        medians = num.median().fillna(0.0)
        filled = num.fillna(medians)
        stds = filled.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
        levels = {
            c: [str(v) for v in df[c].astype(str).value_counts().index[:_MAX_LEVELS]] for c in cats
        }
        return cls(
            numeric=[str(c) for c in numeric],
            medians=[float(v) for v in medians],
            means=[float(v) for v in filled.mean()],
            stds=[float(v) for v in stds],
            categorical={str(c): v for c, v in levels.items()},
        )

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if self.kind == "image":
            arr = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
            return ((arr - self.pixel_mean) / self.pixel_std).astype(np.float32)
        df = _frame(X)
        missing = [c for c in [*self.numeric, *self.categorical] if c not in df.columns]
        if missing:
            raise NASError(f"data lacks the columns the model was trained on: {missing[:5]}")
        parts = []
        if self.numeric:
            num = (
                df[self.numeric]
                .astype(float)
                .fillna(dict(zip(self.numeric, self.medians, strict=True)))
            )
            parts.append((num.to_numpy() - np.array(self.means)) / np.array(self.stds))
        for col, levels in self.categorical.items():
            values = df[col].astype(str).to_numpy()
            onehot = np.zeros((len(df), len(levels) + 1))
            pos = {v: i for i, v in enumerate(levels)}
            for r, v in enumerate(values):
                onehot[r, pos.get(v, len(levels))] = 1.0
            parts.append(onehot)
        if not parts:
            raise NASError("the data has no feature columns")
        return np.hstack(parts).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.rename(columns=str)
    arr = np.asarray(X)
    return pd.DataFrame(arr.reshape(len(arr), -1)).rename(columns=lambda c: f"x{c}")


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def encode_labels(y: Any) -> tuple[np.ndarray, list[Any]]:
    """Integer class codes and the sorted class values; refuses regression targets."""
    values = pd.Series(np.asarray(y).ravel())
    if values.isna().any():
        raise NASError("the target has missing values")
    if pd.api.types.is_float_dtype(values) and not np.all(np.mod(values.to_numpy(), 1) == 0):
        raise NASError("NAS handles classification; this target is continuous (regression)")
    classes = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise NASError(f"the target has a single class ({classes[0]!r}): nothing to learn")
    lookup = {c: i for i, c in enumerate(classes)}
    return values.map(lookup).to_numpy(dtype=np.int64), [_plain(c) for c in classes]


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def resolve_image_shape(
    X: pd.DataFrame | np.ndarray, declared: tuple[int, int, int] | None
) -> tuple[int, int, int]:
    """The (C, H, W) each row is read as; a declared shape must match the data."""
    if isinstance(X, np.ndarray) and X.ndim == 4:
        actual = tuple(int(s) for s in X.shape[1:])
        if declared is not None and tuple(declared) != actual:
            raise NASError(f"image shape {_fmt(declared)} does not match the data's {_fmt(actual)}")
        return actual  # type: ignore[return-value]
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = X.reshape(len(X), -1)
    n_features = int(np.asarray(X).shape[1]) if not isinstance(X, pd.DataFrame) else X.shape[1]
    if isinstance(X, pd.DataFrame) and not all(_is_numeric(X[c]) for c in X.columns):
        raise NASError("the cnn space needs numeric pixel columns; use the mlp space for tables")
    if declared is not None:
        c, h, w = declared
        if c * h * w != n_features:
            raise NASError(
                f"image shape {_fmt(declared)} needs {c * h * w} values per row, "
                f"but the data has {n_features} feature columns"
            )
        return (int(c), int(h), int(w))
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise NASError(
            f"cannot read {n_features} features as a square image: declare the image shape "
            "(--image-shape C,H,W)"
        )
    return (1, side, side)


def _fmt(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)
