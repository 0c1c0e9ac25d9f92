"""AutoMLClassifier / AutoMLRegressor: the backend behind scikit-learn's estimator contract.

``__init__`` only stores its arguments; ``fit`` runs one experiment (search, greedy
ensemble, refit) and sets the learned attributes, which end in ``_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from automl_backend._artifacts import leaderboard
from automl_backend._dataset import build_dataset
from automl_backend._errors import BackendError
from automl_backend._hpo.run import run_hpo
from automl_backend._spec import ExperimentSpec, parse_spec

_TARGET = "__target__"


class _AutoMLBase(BaseEstimator):
    """Shared fit/predict logic; subclasses fix the task family."""

    _classification = False

    def __init__(
        self,
        time_budget: float | None = None,
        n_trials: int | None = None,
        metric: str | None = None,
        spec: ExperimentSpec | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
        features: str | list[dict[str, Any]] | None = None,
    ) -> None:
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.spec = spec
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.features = features

    def _experiment(self) -> ExperimentSpec:
        base = self.spec if self.spec is not None else ExperimentSpec()
        data = base.model_dump(mode="json")
        if self.time_budget is not None:
            data["budget"]["time_s"] = self.time_budget
        if self.n_trials is not None:
            data["budget"]["n_trials"] = self.n_trials
            if self.time_budget is None and self.spec is None:
                data["budget"]["time_s"] = None
        if self.metric is not None:
            data["metric"] = self.metric
        data["budget"]["n_jobs"] = self.n_jobs
        if self.features is not None:
            data["features"] = self.features
        data["seed"] = self.random_state
        return parse_spec(data, source=f"{type(self).__name__} settings")

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite="allow-nan")
        validate_data(self, X, reset=reset, skip_check_array=True)
        if isinstance(X, pd.DataFrame):
            frame = X.copy()
            frame.columns = [str(c) for c in frame.columns]
            numeric = frame.select_dtypes(include="number")
            if numeric.size and np.isinf(numeric.to_numpy(dtype=float)).any():
                raise ValueError("Input X contains infinity.")
        else:
            array = X
            frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
            if array.dtype == object:
                frame = frame.infer_objects()
        if not reset:
            frame.columns = self._columns_
        return frame

    def fit(self, X: Any, y: Any) -> _AutoMLBase:
        """Search, ensemble and refit on ``X``, ``y``; returns self."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        frame = self._frame(X, reset=True)
        self._columns_ = list(frame.columns)
        target = column_or_1d(y, warn=True)
        if len(target) != len(frame):
            raise ValueError(f"X has {len(frame)} samples but y has {len(target)}")
        if len(frame) < 2:
            raise ValueError(f"n_samples = {len(frame)}; need at least 2 samples to fit")
        if self._classification:
            check_classification_targets(target)
        else:
            target = np.asarray(target, dtype=float)
            if not np.isfinite(target).all():
                raise ValueError("Input y contains NaN or infinity.")
        frame[_TARGET] = target
        experiment = self._experiment()
        task = experiment.task
        if self._classification:
            task = "binary" if len(np.unique(target)) <= 2 else "multiclass"
        elif task == "auto":
            task = "regression"
        dataset = build_dataset(frame, _TARGET, task=task, name=type(self).__name__)
        output = run_hpo(experiment, dataset)
        if output.model is None:
            raise BackendError(f"AutoML fit failed: {output.result.reason}")
        self.model_ = output.model
        self.result_ = output.result
        self.study_ = output.study
        self.leaderboard_ = leaderboard(output.records)
        self.ensemble_ = list(output.result.ensemble)
        best = output.result.best_config
        self.best_params_ = best.model_dump(mode="json") if best is not None else {}
        self.best_score_ = output.result.best_score
        if self._classification:
            self.classes_ = np.asarray(output.model.classes)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(self._frame(X, reset=False))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags


class AutoMLClassifier(ClassifierMixin, _AutoMLBase):
    """Tabular AutoML classifier: model/hyperparameter search plus a greedy ensemble.

    Parameters: ``time_budget`` (seconds for the whole fit; default the spec's 60 s),
    ``n_trials``, ``metric`` (e.g. accuracy, roc_auc, log_loss), ``spec`` (an
    ExperimentSpec to start from), ``n_jobs`` (parallel trials), ``random_state``,
    ``features`` (``"auto"``: greedy selection of feature transforms on inner folds
    before the search; or a list of transforms in the spec's ``features`` form).
    With only ``n_trials`` set the fit is deterministic.
    """

    _classification = True

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(self._frame(X, reset=False))


class AutoMLRegressor(RegressorMixin, _AutoMLBase):
    """Tabular AutoML regressor; same parameters as :class:`AutoMLClassifier`."""
