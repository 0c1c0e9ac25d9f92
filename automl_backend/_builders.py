"""Turn a registry family plus hyperparameter values into an unfitted estimator.

The only place that maps registry names to library classes; a spec never reaches an
import path. Classification estimators are always fitted on labels 0..k-1.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

Builder = Callable[[dict[str, Any], bool, int, int, int], Any]
"""(params, classification, seed, n_threads, n_train) -> estimator."""


def _forest(extra: bool) -> Builder:
    def build(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
        from sklearn import ensemble

        name = ("ExtraTrees" if extra else "RandomForest") + ("Classifier" if cls else "Regressor")
        depth = p.get("max_depth", 200)
        kwargs: dict[str, Any] = {
            "n_estimators": p.get("n_estimators", 200),
            "max_features": p.get("max_features", 0.3),
            "min_samples_leaf": p.get("min_samples_leaf", 1),
            "max_depth": None if depth >= 200 else depth,
            "bootstrap": p.get("bootstrap", not extra),
            "n_jobs": threads,
            "random_state": seed,
        }
        if cls:
            weight = p.get("class_weight")
            # balanced_subsample only means something when trees see bootstrap samples.
            if weight == "balanced_subsample" and not kwargs["bootstrap"]:
                weight = "balanced"
            kwargs["class_weight"] = weight
        return getattr(ensemble, name)(**kwargs)

    return build


def _logistic(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=p.get("C", 1.0),
        class_weight=p.get("class_weight"),
        max_iter=p.get("max_iter", 500),
        random_state=seed,
    )


def _ridge(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p.get("alpha", 1.0), random_state=seed)


def _elastic_net(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.linear_model import ElasticNet

    return ElasticNet(
        alpha=p.get("alpha", 0.01),
        l1_ratio=p.get("l1_ratio", 0.5),
        max_iter=p.get("max_iter", 2000),
        random_state=seed,
    )


def _hgb(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn import ensemble

    kind = "HistGradientBoostingClassifier" if cls else "HistGradientBoostingRegressor"
    return getattr(ensemble, kind)(
        learning_rate=p.get("learning_rate", 0.1),
        max_iter=p.get("max_iter", 200),
        max_leaf_nodes=p.get("max_leaf_nodes", 31),
        min_samples_leaf=p.get("min_samples_leaf", 20),
        l2_regularization=p.get("l2_regularization", 0.0),
        max_features=p.get("max_features", 1.0),
        early_stopping=bool(p.get("early_stopping", False)) and n >= 100,
        random_state=seed,
    )


EARLY_STOPPING_MIN_ROWS = 1000
"""Fewer training rows than this fit every round: a 10 % validation share of them is
too small to tell when to stop."""
EARLY_STOPPING_SHARE = 0.1
"""Share of a fit's rows held out to decide when boosting stops."""
EARLY_STOPPING_PATIENCE = 50
"""Rounds without improvement of the validation loss before boosting stops."""

_fit_deadline: float | None = None
"""``time.monotonic()`` by which an early-stopped fit in this process stops adding
rounds (set per fit by a trial's child process; None: no limit)."""


def set_fit_deadline(deadline: float | None) -> None:
    """Boosting fits in this process stop adding rounds at ``deadline`` (monotonic clock)
    and keep their best round so far, as early stopping would; None lifts the limit."""
    global _fit_deadline
    _fit_deadline = deadline


class _StopAtDeadline:
    """A LightGBM callback: past the deadline, end boosting at the best round so far.

    It runs after early stopping's own callback (``order``) and reuses its record of the
    best round, so a fit cut by time is the model early stopping would have kept had the
    validation loss stopped improving then. A trial that would otherwise be killed at its
    time limit with nothing to show gives a scored, shorter model instead.
    """

    order = 31
    before_iteration = False

    def __init__(self, stopper: Any, deadline: float) -> None:
        self.stopper, self.deadline = stopper, deadline
        self.stopped = False

    def __call__(self, env: Any) -> None:
        if time.monotonic() < self.deadline:
            return
        from lightgbm.callback import EarlyStopException

        self.stopped = True
        best = getattr(self.stopper, "best_iter", None)
        scores = getattr(self.stopper, "best_score_list", None)
        if best and scores:
            raise EarlyStopException(best[0], scores[0])
        raise EarlyStopException(env.iteration, env.evaluation_result_list)


class _CountRounds:
    """A LightGBM callback that counts the rounds boosted: LightGBM keeps only the rounds
    up to the best one in the model, and the work of a fit is every round it boosted."""

    order = 5
    before_iteration = False

    def __init__(self) -> None:
        self.rounds = 0

    def __call__(self, env: Any) -> None:
        self.rounds = env.iteration - env.begin_iteration + 1


