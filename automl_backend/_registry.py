"""The estimator registry: which model families exist, their hyperparameters and limits.

This module only *declares* families (names, limits, default spaces, default
configurations); building the actual scikit-learn/LightGBM objects happens in
``_builders.py`` so that importing the registry stays cheap. A spec can only name
families and hyperparameters listed here: nothing can point at an import path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from automl_backend._distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Scalar,
)

Task = Literal["binary", "multiclass", "regression"]
TaskKind = Literal["classification", "regression"]


class HyperParameter(BaseModel):
    """Hard limits of one hyperparameter; a spec's distribution must stay inside them."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    choices: tuple[Scalar, ...] = ()
    default: Scalar
    """Value of the family's default configuration."""
    space: Distribution
    """Range searched when a spec leaves this hyperparameter out."""
    searched: bool = True
    """False: left out of the default space (the default value is used instead)."""
    tasks: tuple[TaskKind, ...] = ("classification", "regression")
    help: str = ""

    def limits_text(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return f"{self.kind} in [{_num(self.low)}, {_num(self.high)}]"


class FamilyInfo(BaseModel):
    """One registered model family."""

    model_config = ConfigDict(frozen=True)
    name: str
    tasks: tuple[TaskKind, ...]
    description: str
    scale_sensitive: bool
    """Needs scaled, one-hot-encoded inputs (linear, kernel, distance, neural models)."""
    relative_cost: int
    """Rough fit cost rank (1 cheapest); warm-start order and size-based defaults use it."""
    hyperparameters: dict[str, HyperParameter]


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e6 else f"{value:g}"


def _int(low: int, high: int, default: int, space: tuple[int, int], *, log: bool = False,
         searched: bool = True, tasks: tuple[TaskKind, ...] = ("classification", "regression"),
         help: str = "") -> HyperParameter:  # fmt: skip
    return HyperParameter(
        kind="int", low=low, high=high, default=default, searched=searched, tasks=tasks,
        space=IntDistribution(low=space[0], high=space[1], log=log), help=help,
    )  # fmt: skip


def _float(low: float, high: float, default: float, space: tuple[float, float], *,
           log: bool = False, searched: bool = True,
           tasks: tuple[TaskKind, ...] = ("classification", "regression"),
           help: str = "") -> HyperParameter:  # fmt: skip
    return HyperParameter(
        kind="float", low=low, high=high, default=default, searched=searched, tasks=tasks,
        space=FloatDistribution(low=space[0], high=space[1], log=log), help=help,
    )  # fmt: skip


def _cat(choices: tuple[Scalar, ...], default: Scalar, *, searched: bool = True,
         tasks: tuple[TaskKind, ...] = ("classification", "regression"),
         help: str = "") -> HyperParameter:  # fmt: skip
    return HyperParameter(
        kind="categorical", choices=choices, default=default, searched=searched, tasks=tasks,
        space=CategoricalDistribution(choices=list(choices)), help=help,
    )  # fmt: skip


_CLS: tuple[TaskKind, ...] = ("classification",)
_REG: tuple[TaskKind, ...] = ("regression",)
_BOTH: tuple[TaskKind, ...] = ("classification", "regression")


def _forest(name: str, description: str, cost: int) -> FamilyInfo:
    return FamilyInfo(
        name=name, tasks=_BOTH, description=description, scale_sensitive=False,
        relative_cost=cost,
        hyperparameters={
            "n_estimators": _int(10, 2000, 200, (50, 500), log=True, help="number of trees"),
            "max_features": _float(0.01, 1.0, 0.3, (0.05, 1.0), help="share of features per split"),
            "min_samples_leaf": _int(1, 200, 1, (1, 20), log=True),
            "max_depth": _int(1, 200, 200, (4, 200), log=True, searched=False,
                              help="200 means effectively unlimited"),
            "bootstrap": _cat((True, False), name == "random_forest"),
            "class_weight": _cat((None, "balanced", "balanced_subsample"), None, tasks=_CLS),
        },
    )  # fmt: skip


_FAMILIES: tuple[FamilyInfo, ...] = (
    FamilyInfo(
        name="logistic", tasks=_CLS, scale_sensitive=True, relative_cost=1,
        description="L2-regularised logistic regression (lbfgs)",
        hyperparameters={
            "C": _float(1e-5, 1e5, 1.0, (1e-3, 1e3), log=True, help="inverse regularisation"),
            "class_weight": _cat((None, "balanced"), None),
            "max_iter": _int(50, 5000, 500, (100, 2000), log=True, searched=False),
        },
    ),
    FamilyInfo(
        name="ridge", tasks=_REG, scale_sensitive=True, relative_cost=1,
        description="ridge regression (L2-regularised least squares)",
        hyperparameters={
            "alpha": _float(1e-6, 1e6, 1.0, (1e-3, 1e3), log=True),
        },
    ),
    FamilyInfo(
        name="elastic_net", tasks=_REG, scale_sensitive=True, relative_cost=1,
        description="elastic-net regression (mixed L1/L2 penalty)",
        hyperparameters={
            "alpha": _float(1e-6, 1e3, 0.01, (1e-4, 10.0), log=True),
            "l1_ratio": _float(0.0, 1.0, 0.5, (0.05, 1.0)),
            "max_iter": _int(100, 20000, 2000, (500, 5000), log=True, searched=False),
        },
    ),
    _forest("random_forest", "random forest (bagged CART trees)", 3),
    _forest("extra_trees", "extremely randomised trees", 2),
    FamilyInfo(
        name="hist_gradient_boosting", tasks=_BOTH, scale_sensitive=False, relative_cost=3,
        description="scikit-learn histogram gradient boosting",
        hyperparameters={
            "learning_rate": _float(1e-3, 1.0, 0.1, (0.01, 0.5), log=True),
            "max_iter": _int(10, 5000, 200, (50, 1000), log=True, help="boosting rounds"),
            "max_leaf_nodes": _int(2, 1024, 31, (8, 128), log=True),
            "min_samples_leaf": _int(1, 500, 20, (2, 100), log=True),
            "l2_regularization": _float(1e-10, 100.0, 1e-8, (1e-8, 10.0), log=True),
            "max_features": _float(0.05, 1.0, 1.0, (0.3, 1.0)),
            "early_stopping": _cat((True, False), False),
        },
    ),
    FamilyInfo(
        name="lightgbm", tasks=_BOTH, scale_sensitive=False, relative_cost=2,
        description="LightGBM gradient boosted trees",
        hyperparameters={
            "n_estimators": _int(10, 5000, 200, (50, 1000), log=True, help="boosting rounds"),
            "learning_rate": _float(1e-3, 1.0, 0.1, (0.01, 0.3), log=True),
            "num_leaves": _int(2, 1024, 31, (4, 128), log=True),
            "min_child_samples": _int(1, 500, 20, (2, 100), log=True),
            "subsample": _float(0.1, 1.0, 1.0, (0.5, 1.0), help="row share per tree"),
            "colsample_bytree": _float(0.05, 1.0, 1.0, (0.3, 1.0)),
            "reg_alpha": _float(1e-10, 100.0, 1e-8, (1e-8, 10.0), log=True),
            "reg_lambda": _float(1e-10, 100.0, 1e-8, (1e-8, 10.0), log=True),
            "early_stopping": _cat((True, False), True, searched=False,
                                   help="stop at the best round on a 10 % held-out share "
                                   "(from 1000 rows; the refit reuses the rounds found)"),
        },
    ),
    FamilyInfo(
        name="svm", tasks=_BOTH, scale_sensitive=True, relative_cost=5,
        description="RBF-kernel support vector machine (SVC with probabilities / SVR)",
        hyperparameters={
            "C": _float(1e-5, 1e5, 1.0, (1e-2, 1e3), log=True),
            "gamma": _float(1e-6, 1e3, 0.03, (1e-4, 1.0), log=True, help="RBF kernel width"),
            "epsilon": _float(1e-5, 10.0, 0.1, (1e-3, 1.0), log=True, tasks=_REG),
            "class_weight": _cat((None, "balanced"), None, tasks=_CLS),
        },
    ),
    FamilyInfo(
        name="knn", tasks=_BOTH, scale_sensitive=True, relative_cost=2,
        description="k-nearest neighbours",
        hyperparameters={
            "n_neighbors": _int(1, 200, 5, (1, 50), log=True),
            "weights": _cat(("uniform", "distance"), "uniform"),
            "p": _cat((1, 2), 2, help="Minkowski power: 1 Manhattan, 2 Euclidean"),
        },
    ),
    FamilyInfo(
        name="mlp", tasks=_BOTH, scale_sensitive=True, relative_cost=4,
        description="scikit-learn multi-layer perceptron (adam, early stopping)",
        hyperparameters={
            "n_layers": _int(1, 4, 1, (1, 3)),
            "layer_width": _int(4, 1024, 100, (16, 256), log=True),
            "alpha": _float(1e-8, 10.0, 1e-4, (1e-6, 1e-1), log=True, help="L2 penalty"),
            "learning_rate_init": _float(1e-5, 1.0, 1e-3, (1e-4, 1e-1), log=True),
            "max_iter": _int(10, 2000, 200, (50, 500), log=True, searched=False),
        },
    ),
)  # fmt: skip

REGISTRY: dict[str, FamilyInfo] = {family.name: family for family in _FAMILIES}

FAMILY_NAMES: tuple[str, ...] = tuple(REGISTRY)


def task_kind(task: str) -> TaskKind:
    """``binary``/``multiclass``/``classification`` -> classification; else regression."""
    return "regression" if task == "regression" else "classification"


def family_names(task: str | None = None) -> list[str]:
    """Registered family names, all or those that can handle ``task``."""
    if task is None or task == "auto":
        return list(FAMILY_NAMES)
    kind = task_kind(task)
    return [name for name, info in REGISTRY.items() if kind in info.tasks]


def family_info(family: str) -> FamilyInfo:
    """The registry entry of ``family``; a clear error lists the valid names."""
    from automl_backend._errors import SpecError

    try:
        return REGISTRY[family]
    except KeyError:
        raise SpecError(
            f"unknown model family {family!r}; valid: {', '.join(FAMILY_NAMES)}"
        ) from None


def hyperparameters(family: str, task: str | None = None) -> dict[str, HyperParameter]:
    """Hyperparameters of ``family`` (those that apply to ``task`` when given)."""
    params = family_info(family).hyperparameters
    if task is None or task == "auto":
        return dict(params)
    kind = task_kind(task)
    return {name: hp for name, hp in params.items() if kind in hp.tasks}


def default_space(family: str, task: str | None = None) -> dict[str, Distribution]:
    """Distributions searched for ``family`` when a spec names no hyperparameters."""
    return {name: hp.space for name, hp in hyperparameters(family, task).items() if hp.searched}


def default_config(family: str, task: str | None = None) -> dict[str, Any]:
    """The family's default configuration: a sensible first trial."""
    return {name: hp.default for name, hp in hyperparameters(family, task).items()}
