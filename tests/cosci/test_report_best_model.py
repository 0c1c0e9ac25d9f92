"""best_model/ of a co-scientist run: the ensemble of its tested hypotheses, or the leader.

The run is driven by the scripted fake LLM (plumbing only); the experiments are real and
tiny (breast_cancer, 3 trials, 3 folds, one thread).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cosci_test_fakes as fakes
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from agents import ResearchRun, RunContext
from automl_backend import load_dataset, load_model
from cosci._report import write_report
from cosci._results import rank_hypotheses
from cosci.cli import app


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> ResearchRun:
    """One round, three hypotheses of different families, all tested."""
    context = RunContext(
        rounds=1,
        hypotheses_per_round=3,
        children_per_round=0,
        trials_per_experiment=3,
        experiment_time_s=60.0,
        time_budget_s=None,
        folds=3,
        auto_approve=True,
    )
    llm = fakes.ScriptedFakeLLM(["logistic", "knn", "extra_trees"])
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    run = fakes.start_run(run_dir, llm, context)
    assert run.status() == "finished"
    return run


def _tested(run: ResearchRun) -> list[str]:
    return [h.id for h in run.state()["hypotheses"].values() if h.tested]


def test_best_model_is_the_ensemble_of_the_tested_hypotheses(finished_run: ResearchRun) -> None:
    run = finished_run
    ranking_before = [(r.id, r.elo) for r in rank_hypotheses(run.state())]
    results = write_report(run)
    # The tournament is untouched: the leader is still the top tested hypothesis.
    assert [(r.id, r.elo) for r in results.ranking] == ranking_before
    leader = next(r.id for r in results.ranking if r.status == "tested")
    assert results.best_hypothesis == leader
    best = results.best_model
    assert best is not None and best.kind == "ensemble" and best.leader == leader
    tested = _tested(run)
    assert len(tested) == 3 and sorted(best.candidates) == sorted(tested)
    assert {m.hypothesis for m in best.members} <= set(tested)
    assert sum(m.weight for m in best.members) == pytest.approx(1.0, abs=1e-5)
    assert best.ensemble_oof_score is not None and best.leader_oof_score is not None
    assert best.ensemble_oof_score >= best.leader_oof_score
    leader_result = run.state()["hypotheses"][leader].result
    assert best.leader_cv_score == pytest.approx(leader_result.best_score)

    # results.json keeps its fields and says what best_model is.
    saved = json.loads((run.dir / "results.json").read_text())
    assert saved["best_hypothesis"] == leader
    assert saved["best_model_dir"] == str(run.dir / "best_model")
    assert saved["best_model"]["kind"] == "ensemble"
    assert [m["hypothesis"] for m in saved["best_model"]["members"]] == [
        m.hypothesis for m in best.members
    ]
    report = (run.dir / "report.md").read_text()
    assert "## Best model" in report and "optimistic" in report
    assert f"`experiments/{leader}/`" in report
    for m in best.members:
        assert f"{m.hypothesis} {m.weight:.2f}" in report

    # The shipped model mixes the experiments' fitted models by those weights (no refit).
    X = load_dataset("sklearn:breast_cancer").X.iloc[:50]
    shipped = load_model(run.dir / "best_model").predict_proba(X)
    mixed = sum(
        m.weight * load_model(run.dir / "experiments" / m.hypothesis).predict_proba(X)
        for m in best.members
    )
    assert np.allclose(shipped, mixed, atol=1e-5)
    # The leader's own model stays where it was.
    assert load_model(run.dir / "experiments" / leader).predict(X).shape == (50,)


def test_a_second_report_reuses_the_ensemble(finished_run: ResearchRun) -> None:
    first = write_report(finished_run)
    model = finished_run.dir / "best_model" / "model-parts.json"
    stamp = model.stat().st_mtime_ns
    again = write_report(finished_run)
    assert again.best_model == first.best_model
    assert model.stat().st_mtime_ns == stamp


def test_show_and_predict_use_the_new_best_model(finished_run: ResearchRun, tmp_path: Path) -> None:
    results = write_report(finished_run)
    runner = CliRunner()
    shown = runner.invoke(app, ["show", str(finished_run.dir)])
    assert shown.exit_code == 0, shown.output
    assert "best model: ensemble of" in " ".join(shown.output.split())
    rows = tmp_path / "rows.csv"
    load_dataset("sklearn:breast_cancer").X.iloc[:20].to_csv(rows, index=False)
    out = tmp_path / "preds.csv"
    done = runner.invoke(
        app,
        ["predict", "--model", str(results.best_model_dir), "--data", str(rows), "--out", str(out)],
    )
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(out)) == 20


def test_falls_back_to_the_leaders_copy_and_says_why(
    finished_run: ResearchRun, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(finished_run.dir, copy)
    run = ResearchRun.open(copy)
    leader = write_report(run).best_hypothesis
    assert leader is not None
    for hid in _tested(run):
        if hid != leader:
            (copy / "experiments" / hid / "oof.npz").unlink()
    results = write_report(run)
    best = results.best_model
    assert best is not None and best.kind == "leader" and best.leader == leader
    assert best.reason is not None and "no other tested hypothesis" in best.reason
    assert [m.hypothesis for m in best.members] == [leader]
    # best_model/ is now the leader's run directory, artifacts and all.
    assert (copy / "best_model" / "leaderboard.csv").is_file()
    X = load_dataset("sklearn:breast_cancer").X.iloc[:30]
    assert np.array_equal(
        load_model(copy / "best_model").predict_proba(X),
        load_model(copy / "experiments" / leader).predict_proba(X),
    )
    assert "not an ensemble: no other tested hypothesis" in (copy / "report.md").read_text()

    (copy / "experiments" / leader / "oof.json").unlink()
    best = write_report(run).best_model
    assert best is not None and best.kind == "leader"
    assert best.reason is not None and f"the leader {leader} has no out-of-fold" in best.reason
    assert not list(copy.glob(".best_model*"))
