"""FittedModel: the final (ensemble) model of a run, saved as ``model.joblib``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_backend._errors import BackendError, DataError
from automl_backend._preprocess import coerce_columns
from automl_backend._worker import predict_matrix

MODEL_FILE = "model.joblib"


@dataclass
class FittedModel:
    """Weighted members (fitted pipelines) plus what is needed to read new data.

    ``classes`` maps class index -> original label; empty for regression.
    """

    task: str
    target: str
    column_types: dict[str, str]
    classes: list[Any]
    members: list[tuple[float, Any]]
    member_configs: list[dict[str, Any]] = field(default_factory=list)
    metric: str = ""

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X), columns=list(self.column_types))
        elif any(not isinstance(c, str) for c in X.columns):
            X = X.rename(columns=str)
        try:
            return coerce_columns(X, self.column_types)
        except KeyError as exc:
            missing = exc.args[0]
            raise DataError(
                f"data lacks the model's columns: {', '.join(map(str, missing))}"
            ) from None

    def predict_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Averaged class probabilities (classification) or predictions (regression)."""
        rows = self._prepare(X)
        k = len(self.classes) if self.classification else 0
        total = None
        for weight, pipeline in self.members:
            part = weight * predict_matrix(pipeline, rows, k)
            total = part if total is None else total + part
        assert total is not None
        weights = sum(w for w, _ in self.members)
        return total / weights

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not self.classification:
            raise BackendError("predict_proba needs a classification model")
        return self.predict_matrix(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self.predict_matrix(X)
        if not self.classification:
            return matrix
        return np.asarray(self.classes, dtype=object)[matrix.argmax(axis=1)].astype(
            _label_dtype(self.classes)
        )

    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        joblib.dump(self, path)
        return path


def _label_dtype(classes: list[Any]) -> Any:
    values = np.asarray(classes)
    return values.dtype if values.dtype.kind in "biuf" else object


def load_model(path: str | Path) -> FittedModel:
    """Load a run's model from its run directory or a ``model.joblib`` file."""
    import joblib

    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise BackendError(f"no model found at {file}")
    try:
        model = joblib.load(file)
    except Exception as exc:
        raise BackendError(f"cannot load model {file}: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, FittedModel):
        raise BackendError(f"{file} does not hold a cosci model")
    return model