class _EarlyStopped(BaseEstimator):
    """A LightGBM model that stops adding rounds when a held-out share stops improving.

    Boosting rounds are where a trial's time goes on large data, and a fixed count is
    either wasted (past the best round) or short; stopping early makes each trial both
    cheaper and better. The rounds it kept (``best_iteration_``) are what the final
    refit on every row uses, without a held-out share (see ``_hpo.finalize``).
    """

    def __init__(self, estimator: Any = None, share: float = EARLY_STOPPING_SHARE,
                 patience: int = EARLY_STOPPING_PATIENCE, seed: int = 0) -> None:  # fmt: skip
        self.estimator = estimator
        self.share = share
        self.patience = patience
        self.seed = seed

    def fit(self, X: Any, y: Any) -> _EarlyStopped:
        import lightgbm
        from sklearn.base import clone
        from sklearn.model_selection import train_test_split

        y = np.asarray(y)
        stratify = None
        if isinstance(self, ClassifierMixin):
            _, counts = np.unique(y, return_counts=True)
            stratify = y if counts.min() >= 2 else None
        rows = np.arange(len(y))
        fit_rows, stop_rows = train_test_split(
            rows, test_size=self.share, random_state=self.seed, stratify=stratify
        )
        self.estimator_ = clone(self.estimator)
        held_out = (_rows(X, stop_rows), y[stop_rows])
        # LightGBM 4.7 renamed eval_set to eval_X/eval_y (the old name warns); 4.3 has only it.
        if "eval_X" in inspect.signature(self.estimator_.fit).parameters:
            evaluation: dict[str, Any] = {"eval_X": held_out[0], "eval_y": held_out[1]}
        else:
            evaluation = {"eval_set": [held_out]}
        stopper = lightgbm.early_stopping(self.patience, verbose=False)
        timer = None if _fit_deadline is None else _StopAtDeadline(stopper, _fit_deadline)
        counter = _CountRounds()
        self.estimator_.fit(
            _rows(X, fit_rows), y[fit_rows],
            callbacks=[counter, stopper] if timer is None else [counter, stopper, timer],
            **evaluation,
        )  # fmt: skip
        best = getattr(self.estimator_, "best_iteration_", 0) or self.estimator.n_estimators
        self.best_iteration_ = int(best)
        self.boosted_rounds_ = counter.rounds or self.best_iteration_
        self.cut_by_time_ = timer is not None and timer.stopped
        if isinstance(self, ClassifierMixin):
            self.classes_ = self.estimator_.classes_
        self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(X))


class EarlyStoppedClassifier(ClassifierMixin, _EarlyStopped):
    """:class:`_EarlyStopped` for classification (stratified held-out share)."""

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_proba(X))


class EarlyStoppedRegressor(RegressorMixin, _EarlyStopped):
    """:class:`_EarlyStopped` for regression."""


