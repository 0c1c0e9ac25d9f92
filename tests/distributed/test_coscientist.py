"""The co-scientist on PostgreSQL: its experiments' studies shared with `cosci worker
--follow`, its LangGraph checkpoints in PostgresSaver, the URLs kept without password."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from agents import ResearchRun, RunConfig, RunContext
from agents._run_config import without_password
from automl_backend._hpo.storage import sqlalchemy_url

COSCI = [sys.executable, "-m", "cosci.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
UNREACHABLE_LLM = {
    "COSCI_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    "COSCI_LLM_MODEL": "none",
    "COSCI_LLM_MAX_RETRIES": "0",
}


def _context(**update: Any) -> RunContext:
    return RunContext(
        rounds=1, hypotheses_per_round=2, children_per_round=0, trials_per_experiment=2,
        experiment_time_s=120, time_budget_s=None, folds=3, holdout=0.0,
    ).model_copy(update=update)  # fmt: skip


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgresql://u:p@ss:w@rd@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db?password=x&sslmode=require", "postgresql://u@h/db?sslmode=require"),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_a_run_keeps_database_urls_without_their_password(url: str, kept: str) -> None:
    assert without_password(url) == kept


def test_a_run_on_a_postgres_checkpointer_pauses_and_resumes_when_reopened(
    database: str, tmp_path: Path, fakes: ModuleType
) -> None:
    # trust authentication: any password is accepted, and none may be stored
    url = _with_password(database, "hunter2-s3cret")
    config = RunConfig(
        goal="Which model family predicts the target best?", data="sklearn:breast_cancer",
        context=_context(), use_memory=False, checkpointer=url,
    )  # fmt: skip
    run = ResearchRun.create(tmp_path / "run", config)
    llm = fakes.ScriptedFakeLLM(["logistic", "knn"])
    list(run.advance(llm, run.toolbox(None, embed=fakes.hash_embed)))
    assert run.status() == "waiting_for_review"
    assert not run.checkpoints.exists()  # the checkpoints are in PostgreSQL

    stored = (run.dir / "run.json").read_text(encoding="utf-8")
    assert "hunter2" not in stored
    assert json.loads(stored)["checkpointer"] == database

    reopened = ResearchRun.open(run.dir)
    assert reopened.status() == "waiting_for_review"
    request = reopened.pending_review()
    assert request is not None
    from agents import ReviewDecisions

    reopened.save_decisions(ReviewDecisions(others="approve"))
    list(reopened.advance(llm, reopened.toolbox(None, embed=fakes.hash_embed)))
    assert reopened.status() == "finished"

    # A second run on the same database has a thread of its own.
    other = ResearchRun.create(tmp_path / "other", config)
    assert other.config.thread_id != reopened.config.thread_id
    assert other.status() == "new"


def test_a_storage_holding_studies_of_a_run_of_the_same_name_is_refused(
    database: str, tmp_path: Path
) -> None:
    from automl_backend import BackendError

    optuna.create_study(study_name="taken/H1", storage=sqlalchemy_url(database))
    config = RunConfig(goal="g", data="sklearn:iris", context=_context(), storage=database)
    with pytest.raises(BackendError, match="already holds studies of a run named 'taken'"):
        ResearchRun.create(tmp_path / "taken", config)
    assert not (tmp_path / "taken").exists()
    assert ResearchRun.create(tmp_path / "free", config).config.study_prefix == "free/"


def _one_line_error(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*COSCI, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    return lines[0]


def test_bad_database_urls_are_one_line_and_leave_no_run(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, so nothing listens there
    dead = f"postgresql://cosci:hunter2-s3cret@127.0.0.1:{port}/db"
    env = {**ENV, **UNREACHABLE_LLM}
    base = ["run", "Which family wins?", "--data", "sklearn:iris", "--no-memory"]
    for option, url, expected in (
        ("--storage", dead, "cannot open Optuna storage"),
        ("--checkpointer", dead, "cannot use the checkpoints"),
        ("--storage", "sqlite:///trials.db", "is not a database server"),
        ("--checkpointer", "not a url", "cannot use the checkpoints"),
    ):
        out = tmp_path / f"run{option}"
        message = _one_line_error([*base, "--out", str(out), option, url], env)
        assert expected in message and "hunter2" not in message, message
        assert not out.exists(), message


def test_cosci_run_records_its_databases_for_resume(database: str, tmp_path: Path) -> None:
    """`cosci run --storage --checkpointer` whose LLM cannot answer: it stops at the first
    call, and run.json names both databases (without password) for `cosci resume`."""
    url = _with_password(database, "hunter2-s3cret")
    out = tmp_path / "run"
    env = {**ENV, **UNREACHABLE_LLM}
    args = ["run", "Which family wins?", "--data", "sklearn:iris", "--no-memory", "--out",
            str(out), "--storage", url, "--checkpointer", url]  # fmt: skip
    done = subprocess.run([*COSCI, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert "--follow run/" in " ".join(done.stdout.split())
    config = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert config["storage"] == config["checkpointer"] == database
    assert config["study_prefix"] == "run/" and config["thread_id"] != "cosci"
    assert not (out / "checkpoints.sqlite").exists()
    # Resumed from its PostgreSQL checkpoints (not refused as damaged), it asks the LLM again.
    resumed = subprocess.run([*COSCI, "resume", str(out)], capture_output=True, text=True,
                             env=env, timeout=120)  # fmt: skip
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr
    assert "damaged" not in resumed.stderr and "127.0.0.1:9" in resumed.stderr, resumed.stderr


@pytest.mark.slow
def test_a_following_worker_evaluates_the_trials_of_a_runs_experiments(
    database: str, tmp_path: Path, fakes: ModuleType
) -> None:
    # Forests on 1500 rows: trials of a second or more, so the worker gets some.
    X, y = make_classification(n_samples=1500, n_features=12, n_informative=6, random_state=0)
    data = tmp_path / "data.csv"
    pd.DataFrame(X, columns=[f"f{i}" for i in range(12)]).assign(y=y).to_csv(data, index=False)
    log = tmp_path / "worker.log"
    with log.open("w") as handle:
        worker = subprocess.Popen(
            [*COSCI, "worker", "--storage", database, "--follow", "sweep/", "--idle", "15"],
            stdout=handle, stderr=subprocess.STDOUT, env=ENV,
        )  # fmt: skip
    try:
        config = RunConfig(
            goal="Which model family predicts the target best?", data=str(data), target="y",
            context=_context(trials_per_experiment=6, auto_approve=True), use_memory=False,
            storage=database,
        )  # fmt: skip
        run = ResearchRun.create(tmp_path / "sweep", config)
        assert run.config.study_prefix == "sweep/"
        llm = fakes.ScriptedFakeLLM(["random_forest", "extra_trees"])
        started = time.monotonic()
        list(run.advance(llm, run.toolbox(None, embed=fakes.hash_embed)))
        assert run.status() == "finished", time.monotonic() - started
        assert worker.wait(timeout=120) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    storage = sqlalchemy_url(database)
    names = [n for n in optuna.get_all_study_names(storage) if n.startswith("sweep/")]
    assert names, "no experiment shared its study"
    mine = f"{socket.gethostname()}:{worker.pid}"
    by_worker = [
        t
        for name in names
        for t in optuna.load_study(study_name=name, storage=storage).trials
        if t.user_attrs.get("process") == mine
    ]
    assert by_worker, log.read_text()
    assert "joined study 'sweep/" in log.read_text()
    # The experiments' results count the worker's trials.
    results = [json.loads(p.read_text()) for p in (run.dir / "experiments").glob("*/result.json")]
    assert results and all(r["status"] == "ok" for r in results)
