"""`cosci export mlflow` into a local file store, read back with mlflow.search_runs; the
Optuna study of every run directory loads with optuna.load_study.

The co-scientist run behind it uses the scripted fake LLM (plumbing only); its
experiments, results and artefacts are real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cosci_test_fakes as fakes
import mlflow
import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

import cosci
import cosci._api as api
from agents import ResearchRun
from agents.llm import RecordingLLM
from cosci._mlflow_export import flatten
from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")


@pytest.fixture(scope="module")
def research_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished co-scientist run: two hypotheses, both arms run, scripted fake LLM."""

    def collaborators(run: ResearchRun, llm: Any, memory: Any, embed: Any) -> tuple[Any, Any]:
        fake = fakes.ScriptedFakeLLM(["knn", "logistic"])
        return RecordingLLM(fake, run.llm_log), run.toolbox(None, fakes.hash_embed)

    out = tmp_path_factory.mktemp("export") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "_collaborators", collaborators)
        result = cosci.research(
            "Which family wins?", "sklearn:breast_cancer", out=out, use_memory=False,
            auto_approve=True, rounds=1, hypotheses_per_round=2, children_per_round=0,
            trials_per_experiment=2, folds=3, fill_time_budget=False,
        )  # fmt: skip
    assert result.status == "finished"
    yield out


@pytest.fixture(scope="module")
def automl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "automl"
    done = subprocess.run(
        [str(COSCI), "automl", "--data", "sklearn:iris", "--trials", "3", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def _export(run_dir: Path, store: Path, *extra: str) -> Any:
    result = CliRunner().invoke(
        app,
        ["export", "mlflow", str(run_dir), "--tracking-uri", f"file:{store}", "--json", *extra],
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_co_scientist_run_exports_parent_and_a_child_per_hypothesis(
    research_run: Path, tmp_path: Path
) -> None:
    store = tmp_path / "mlruns"
    summary = _export(research_run, store)
    results = json.loads((research_run / "results.json").read_text())
    hypotheses = {h["id"]: h for h in results["hypotheses"]}
    assert summary["kind"] == "co-scientist" and set(summary["child_run_ids"]) == set(hypotheses)

    mlflow.set_tracking_uri(f"file:{store}")
    runs = mlflow.search_runs(experiment_names=["cosci"])
    assert isinstance(runs, pd.DataFrame) and len(runs) == 1 + len(hypotheses)
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    assert parent["run_id"] == summary["parent_run_id"]
    assert parent["params.goal"] == "Which family wins?"
    assert parent["params.context.folds"] == "3"
    assert parent["tags.cosci.best_hypothesis"] == results["best_hypothesis"]
    assert parent["tags.cosci.answer"] == results["answer"]["sentence"]
    assert parent["metrics.best_model_holdout"] == pytest.approx(results["best_model_holdout"])

    children = runs[runs["tags.mlflow.parentRunId"] == summary["parent_run_id"]]
    client = MlflowClient(f"file:{store}")
    for _, child in children.iterrows():
        h = hypotheses[child["tags.cosci.hypothesis"]]
        assert child["tags.cosci.statement"] == h["statement"]
        assert child["tags.cosci.verdict"] == h["verdict"]
        assert child["tags.cosci.prediction"].startswith(("beats", "stays within"))
        assert child["params.treatment.metric"] == h["experiment"]["metric"]
        family = h["experiment"]["models"][0]["family"]
        assert f"params.treatment.models.{family}.family" in child.index
        folds = client.get_metric_history(child["run_id"], "fold_score")
        assert [m.value for m in sorted(folds, key=lambda m: m.step)] == pytest.approx(
            h["result"]["fold_scores"]
        )
        control = client.get_metric_history(child["run_id"], "control_fold_score")
        assert [m.value for m in sorted(control, key=lambda m: m.step)] == pytest.approx(
            h["control_result"]["fold_scores"]
        )
        assert child["metrics.effect_points"] == pytest.approx(h["effect"]["points"])
        arms = {a.path for a in client.list_artifacts(child["run_id"])}
        assert arms == {"treatment", "control"}
        files = {a.path for a in client.list_artifacts(child["run_id"], "treatment")}
        assert "treatment/result.json" in files and "treatment/leaderboard.csv" in files
    top = {a.path for a in client.list_artifacts(summary["parent_run_id"])}
    assert {"report.md", "results.json", "best_model"} <= top


def test_export_twice_is_refused_unless_replace(research_run: Path, tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    first = _export(research_run, store)
    again = CliRunner().invoke(
        app, ["export", "mlflow", str(research_run), "--tracking-uri", f"file:{store}"]
    )
    assert again.exit_code != 0 and "already exported" in str(again.exception)
    second = _export(research_run, store, "--replace")
    assert second["parent_run_id"] != first["parent_run_id"]
    live = mlflow.search_runs(experiment_names=["cosci"])
    assert len(live) == 1 + len(second["child_run_ids"])  # the first export was deleted


def test_automl_run_folder_exports_a_child_per_trial(automl_run: Path, tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    summary = _export(automl_run, store)
    assert summary["kind"] == "automl"
    board = pd.read_csv(automl_run / "leaderboard.csv")
    assert sorted(summary["child_run_ids"]) == sorted(str(t) for t in board["trial"])
    mlflow.set_tracking_uri(f"file:{store}")
    runs = mlflow.search_runs(experiment_names=["cosci"]).set_index("run_id")
    parent = runs.loc[summary["parent_run_id"]]
    result = json.loads((automl_run / "result.json").read_text())
    assert parent["metrics.cv_score"] == pytest.approx(result["best_score"])
    assert parent["tags.cosci.best_family"] == result["best_config"]["family"]
    assert parent["params.spec.budget.n_trials"] == "3"
    for _, trial in board.iterrows():
        child = runs.loc[summary["child_run_ids"][str(trial["trial"])]]
        assert child["params.family"] == trial["family"]
        assert child["tags.cosci.state"] == trial["state"]
        if trial["state"] == "complete":
            assert child["metrics.cv_score"] == pytest.approx(trial["score"])


def test_every_run_directory_holds_a_study_optuna_can_load(
    research_run: Path, automl_run: Path
) -> None:
    studies = [automl_run / "study.db", *sorted((research_run / "experiments").glob("*/study.db"))]
    assert len(studies) >= 3  # the automl run, and both arms of at least one hypothesis
    for db in studies:
        study = optuna.load_study(study_name=None, storage=f"sqlite:///{db}")
        board = pd.read_csv(db.parent / "leaderboard.csv")
        assert len(study.trials) >= len(board) > 0, db
        assert study.best_value is not None


def test_export_of_something_else_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(COSCI), "export", "mlflow", str(tmp_path), "--tracking-uri", f"file:{tmp_path}/m"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "neither a co-scientist run" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_flatten_names_models_by_family_and_keeps_lists_as_json() -> None:
    spec = {"metric": "roc_auc", "models": [{"family": "knn", "params": {"k": {"low": 1}}}],
            "preprocessing": {"scaling": ["auto", "standard"]}, "seed": 0}  # fmt: skip
    assert dict(flatten(spec)) == {
        "metric": "roc_auc",
        "models.knn.family": "knn",
        "models.knn.params.k.low": "1",
        "preprocessing.scaling": '["auto", "standard"]',
        "seed": "0",
    }