def _rows(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _early_stopped(model: Any) -> _EarlyStopped | None:
    steps = getattr(model, "steps", None)
    last = steps[-1][1] if steps else model
    inner = getattr(last, "estimator_", None)
    if isinstance(inner, _EarlyStopped):  # wrapped, e.g. by the SMOTE oversampler
        last = inner
    return last if isinstance(last, _EarlyStopped) else None


def boosting_rounds(model: Any) -> int | None:
    """Rounds an early-stopped model kept (the last step of a pipeline); None otherwise."""
    found = _early_stopped(model)
    return getattr(found, "best_iteration_", None) if found is not None else None


def boosted_rounds(model: Any) -> int | None:
    """Rounds an early-stopped model boosted, past its best one too; None otherwise."""
    found = _early_stopped(model)
    return getattr(found, "boosted_rounds_", None) if found is not None else None


def cut_by_time(model: Any) -> bool:
    """Whether an early-stopped model's boosting was ended by the fit deadline."""
    found = _early_stopped(model)
    return bool(getattr(found, "cut_by_time_", False)) if found is not None else False


TREE_NODE_BYTES = 64
"""Bytes of one node record of a scikit-learn tree (its ``value`` array comes on top)."""


def stored_tree_mb(pipeline: Any) -> float:
    """Megabytes the scikit-learn trees of a fitted pipeline take when saved: node records
    plus their class-value arrays (random forest, extra trees, decision tree).

    Fully grown forests are what makes a model file large: on letter (18 000 rows, 26
    classes) 200 extra trees held 1.9 million nodes, 513 MB by this estimate, and
    ``FittedModel.save`` wrote a 518 MB file in 5.3 s. Other families' saved size is
    small next to that and counted as 0.
    """
    total = 0
    for structure in _fitted_trees(pipeline):
        values = structure.value
        total += structure.node_count * (TREE_NODE_BYTES + values.itemsize * values[0].size)
    return total / 1e6


def stored_tree_count(pipeline: Any) -> int:
    """How many scikit-learn trees a fitted pipeline holds (0 for other families). Saving
    costs a few milliseconds per tree however small it is (skops writes each as its own
    object), which is what a many-forest ensemble's model file takes its time on."""
    return len(_fitted_trees(pipeline))


def _fitted_trees(pipeline: Any) -> list[Any]:
    """The ``tree_`` structures of a fitted pipeline's final tree model or forest."""
    steps = getattr(pipeline, "steps", None)
    last = steps[-1][1] if steps else pipeline
    if not hasattr(last, "estimators_"):  # a forest's estimator_ is its unfitted template
        last = getattr(last, "estimator_", last)  # wrappers such as the SMOTE oversampler
    trees = getattr(last, "estimators_", None)
    if not isinstance(trees, list):
        trees = [last]
    found = (getattr(tree, "tree_", None) for tree in trees)
    return [structure for structure in found if structure is not None]


def _lightgbm(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - lightgbm is a declared dependency
        raise ImportError("the lightgbm family needs LightGBM: pip install lightgbm") from exc

    subsample = p.get("subsample", 1.0)
    kind = lightgbm.LGBMClassifier if cls else lightgbm.LGBMRegressor
    model = kind(
        n_estimators=p.get("n_estimators", 200),
        learning_rate=p.get("learning_rate", 0.1),
        num_leaves=p.get("num_leaves", 31),
        min_child_samples=min(p.get("min_child_samples", 20), max(n // 2, 1)),
        subsample=subsample,
        subsample_freq=1 if subsample < 1.0 else 0,
        colsample_bytree=p.get("colsample_bytree", 1.0),
        reg_alpha=p.get("reg_alpha", 0.0),
        reg_lambda=p.get("reg_lambda", 0.0),
        n_jobs=threads,
        random_state=seed,
        verbosity=-1,
    )
    if not p.get("early_stopping", True) or n < EARLY_STOPPING_MIN_ROWS:
        return model
    wrapper = EarlyStoppedClassifier if cls else EarlyStoppedRegressor
    return wrapper(model, seed=seed)


def _svm(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.svm import SVC, SVR

    gamma = p.get("gamma", "scale")
    if not cls:
        return SVR(C=p.get("C", 1.0), gamma=gamma, epsilon=p.get("epsilon", 0.1))
    from sklearn.calibration import CalibratedClassifierCV

    svc = SVC(C=p.get("C", 1.0), gamma=gamma, class_weight=p.get("class_weight"), cache_size=500)
    # Platt scaling on 3 internal folds gives the probabilities ensembles need.
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3 if n <= 2000 else 2, ensemble=False)


def _knn(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    kind = KNeighborsClassifier if cls else KNeighborsRegressor
    return kind(
        n_neighbors=max(1, min(p.get("n_neighbors", 5), n - 1)),
        weights=p.get("weights", "uniform"),
        p=p.get("p", 2),
        n_jobs=threads,
    )


def _mlp(p: dict[str, Any], cls: bool, seed: int, threads: int, n: int) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = MLPClassifier if cls else MLPRegressor
    return kind(
        hidden_layer_sizes=(p.get("layer_width", 100),) * p.get("n_layers", 1),
        alpha=p.get("alpha", 1e-4),
        learning_rate_init=p.get("learning_rate_init", 1e-3),
        max_iter=p.get("max_iter", 200),
        early_stopping=n >= 100,
        random_state=seed,
    )


BUILDERS: dict[str, Builder] = {
    "logistic": _logistic,
    "ridge": _ridge,
    "elastic_net": _elastic_net,
    "random_forest": _forest(extra=False),
    "extra_trees": _forest(extra=True),
    "hist_gradient_boosting": _hgb,
    "lightgbm": _lightgbm,
    "svm": _svm,
    "knn": _knn,
    "mlp": _mlp,
}


def build_estimator(
    family: str,
    params: dict[str, Any],
    *,
    classification: bool,
    seed: int = 0,
    n_threads: int = 1,
    n_train: int = 1000,
) -> Any:
    """An unfitted estimator of ``family`` with ``params`` (missing ones at defaults)."""
    return BUILDERS[family](params, classification, seed, n_threads, n_train)
