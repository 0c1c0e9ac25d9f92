"""The runs ledger: RunRecord validation, the warm-start ranking, and storage round trips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from automl_backend import ExperimentResult, ExperimentSpec, TrialConfig
from memory import RunRecord, SimilarRun
from memory._runs import nearest_best_runs

Profile = Callable[..., Any]


def _run(profile: Any, score: float, family: str = "random_forest", **extra: Any) -> RunRecord:
    return RunRecord(
        profile=profile,
        status="ok",
        metric=extra.pop("metric", "accuracy"),
        best_score=score,
        best_config=TrialConfig(family=family),
        **extra,
    )


def test_status_needs_matching_fields(make_profile: Profile) -> None:
    p = make_profile()
    with pytest.raises(ValidationError, match="needs best_score and best_config"):
        RunRecord(profile=p, status="ok", metric="accuracy", best_score=0.9)
    with pytest.raises(ValidationError, match="needs a failure_reason"):
        RunRecord(profile=p, status="failed", metric="accuracy")
    failed = RunRecord(profile=p, status="failed", metric="accuracy", failure_reason="OOM")
    assert "failed: OOM" in failed.document()
    with pytest.raises(ValidationError):
        RunRecord(profile=p, status="ok", metric="accuracy", best_score=0.9, surprise=1)


def test_from_result_keeps_scores_config_and_spec(make_profile: Profile, tmp_path: Path) -> None:
    config = TrialConfig(family="lightgbm", params={"learning_rate": 0.05})
    result = ExperimentResult(
        status="ok",
        metric="roc_auc",
        best_score=0.91,
        fold_scores=[0.9, 0.92],
        best_config=config,
        n_trials=12,
        fit_time_s=3.5,
        run_dir=tmp_path,
    )
    spec = ExperimentSpec(metric="roc_auc", seed=3)
    record = RunRecord.from_result(
        make_profile(task="binary", n_classes=2), result, hypothesis="boosting wins", spec=spec
    )
    assert record.best_config == config
    assert record.fold_scores == [0.9, 0.92] and record.n_trials == 12
    assert record.spec["seed"] == 3 and record.run_dir == str(tmp_path)
    assert ExperimentSpec.model_validate(record.spec) == spec
    failed = RunRecord.from_result(
        make_profile(), ExperimentResult(status="failed", reason="no rows", metric="accuracy")
    )
    assert failed.failure_reason == "no rows" and failed.best_config is None


def test_nearest_data_sets_first_and_best_run_per_data_set(make_profile: Profile) -> None:
    query = make_profile(name="query", n_rows=200)
    near = make_profile(name="near", n_rows=220)
    far = make_profile(name="far", n_rows=90_000, n_features=300, landmark_nb=0.3)
    records = [
        _run(far, 0.99, "lightgbm"),
        _run(near, 0.80, "knn"),
        _run(near, 0.93, "svm"),
        _run(near, 0.85, "logistic"),
    ]
    found = nearest_best_runs(query, records, k=5)
    assert [(r.record.profile.name, r.best_config.family) for r in found] == [
        ("near", "svm"),
        ("far", "lightgbm"),
    ]
    assert found[0].distance < found[1].distance
    assert nearest_best_runs(query, records, k=1)[0].best_score == 0.93


def test_only_successful_runs_of_the_same_kind_of_task(make_profile: Profile) -> None:
    query = make_profile(task="binary", n_classes=2)
    regression = make_profile(
        name="houses", task="regression", n_classes=None, minority_class_share=None
    )
    multiclass = make_profile(name="wine", n_classes=3)
    failed = RunRecord(
        profile=make_profile(name="bad", task="binary", n_classes=2),
        status="failed",
        metric="accuracy",
        failure_reason="timeout",
    )
    found = nearest_best_runs(query, [_run(regression, 0.9), _run(multiclass, 0.7), failed], 5)
    assert [r.record.profile.name for r in found] == ["wine"]
    assert nearest_best_runs(query, [], 3) == []


def test_equal_distance_prefers_the_higher_score(make_profile: Profile) -> None:
    twin_a = make_profile(name="a")
    twin_b = make_profile(name="b")
    found = nearest_best_runs(make_profile(), [_run(twin_a, 0.7), _run(twin_b, 0.8)], 2)
    assert [r.record.profile.name for r in found] == ["b", "a"]


def test_scores_of_different_metrics_are_not_compared(make_profile: Profile) -> None:
    p = make_profile()
    found = nearest_best_runs(p, [_run(p, 0.95, "knn"), _run(p, -0.2, "mlp", metric="log_loss")], 5)
    assert sorted(r.best_config.family for r in found) == ["knn", "mlp"]


def test_ledger_round_trip_and_warm_start(store: Any, make_profile: Profile) -> None:
    assert store.similar_runs(make_profile(), 3) == []
    assert store.search_runs("anything", 3) == []
    near = make_profile(name="near", n_rows=160)
    far = make_profile(name="far", n_rows=50_000, share_missing=0.4)
    best = _run(near, 0.96, "svm", hypothesis="an RBF SVM separates these classes")
    store.record_run(_run(near, 0.90, "knn", hypothesis="neighbours are enough"))
    store.record_run(best)
    store.record_run(_run(far, 0.99, "lightgbm", hypothesis="boosting handles missing values"))
    store.record_run(
        RunRecord(profile=near, status="failed", metric="accuracy", failure_reason="diverged")
    )
    assert store.count("runs") == 4

    found = store.similar_runs(make_profile(name="new", n_rows=150), 2)
    assert all(isinstance(r, SimilarRun) for r in found)
    assert found[0].record.run_id == best.run_id
    assert found[0].record == best
    assert [r.best_config.family for r in found] == ["svm", "lightgbm"]
    warm = ExperimentSpec(warm_start=[r.best_config for r in found])
    assert warm.warm_start[0].family == "svm"

    text_hits = store.search_runs("gradient boosting copes with missing data", 1)
    assert text_hits[0].record.profile.name == "far"


def test_recording_the_same_run_again_replaces_it(store: Any, make_profile: Profile) -> None:
    record = _run(make_profile(), 0.5, run_id="fixed")
    store.record_run(record)
    store.record_run(record.model_copy(update={"best_score": 0.6}))
    assert store.count("runs") == 1
    assert store.similar_runs(make_profile(), 1)[0].best_score == 0.6


def test_a_stored_record_that_no_longer_validates_is_skipped(
    store: Any, make_profile: Profile
) -> None:
    good = _run(make_profile(name="good"), 0.8)
    store.record_run(good)
    stale = good.model_dump(mode="json") | {"run_id": "old", "retired_field": 1}
    store.add(
        "runs",
        ids=["old"],
        texts=["an old record"],
        metadatas=[
            {
                "record": __import__("json").dumps(stale),
                "status": "ok",
                "task_kind": "classification",
            }
        ],
    )
    assert [r.record.run_id for r in store.similar_runs(make_profile(), 5)] == [good.run_id]


def test_record_run_rejects_other_types(store: Any) -> None:
    with pytest.raises(TypeError, match="RunRecord"):
        store.record_run({"status": "ok"})
