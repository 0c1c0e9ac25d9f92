"""Dataset: features, target, inferred task and column types, and what was dropped why."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from automl_backend._errors import DataError
from automl_backend._registry import Task

log = logging.getLogger("automl_backend")

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime"]

_ID_NAME = re.compile(r"^(id|index|idx|key|uuid|row(_?id)?|unnamed: ?\d+)$|_id$", re.IGNORECASE)
_MAX_CLASSES_FOR_NUMBERS = 20


@dataclass
class Dataset:
    """A loaded table ready for modelling.

    ``X`` holds only the kept feature columns, ``y`` the target (rows with a missing
    target removed). ``order`` is the column chronological splits sort by, if any.
    """

    X: pd.DataFrame
    y: pd.Series
    task: Task
    name: str
    target: str
    column_types: dict[str, ColumnKind]
    dropped: dict[str, str] = field(default_factory=dict)
    """Dropped column -> reason (ID-like, constant, all missing)."""
    notes: list[str] = field(default_factory=list)
    """Things the loader did that a person should know (encoding fallback, dropped rows)."""
    order: pd.Series | None = None

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def classes(self) -> list[object]:
        """Sorted class labels (empty for regression)."""
        if self.task == "regression":
            return []
        return sorted(pd.unique(self.y), key=_label_key)

    def subset(self, rows: np.ndarray) -> Dataset:
        """The same data set restricted to positional ``rows``."""
        order = None if self.order is None else self.order.iloc[rows].reset_index(drop=True)
        return replace(
            self,
            X=self.X.iloc[rows].reset_index(drop=True),
            y=self.y.iloc[rows].reset_index(drop=True),
            order=order,
            notes=list(self.notes),
        )


def _label_key(label: object) -> tuple[int, object]:
    # Mixed label types cannot be compared directly; numbers sort before strings.
    if isinstance(label, int | float | np.integer | np.floating):
        return (0, float(label))
    return (1, str(label))


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    if sample.empty or not sample.str.contains(r"[-/:]").mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


def infer_column_kind(values: pd.Series) -> tuple[ColumnKind, pd.Series]:
    """Kind of one column, and the column converted to that kind."""
    if pd.api.types.is_bool_dtype(values):
        return "boolean", values
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime", values
    if pd.api.types.is_numeric_dtype(values):
        return "numeric", values
    non_null = values.dropna()
    if len(non_null) and set(non_null.astype(str).str.lower().unique()) <= {"true", "false"}:
        return "boolean", values.map(lambda v: None if pd.isna(v) else str(v).lower() == "true")
    numeric = pd.to_numeric(values, errors="coerce")
    if len(non_null) and numeric.notna().sum() >= 0.98 * len(non_null):
        return "numeric", numeric
    if _looks_like_dates(values):
        return "datetime", pd.to_datetime(values, errors="coerce", format="mixed")
    return "categorical", values.astype("object")


def _values(n: int) -> str:
    return f"{n} value{'s' if n != 1 else ''}"


def _clean_numeric(
    name: str, original: pd.Series, converted: pd.Series
) -> tuple[pd.Series, list[str]]:
    """``converted`` with infinities made missing, and notes on what became missing."""
    notes: list[str] = []
    coerced = original.notna() & converted.isna()
    n_text = int(coerced.sum())
    if n_text:
        examples = ", ".join(repr(v) for v in pd.unique(original[coerced])[:2])
        were = "were not numbers" if n_text != 1 else "was not a number"
        are = "are" if n_text != 1 else "is"
        notes.append(
            f"{_values(n_text)} of column {name!r} {were} (e.g. {examples}) "
            f"and {are} treated as missing"
        )
    infinite = converted.isin([np.inf, -np.inf])
    n_inf = int(infinite.sum())
    if n_inf:
        converted = converted.mask(infinite)
        were, are = ("were", "are") if n_inf != 1 else ("was", "is")
        notes.append(
            f"{_values(n_inf)} of column {name!r} {were} infinite and {are} treated as missing"
        )
    return converted, notes


def _reject_infinite_target(y: pd.Series, target: str) -> None:
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return
    n_inf = int(y.isin([np.inf, -np.inf]).sum())
    if n_inf:
        raise DataError(
            f"target {target!r} has {n_inf} infinite value{'s' if n_inf != 1 else ''}; "
            "every target must be a finite number: fix or remove those rows"
        )


def _drop_reason(name: str, values: pd.Series, kind: ColumnKind) -> str | None:
    n = len(values)
    non_null = values.dropna()
    if non_null.empty:
        return "all values missing"
    n_unique = non_null.nunique()
    if n_unique <= 1:
        return f"constant (single value {non_null.iloc[0]!r})"
    if n < 20 or kind in ("datetime", "boolean"):
        return None
    if kind == "categorical" and n_unique >= 0.95 * len(non_null):
        return f"ID-like: {n_unique} distinct strings in {len(non_null)} rows"
    is_integer = kind == "numeric" and np.all(np.mod(non_null.to_numpy(dtype=float), 1) == 0)
    if is_integer and n_unique == n:
        steps = np.diff(np.sort(non_null.to_numpy(dtype=float)))
        if np.all(steps == 1):
            return "ID-like: consecutive unique integers"
        if _ID_NAME.search(str(name)):
            return "ID-like: unique integer per row and an identifier's name"
    return None


def _infer_task(y: pd.Series, target: str) -> Task:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "binary" if y.nunique() == 2 else "multiclass"
    values = y.to_numpy(dtype=float)
    n_unique = y.nunique()
    integral = bool(np.all(np.mod(values, 1) == 0))
    if integral and n_unique <= _MAX_CLASSES_FOR_NUMBERS:
        return "binary" if n_unique == 2 else "multiclass"
    return "regression"


def _prepare_target(y: pd.Series, task: str, target: str) -> tuple[pd.Series, Task]:
    n_unique = y.nunique()
    if task == "regression" or (task == "auto" and _infer_task(y, target) == "regression"):
        if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
            numeric = pd.to_numeric(y, errors="coerce")
            bad = y[numeric.isna()]
            if len(bad):
                raise DataError(
                    f"target {target!r} must be numeric for regression, found "
                    f"values like {bad.iloc[0]!r}"
                )
            _reject_infinite_target(numeric, target)
            y = numeric
        if n_unique < 2:
            raise DataError(f"target {target!r} has a single value; nothing to predict")
        return y.astype(float), "regression"
    if n_unique < 2:
        only = y.iloc[0] if len(y) else None
        raise DataError(f"target {target!r} has only one class ({only!r}); need at least two")
    inferred: Task = "binary" if n_unique == 2 else "multiclass"
    if task == "binary" and n_unique != 2:
        raise DataError(f"task is binary but target {target!r} has {n_unique} classes")
    if task == "multiclass" and n_unique == 2:
        inferred = "binary"
    if pd.api.types.is_float_dtype(y) and np.all(np.mod(y.to_numpy(), 1) == 0):
        y = y.astype(np.int64)
    return y, inferred


def build_dataset(
    frame: pd.DataFrame,
    target: str,
    *,
    task: str = "auto",
    name: str = "data",
    time_column: str | None = None,
    notes: list[str] | None = None,
) -> Dataset:
    """Check a table, infer task and column types, drop useless columns."""
    notes = list(notes or [])
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise DataError(f"duplicate column names: {', '.join(duplicated)}")
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty or len(frame) == 0:
        raise DataError(f"{name} has no data rows")
    if target not in frame.columns:
        raise DataError(
            f"target column {target!r} not found; columns: {', '.join(map(str, frame.columns))}"
        )
    if time_column is not None and time_column not in frame.columns:
        raise DataError(
            f"time column {time_column!r} not found; columns: {', '.join(frame.columns)}"
        )
    y = frame[target]
    _reject_infinite_target(y, target)
    missing = int(y.isna().sum())
    if missing == len(y):
        raise DataError(f"target {target!r} is missing (NaN) in every row")
    if missing:
        frame = frame.loc[y.notna()].reset_index(drop=True)
        y = frame[target]
        notes.append(f"dropped {missing} rows whose target is missing")
    y, inferred = _prepare_target(y.reset_index(drop=True), task, target)

    order = None
    if time_column is not None:
        kind, converted = infer_column_kind(frame[time_column])
        if kind not in ("numeric", "datetime"):
            raise DataError(f"time column {time_column!r} is neither numeric nor a date")
        order = converted.reset_index(drop=True)

    column_types: dict[str, ColumnKind] = {}
    dropped: dict[str, str] = {}
    features = {}
    for column in frame.columns:
        if column == target:
            continue
        kind, converted = infer_column_kind(frame[column])
        if kind == "numeric":
            converted, cleaning = _clean_numeric(column, frame[column], converted)
            for note in cleaning:
                log.info(note)
            notes += cleaning
        reason = _drop_reason(column, converted, kind)
        if reason:
            dropped[column] = reason
            log.info("dropping column %r: %s", column, reason)
            continue
        column_types[column] = kind
        features[column] = converted.reset_index(drop=True)
    if not features:
        raise DataError(
            f"no usable feature columns in {name}"
            + (
                f" (dropped: {', '.join(f'{c}: {r}' for c, r in dropped.items())})"
                if dropped
                else ""
            )
        )
    X = pd.DataFrame(features)
    return Dataset(
        X=X,
        y=y.rename(target),
        task=inferred,
        name=name,
        target=target,
        column_types=column_types,
        dropped=dropped,
        notes=notes,
        order=order,
    )
