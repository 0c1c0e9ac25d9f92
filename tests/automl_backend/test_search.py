"""The search: samplers, pruning, warm starts, budgets, failing trials, storage."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_regression

from automl_backend import (
    ExperimentSpec,
    SpecError,
    TrialConfig,
    _builders,
    load_dataset,
    parse_spec,
    run_spec,
)
from automl_backend._hpo.run import run_hpo


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(y=y)
    return load_dataset(frame, "y")


def _spec(**fields: Any) -> ExperimentSpec:
    base: dict[str, Any] = {
        "models": [{"family": "knn"}, {"family": "logistic"}],
        "budget": {"time_s": None, "n_trials": 5},
        "cv": {"folds": 3},
        # These tests pin the queue without the meta-learned portfolio (test_portfolio.py).
        "search": {"enqueue_defaults": False, "portfolio": False},
    }
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return parse_spec(base)


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes", "gp", "nsga2"])
def test_every_sampler_completes_its_trials(data, sampler: str) -> None:
    result = run_spec(_spec(search={"sampler": sampler}), data)
    assert result.status == "ok", result.reason
    assert result.n_trials == 5 and result.n_failed_trials == 0
    assert 0.5 < result.best_score <= 1.0
    assert len(result.fold_scores) == 3


def test_grid_search_stops_when_the_grid_is_exhausted(data) -> None:
    spec = _spec(
        models=[{"family": "knn", "params": {"weights": {"type": "categorical", "choices": ["uniform"]},
                                             "p": {"type": "categorical", "choices": [2]}}}],
        search={"sampler": "grid", "grid_points": 3},
        budget={"n_trials": 50},
    )  # fmt: skip
    result = run_spec(spec, data)
    assert result.n_trials == 3
    assert any("grid exhausted" in n for n in result.notes)


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband"])
def test_pruning_across_folds_records_pruned_trials(data, pruner: str) -> None:
    spec = _spec(
        models=[{"family": "knn", "params": {"n_neighbors": {"type": "int", "low": 1, "high": 60}}}],
        search={"sampler": "random", "pruner": pruner},
        budget={"n_trials": 14},
        cv={"folds": 5},
    )  # fmt: skip
    output = run_hpo(spec, data)
    pruned = [r for r in output.records if r.state == "pruned"]
    assert output.result.n_pruned_trials == len(pruned) >= 1
    assert all(len(r.fold_scores) < 5 for r in pruned)
    states = {t.state for t in output.study.trials}
    assert optuna.trial.TrialState.PRUNED in states


def test_warm_start_and_default_configurations_go_first(data) -> None:
    warm = TrialConfig(family="knn", params={"n_neighbors": 7, "weights": "distance", "p": 1})
    output = run_hpo(_spec(search={"enqueue_defaults": True}), data, warm_start=[warm])
    configs = [r.config for r in sorted(output.records, key=lambda r: r.number)]
    assert configs[0].params == warm.params
    # then the registry defaults, cheapest families first
    assert configs[1].family == "logistic" and configs[1].params["C"] == 1.0
    assert configs[2].family == "knn" and configs[2].params["n_neighbors"] == 5


def test_warm_start_values_are_clipped_into_the_space(data) -> None:
    spec = _spec(models=[{"family": "knn", "params": {"n_neighbors": {"type": "int", "low": 3, "high": 9}}}],
                 budget={"n_trials": 1})  # fmt: skip
    warm = TrialConfig(family="knn", params={"n_neighbors": 50})
    output = run_hpo(spec, data, warm_start=[warm, TrialConfig(family="svm")])
    assert output.records[0].config.params["n_neighbors"] == 9


class _Sleepy(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> _Sleepy:
        time.sleep(60)
        return self


class _Broken(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> _Broken:
        raise RuntimeError("boom: this estimator always fails")


class _Dying(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> _Dying:
        os._exit(3)


@pytest.mark.parametrize(
    ("estimator", "reason"),
    [
        (_Sleepy, "timed out after 1 s"),
        (_Broken, "RuntimeError: boom: this estimator always fails"),
        (_Dying, "trial process died (exit code 3)"),
    ],
)
def test_failing_trials_are_recorded_and_the_search_goes_on(
    data, monkeypatch: pytest.MonkeyPatch, estimator: type, reason: str
) -> None:
    # The trial runs in a forked child, which inherits this patched registry entry.
    monkeypatch.setitem(_builders.BUILDERS, "knn", lambda *args: estimator())
    spec = _spec(
        budget={"n_trials": 3, "trial_timeout_s": 1},
        search={"enqueue_defaults": True},
    )
    output = run_hpo(spec, data)
    result = output.result
    assert result.status == "ok"
    assert result.best_config.family == "logistic"
    failed = [r for r in output.records if r.state == "failed"]
    assert failed and all(r.config.family == "knn" and r.reason == reason for r in failed)
    fails = [t for t in output.study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert fails[0].user_attrs["fail_reason"] == reason


def test_a_search_where_every_trial_fails_returns_failed(data, monkeypatch) -> None:
    monkeypatch.setitem(_builders.BUILDERS, "knn", lambda *args: _Broken())
    result = run_spec(_spec(models=[{"family": "knn"}], budget={"n_trials": 2}), data)
    assert result.status == "failed"
    assert result.reason.startswith("no trial finished") and "boom" in result.reason
    assert result.n_failed_trials == 2


def test_time_budget_alone_ends_the_search(data) -> None:
    result = run_spec(_spec(budget={"time_s": 3, "n_trials": None}), data)
    assert result.status == "ok" and result.n_trials >= 1
    assert any("time budget reached" in n for n in result.notes)


def test_parallel_trials(data) -> None:
    result = run_spec(_spec(budget={"n_jobs": 2, "n_trials": 4}), data)
    assert result.status == "ok" and result.n_trials == 4


def test_any_optuna_storage_url(data, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    run_spec(_spec(name="shared-study"), data, storage=url)
    study = optuna.load_study(study_name="shared-study", storage=url)
    assert len(study.trials) == 5


def test_multi_objective_search_records_the_extra_objectives(data) -> None:
    spec = _spec(
        search={"sampler": "nsga2", "objectives": ["score", "model_size", "predict_latency"]}
    )
    output = run_hpo(spec, data)
    assert [d.name for d in output.study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE"]
    done = [r for r in output.records if r.state == "complete"]
    assert all(r.extras["model_size"] > 0 and r.extras["predict_latency"] > 0 for r in done)
    assert len(output.result.ensemble) == 1  # no ensemble: it would undo the size objective


def test_regression_reports_negated_losses() -> None:
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    data = load_dataset(pd.DataFrame(X).assign(y=y), "y")
    spec = ExperimentSpec.for_families(["ridge", "knn"], metric="rmse", n_trials=4, cv={"folds": 3})
    result = run_spec(spec, data)
    assert result.status == "ok" and result.task == "regression"
    assert result.best_score < 0  # -rmse
    assert result.ensemble and sum(m.weight for m in result.ensemble) == pytest.approx(1.0)


def test_spec_task_must_match_the_data(data) -> None:
    with pytest.raises(SpecError, match="spec is for regression but the data set is binary"):
        run_spec(ExperimentSpec.for_families(["ridge"], task="regression", n_trials=1), data)
    with pytest.raises(SpecError, match="metric 'rmse' does not apply to binary"):
        run_spec(ExperimentSpec.for_families(["knn"], metric="rmse", n_trials=1), data)


def test_classes_missing_from_a_training_fold_are_handled() -> None:
    frame = pd.DataFrame({"x": np.arange(31.0) % 7 + 0.5, "y": [0] * 15 + [1] * 15 + [2]})
    data = load_dataset(frame, "y")
    result = run_spec(ExperimentSpec.for_families(["knn"], n_trials=2, cv={"folds": 3}), data)
    assert result.status == "ok"
