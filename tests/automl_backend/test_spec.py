"""ExperimentSpec: validation against the registry, constructors, JSON/YAML round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from automl_backend import (
    ExperimentSpec,
    FloatDistribution,
    IntDistribution,
    ModelSpace,
    SpecError,
    TrialConfig,
    parse_spec,
)


def _full_spec() -> ExperimentSpec:
    return parse_spec(
        {
            "name": "round-trip",
            "task": "binary",
            "metric": "roc_auc",
            "models": [
                {
                    "family": "lightgbm",
                    "params": {
                        "num_leaves": {"type": "int", "low": 8, "high": 64, "log": True},
                        "learning_rate": {"type": "float", "low": 0.01, "high": 0.2, "log": True},
                    },
                },
                {
                    "family": "random_forest",
                    "params": {
                        "class_weight": {"type": "categorical", "choices": [None, "balanced"]}
                    },
                },
            ],
            "preprocessing": {
                "scaling": ["standard", "robust"],
                "feature_selection": ["none", "kbest"],
            },
            "search": {"sampler": "random", "pruner": "hyperband"},
            "budget": {"time_s": 12.5, "n_trials": 30, "trial_timeout_s": 4},
            "cv": {"strategy": "stratified", "folds": 3},
            "ensemble": {"size": 10},
            "warm_start": [{"family": "lightgbm", "params": {"num_leaves": 16}}],
            "seed": 7,
        }
    )


def test_json_and_yaml_round_trip(tmp_path: Path) -> None:
    spec = _full_spec()
    assert ExperimentSpec.model_validate_json(spec.to_json()) == spec
    assert ExperimentSpec.model_validate(yaml.safe_load(spec.to_yaml())) == spec
    for name in ("spec.yaml", "spec.json"):
        assert ExperimentSpec.from_file(spec.save(tmp_path / name)) == spec


def test_left_out_hyperparameters_fall_back_to_the_default_space() -> None:
    space = ModelSpace(family="lightgbm", params={"num_leaves": IntDistribution(low=4, high=8)})
    resolved = space.resolved("binary")
    assert resolved["num_leaves"] == IntDistribution(low=4, high=8)
    assert "learning_rate" in resolved and "n_estimators" in resolved


def test_task_specific_hyperparameters_drop_out_for_other_tasks() -> None:
    resolved = ModelSpace(family="random_forest").resolved("regression")
    assert "class_weight" not in resolved
    assert "class_weight" in ModelSpace(family="random_forest").resolved("binary")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"models": [{"family": "xgboost"}]}, "'logistic', 'ridge'"),
        (
            {
                "models": [
                    {"family": "svm", "params": {"depth": {"type": "int", "low": 1, "high": 3}}}
                ]
            },
            "unknown hyperparameter 'depth' for svm; valid: C, gamma",
        ),
        (
            {
                "models": [
                    {
                        "family": "knn",
                        "params": {"n_neighbors": {"type": "int", "low": 1, "high": 5000}},
                    }
                ]
            },
            "outside the limits (int in [1, 200])",
        ),
        (
            {
                "models": [
                    {
                        "family": "knn",
                        "params": {"n_neighbors": {"type": "float", "low": 1, "high": 5}},
                    }
                ]
            },
            "knn.n_neighbors is an integer; use type 'int'",
        ),
        (
            {
                "models": [
                    {"family": "knn", "params": {"weights": {"type": "int", "low": 1, "high": 2}}}
                ]
            },
            "knn.weights is categorical",
        ),
        (
            {
                "models": [
                    {
                        "family": "knn",
                        "params": {"weights": {"type": "categorical", "choices": ["near"]}},
                    }
                ]
            },
            "choices ['near'] outside its limits",
        ),
        (
            {
                "models": [
                    {"family": "svm", "params": {"C": {"type": "uniform", "low": 1, "high": 2}}}
                ]
            },
            "'int', 'float', 'categorical'",
        ),
        ({"metric": "auc"}, "unknown metric 'auc'; valid: accuracy"),
        ({"task": "regression", "metric": "accuracy"}, "valid: rmse, mae, r2"),
        ({"task": "regression", "models": [{"family": "logistic"}]}, "cannot do regression"),
        ({"models": [{"family": "knn"}, {"family": "knn"}]}, "listed twice"),
        ({"budget": {"time_s": None, "n_trials": None}}, "needs time_s, n_trials or both"),
        (
            {"search": {"objectives": ["score", "model_size"], "pruner": "median"}},
            "single objective",
        ),
        ({"search": {"objectives": ["model_size"]}}, "must start with 'score'"),
        ({"models": [{"family": "svm", "code": "import os"}]}, "Extra inputs are not permitted"),
        ({"warm_start": [{"family": "svm", "params": {"C": -1.0}}]}, "outside its limits"),
    ],
)
def test_invalid_specs_give_one_clear_line(data: dict, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_distributions_check_their_own_bounds() -> None:
    with pytest.raises(ValueError, match=r"low 2.0 > high 1.0"):
        FloatDistribution(low=2, high=1)
    with pytest.raises(ValueError, match="log-scaled"):
        FloatDistribution(low=0, high=1, log=True)


def test_for_families_builds_a_valid_spec() -> None:
    spec = ExperimentSpec.for_families(
        ["svm", "knn"], task="multiclass", metric="f1_macro", n_trials=5
    )
    assert [m.family for m in spec.models] == ["svm", "knn"]
    assert spec.budget.n_trials == 5 and spec.budget.time_s is None
    assert spec.task == "multiclass" and spec.metric == "f1_macro"
    assert ExperimentSpec.for_families(["svm"]).budget.time_s == 60.0
    with pytest.raises(SpecError, match="unknown"):
        ExperimentSpec.for_families(["svm"], metric="unknown")


def test_task_problem_checks_auto_specs_against_the_data() -> None:
    spec = ExperimentSpec.for_families(["logistic"], metric="accuracy")
    assert spec.task_problem("binary") is None
    assert "cannot do regression" in (spec.task_problem("regression") or "") or "metric" in (
        spec.task_problem("regression") or ""
    )


def test_trial_config_rejects_unknown_hyperparameters() -> None:
    with pytest.raises(ValueError, match="unknown hyperparameter 'leaves'"):
        TrialConfig(family="lightgbm", params={"leaves": 3})


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        ("models: [", ".yaml", "is not valid yaml"),
        ("", ".yaml", "is empty"),
        ("- 1\n- 2\n", ".yaml", "must hold a mapping"),
        ('{"models": [{"family": "nope"}]}', ".json", "models.0.family"),
    ],
)
def test_from_file_errors(tmp_path: Path, text: str, suffix: str, expected: str) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=expected):
        ExperimentSpec.from_file(path)


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        ExperimentSpec.from_file(tmp_path / "absent.yaml")
