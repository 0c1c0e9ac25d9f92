"""The agents' tools: experiments that never crash the run, logged and replayable look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_backend import DatasetProfile, ExperimentSpec, TrialConfig
from tools import LookupLog, Toolbox, ToolError


def _spec(**fields: object) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "models": [{"family": "logistic"}],
            "budget": {"n_trials": 2, "time_s": 60},
            "cv": {"folds": 2},
            "ensemble": {"enabled": False},
            **fields,
        }
    )


def test_run_arm_writes_the_run_dir_and_logs_start_and_finish(tmp_path: Path) -> None:
    tools = Toolbox("sklearn:breast_cancer", run_dir=tmp_path)
    stale = tmp_path / "experiments" / ".H1.partial-999"
    stale.mkdir(parents=True)  # what a killed run leaves behind
    result = tools.run_arm("H1", _spec(name="H1")).result
    assert result.ok and len(result.fold_scores) == 2
    assert result.run_dir == (tmp_path / "experiments" / "H1").resolve()
    assert not stale.exists()
    log = (tmp_path / "experiments.log").read_text().splitlines()
    assert [line.split('"event": "')[1].split('"')[0] for line in log] == ["start", "finish"]


def test_a_reused_arm_costs_the_budget_nothing(tmp_path: Path) -> None:
    tools = Toolbox("sklearn:breast_cancer", run_dir=tmp_path)
    first = tools.run_arm("H1-control", _spec(), reuse_key="same arm")
    assert first.result.ok and first.charged_s == first.result.fit_time_s > 0
    # H2's identical control: the same result, charged once.
    second = tools.run_arm("H2-control", _spec(), reuse_key="same arm")
    assert second.result == first.result and second.charged_s == 0.0
    assert not (tmp_path / "experiments" / "H2-control").exists()
    # A later process finds the finished arm on disk, also at no cost.
    again = Toolbox("sklearn:breast_cancer", run_dir=tmp_path).run_arm(
        "H3-control", _spec(), reuse_key="same arm"
    )
    assert again.result.best_score == first.result.best_score and again.charged_s == 0.0


def test_a_crashing_experiment_comes_back_as_a_failed_result(tmp_path: Path) -> None:
    tools = Toolbox("sklearn:breast_cancer", run_dir=tmp_path)
    # A regression spec on classification data: the backend raises, the tool reports.
    result = tools.run_arm("H2", _spec(task="regression", models=[{"family": "ridge"}])).result
    assert result.status == "failed"
    assert "SpecError" in (result.reason or "")


def test_lookups_are_logged_and_replayed_in_order(tmp_path: Path) -> None:
    original = tmp_path / "a.jsonl"
    log = LookupLog(original)
    configs = [TrialConfig(family="knn"), TrialConfig(family="svm")]
    assert log.call("t", "k", TrialConfig, lambda: configs[:1]) == configs[:1]
    assert log.call("t", "k", TrialConfig, lambda: configs) == configs

    def never() -> list[TrialConfig]:
        raise AssertionError("a replay must not compute")

    replay = LookupLog(tmp_path / "b.jsonl", replay_from=original)
    assert replay.call("t", "k", TrialConfig, never) == configs[:1]
    # A resumed replay skips what its own log shows it already used.
    resumed = LookupLog(tmp_path / "b.jsonl", replay_from=original)
    assert resumed.call("t", "k", TrialConfig, never) == configs
    with pytest.raises(ToolError, match="no recorded"):
        resumed.call("t", "other", TrialConfig, never)


@pytest.mark.slow
def test_memory_ledger_feeds_warm_starts_and_literature(tmp_path: Path) -> None:
    from memory import MemoryStore

    store = MemoryStore(path=tmp_path / "memory")
    tools = Toolbox("sklearn:breast_cancer", run_dir=tmp_path / "run", memory=store)
    profile: DatasetProfile = tools.profile_dataset()
    assert tools.similar_runs(profile, 3) == []
    spec = _spec(name="H1")
    result = tools.run_arm("H1", spec).result
    tools.record_run("H1", "Logistic regression wins.", spec, result, profile)
    similar = tools.similar_runs(profile, 3)
    assert similar and similar[0].best_config == result.best_config
    hits = tools.search_literature("successive halving for hyperparameter optimisation", 2)
    assert hits and all(hit.citation for hit in hits)
    # Both look-ups were logged for replay.
    logged = (tmp_path / "run" / "memory_calls.jsonl").read_text().splitlines()
    assert len(logged) == 3
