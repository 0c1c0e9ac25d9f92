"""DatasetProfile: cheap meta-features of a data set, for prompts and similarity search."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from automl_backend._registry import Task

if TYPE_CHECKING:
    from automl_backend._dataset import Dataset

_LANDMARK_ROWS = 2000
_LANDMARK_FOLDS = 3


class DatasetProfile(BaseModel):
    """Size, shape and difficulty of a data set.

    ``landmark_stump`` and ``landmark_nb`` are 3-fold CV scores on a subsample of at
    most 2000 rows: a depth-1 decision tree and Gaussian naive Bayes (ridge
    regression for regression tasks). Classification landmarks are accuracies,
    regression landmarks R^2; both higher is better.
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    task: Task
    target: str
    n_rows: int = Field(ge=0)
    n_features: int = Field(ge=0)
    n_numeric: int = Field(ge=0)
    n_categorical: int = Field(ge=0)
    n_classes: int | None = None
    minority_class_share: float | None = None
    share_categorical: float = Field(ge=0, le=1)
    share_missing: float = Field(ge=0, le=1)
    landmark_stump: float
    landmark_nb: float

    def meta_vector(self) -> list[float]:
        """Numbers scaled to roughly [0, 1], for nearest-neighbour search over data sets."""
        is_regression = self.task == "regression"
        return [
            min(math.log10(max(self.n_rows, 1)) / 6.0, 1.0),
            min(math.log10(max(self.n_features, 1)) / 4.0, 1.0),
            self.share_categorical,
            self.share_missing,
            0.0 if is_regression else min(math.log2(max(self.n_classes or 2, 2)) / 7.0, 1.0),
            0.0 if is_regression else 2.0 * (self.minority_class_share or 0.0),
            max(min(self.landmark_stump, 1.0), 0.0),
            max(min(self.landmark_nb, 1.0), 0.0),
            1.0 if is_regression else 0.0,
            1.0 if self.task == "binary" else 0.0,
        ]

    def describe(self) -> str:
        """One paragraph for prompts."""
        kind = {
            "binary": "binary classification",
            "multiclass": f"{self.n_classes}-class classification",
            "regression": "regression",
        }[self.task]
        parts = [
            f"Data set '{self.name}': {kind} of target '{self.target}' with "
            f"{self.n_rows} rows and {self.n_features} features "
            f"({self.n_numeric} numeric, {self.n_categorical} categorical)",
        ]
        if self.minority_class_share is not None:
            parts.append(f"the smallest class holds {self.minority_class_share:.1%} of rows")
        parts.append(f"{self.share_missing:.1%} of feature values are missing")
        measure = "accuracy" if self.task != "regression" else "R^2"
        baseline = "Gaussian naive Bayes" if self.task != "regression" else "ridge regression"
        parts.append(
            f"a depth-1 tree reaches {measure} {self.landmark_stump:.3f} and {baseline} "
            f"{self.landmark_nb:.3f} in 3-fold CV"
        )
        return "; ".join(parts) + "."


def profile_dataset(dataset: Dataset) -> DatasetProfile:
    """Meta-features and landmarkers of ``dataset`` (well under 2 s on a subsample)."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    X, y = dataset.X, dataset.y
    kinds = dataset.column_types
    n_categorical = sum(1 for k in kinds.values() if k == "categorical")
    n_features = dataset.n_features
    cells = max(X.size, 1)
    classification = dataset.task != "regression"
    n_classes = minority = None
    if classification:
        counts = y.value_counts()
        n_classes = len(counts)
        minority = float(counts.min() / counts.sum())

    rng = np.random.default_rng(0)
    rows = np.arange(len(X))
    if len(rows) > _LANDMARK_ROWS:
        rows = np.sort(rng.choice(rows, _LANDMARK_ROWS, replace=False))
    Xs = _numeric_matrix(X.iloc[rows])
    ys = y.iloc[rows].to_numpy()
    stump, simple = _landmark_models(classification)
    if classification:
        _, class_counts = np.unique(ys, return_counts=True)
        folds = max(2, min(_LANDMARK_FOLDS, int(class_counts.min())))
        cv = (
            StratifiedKFold(folds, shuffle=True, random_state=0)
            if class_counts.min() >= 2
            else KFold(folds, shuffle=True, random_state=0)
        )
        scoring = "accuracy"
    else:
        cv = KFold(min(_LANDMARK_FOLDS, max(len(ys), 2)), shuffle=True, random_state=0)
        scoring = "r2"
    landmark_stump = _cv_mean(stump, Xs, ys, cv, scoring)
    landmark_nb = _cv_mean(simple, Xs, ys, cv, scoring)
    return DatasetProfile(
        name=dataset.name,
        task=dataset.task,
        target=dataset.target,
        n_rows=dataset.n_rows,
        n_features=n_features,
        n_numeric=n_features - n_categorical,
        n_categorical=n_categorical,
        n_classes=n_classes,
        minority_class_share=minority,
        share_categorical=n_categorical / n_features if n_features else 0.0,
        share_missing=float(X.isna().to_numpy().sum() / cells),
        landmark_stump=landmark_stump,
        landmark_nb=landmark_nb,
    )


def _numeric_matrix(X: object) -> object:
    """Features as a dense float matrix: codes for categories, medians for gaps."""
    import numpy as np
    import pandas as pd

    assert isinstance(X, pd.DataFrame)
    columns = []
    for name in X.columns:
        col = X[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            values = col.astype("int64", errors="ignore").astype(float)
            values = values.where(col.notna())
        elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            values = col.astype(float)
        else:
            values = pd.Series(pd.factorize(col)[0], index=col.index).astype(float)
            values = values.where(values >= 0)
        median = values.median()
        columns.append(values.fillna(0.0 if np.isnan(median) else median).to_numpy())
    return np.column_stack(columns) if columns else np.zeros((len(X), 0))


def _landmark_models(classification: bool) -> tuple[object, object]:
    from sklearn.linear_model import Ridge
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if classification:
        return DecisionTreeClassifier(max_depth=1, random_state=0), GaussianNB()
    return (
        DecisionTreeRegressor(max_depth=1, random_state=0),
        make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
    )


def _cv_mean(model: object, X: object, y: object, cv: object, scoring: str) -> float:
    import warnings

    import numpy as np
    from sklearn.model_selection import cross_val_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(model, X, y, cv=cv, scoring=scoring, error_score=np.nan)
    value = float(np.nanmean(scores)) if np.isfinite(scores).any() else 0.0
    return round(value, 6)
