"""Trials shared through a real PostgreSQL: drivers that create or join a study,
`cosci worker` processes that evaluate its trials, and a killed worker's trial retried."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from sklearn.datasets import make_classification

from automl_backend import load_dataset, parse_spec, run_spec
from automl_backend._hpo.storage import sqlalchemy_url

COSCI = [sys.executable, "-m", "cosci.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _study(url: str, name: str) -> Any:
    return optuna.load_study(study_name=name, storage=sqlalchemy_url(url))


def _small_data() -> Any:
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, random_state=0)
    return load_dataset(pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(y=y), "y")


def _spec(name: str, n_trials: int) -> Any:
    return parse_spec({
        "name": name, "models": [{"family": "knn"}, {"family": "logistic"}],
        "budget": {"time_s": None, "n_trials": n_trials}, "cv": {"folds": 3},
        "search": {"enqueue_defaults": False},
    })  # fmt: skip


def test_a_driver_on_postgres_publishes_fold_values_and_predictions(database: str) -> None:
    result = run_spec(_spec("alone", 4), _small_data(), storage=database)
    assert result.status == "ok" and result.n_trials == 4
    study = _study(database, "alone")
    assert "cosci:problem" in study.user_attrs
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 4
    for trial in trials:
        # the running mean after every one of the 3 folds, for pruning across processes
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        assert trial.intermediate_values[2] == pytest.approx(
            np.mean(trial.user_attrs["fold_scores"])
        )
        assert trial.user_attrs["oof_artifact"] and trial.user_attrs["process"]


def test_a_second_driver_joins_the_study_instead_of_failing(database: str) -> None:
    data = _small_data()
    first = run_spec(_spec("joined", 3), data, storage=database)
    second = run_spec(_spec("joined", 5), data, storage=database)
    assert first.status == second.status == "ok"
    # The trial budget counts the study's trials: the second driver ran two more and
    # ranked all five.
    assert first.n_trials == 3 and second.n_trials == 5
    assert len(_study(database, "joined").trials) == 5
    assert second.best_score >= first.best_score


def test_a_driver_with_other_data_cannot_join(database: str) -> None:
    from automl_backend import BackendError

    run_spec(_spec("mine", 2), _small_data(), storage=database)
    X, y = make_classification(n_samples=120, n_features=6, random_state=1)
    other = load_dataset(pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(y=y), "y")
    with pytest.raises(BackendError, match="created for other data"):
        run_spec(_spec("mine", 4), other, storage=database)


def _one_line_error(args: list[str]) -> str:
    done = subprocess.run([*COSCI, *args], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), done.stderr
    return " ".join(lines)


def test_a_worker_for_an_unknown_study_says_so_in_one_line(database: str) -> None:
    message = _one_line_error(["worker", "--storage", database, "--study", "nowhere"])
    assert "no study 'nowhere'" in message and "cosci automl --storage" in message


def test_an_unreachable_storage_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, so nothing listens there
    url = f"postgresql://cosci:secret@127.0.0.1:{port}/db"
    for args in (["worker", "--storage", url, "--study", "s"],
                 ["automl", "--data", "sklearn:iris", "--storage", url, "--trials", "1"]):  # fmt: skip
        message = _one_line_error(args)
        assert "cannot open Optuna storage" in message
        assert "secret" not in message  # the password is not printed


# ---------------------------------------------------------------- driver + workers


def _slow_problem(folder: Path) -> tuple[Path, Path]:
    """Trials of a few seconds each (forests on 1500 rows), so a worker can be killed mid-trial."""
    X, y = make_classification(n_samples=1500, n_features=12, n_informative=6, random_state=0)
    data = folder / "data.csv"
    pd.DataFrame(X, columns=[f"f{i}" for i in range(12)]).assign(y=y).to_csv(data, index=False)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "models": [{"family": "random_forest", "params": {
            "n_estimators": {"type": "int", "low": 60, "high": 100}}}],
        "cv": {"folds": 3},
        "search": {"pruner": "none", "enqueue_defaults": False},
        "ensemble": {"enabled": False},
    }))  # fmt: skip
    return data, spec


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([*COSCI, *args], stdout=handle, stderr=subprocess.STDOUT, env=ENV)


def _wait_for(condition: Any, timeout: float, what: str) -> Any:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _running_trial_of(storage: Any, name: str, pid: int) -> int | None:
    process = f"{socket.gethostname()}:{pid}"
    if name not in optuna.get_all_study_names(storage):
        return None
    study = optuna.load_study(study_name=name, storage=storage)
    for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
        if trial.user_attrs.get("process") == process:
            return trial.number
    return None


@pytest.mark.slow
def test_driver_and_two_workers_survive_a_killed_worker(database: str, tmp_path: Path) -> None:
    data, spec = _slow_problem(tmp_path)
    n_trials = 6
    worker_args = ["worker", "--storage", database, "--study", "shared", "--wait", "120"]
    # The worker to kill starts first (it waits for the study), to be early for a trial.
    doomed = _start(worker_args, tmp_path / "doomed.log")
    driver = _start([
        "automl", "--data", str(data), "--target", "y", "--spec", str(spec),
        "--trials", str(n_trials), "--time-budget", "400", "--storage", database,
        "--study", "shared", "--out", str(tmp_path / "run"),
    ], tmp_path / "driver.log")  # fmt: skip
    survivor = _start(worker_args, tmp_path / "survivor.log")
    storage = optuna.storages.RDBStorage(sqlalchemy_url(database))
    try:
        killed = _wait_for(
            lambda: _running_trial_of(storage, "shared", doomed.pid), 180,
            "the first worker to run a trial",
        )  # fmt: skip
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        assert driver.wait(timeout=400) == 0, (tmp_path / "driver.log").read_text()
        assert survivor.wait(timeout=60) == 0, (tmp_path / "survivor.log").read_text()
    finally:
        for process in (driver, doomed, survivor):
            if process.poll() is None:
                process.kill()
    study = _study(database, "shared")
    states = optuna.trial.TrialState
    by_number = {t.number: t for t in study.trials}
    # The killed worker's trial was failed by a heartbeat check and retried elsewhere.
    assert by_number[killed].state == states.FAIL
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert retries and retries[0].state == states.COMPLETE
    assert retries[0].params == by_number[killed].params
    # Every trial of the budget finished; nothing is left running or waiting.
    assert not study.get_trials(states=(states.RUNNING, states.WAITING))
    originals = [t for t in study.trials if "failed_trial" not in t.system_attrs]
    assert n_trials <= len(originals) <= n_trials + 2  # two processes may ask at once
    # The driver and the surviving worker both evaluated trials, fold by fold.
    processes = {t.user_attrs.get("process") for t in study.trials if t.state == states.COMPLETE}
    host = socket.gethostname()
    assert f"{host}:{driver.pid}" in processes and f"{host}:{survivor.pid}" in processes
    for trial in study.get_trials(states=(states.COMPLETE,)):
        assert sorted(trial.intermediate_values) == [0, 1, 2]
    # One refit, in the driver, over everyone's trials.
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "ok"
    assert result["n_trials"] == len(study.trials) - len(
        study.get_trials(states=(states.RUNNING, states.WAITING))
    )
    assert "worker done" in (tmp_path / "survivor.log").read_text()


def test_files_go_to_a_shared_folder_when_one_is_named(database: str, tmp_path: Path) -> None:
    from automl_backend import BackendError
    from automl_backend._hpo.shared import load_problem
    from automl_backend._hpo.storage import open_artifact_store

    folder = tmp_path / "shared"
    result = run_spec(_spec("folder", 3), _small_data(), storage=database, artifacts=folder)
    assert result.status == "ok"
    study = _study(database, "folder")
    stored = {p.name for p in folder.rglob("*") if p.is_file()}
    assert study.user_attrs["cosci:problem"] in stored
    assert {t.user_attrs["oof_artifact"] for t in study.trials} <= stored
    problem, _, _ = load_problem(study, open_artifact_store(database, folder), wait_s=1)
    assert len(problem.y) == 150 and len(problem.folds) == 3
    # a worker without the folder looks in the database and says what to pass
    with pytest.raises(BackendError, match="pass the --artifacts folder"):
        load_problem(study, open_artifact_store(database), wait_s=1)


@pytest.mark.slow
def test_an_interrupted_worker_hands_its_trial_back(database: str, tmp_path: Path) -> None:
    data, spec = _slow_problem(tmp_path)
    worker = _start(["worker", "--storage", database, "--study", "ctrl-c", "--wait", "120"],
                    tmp_path / "worker.log")  # fmt: skip
    driver = _start([
        "automl", "--data", str(data), "--target", "y", "--spec", str(spec), "--trials", "3",
        "--time-budget", "400", "--storage", database, "--study", "ctrl-c",
        "--out", str(tmp_path / "run"),
    ], tmp_path / "driver.log")  # fmt: skip
    storage = optuna.storages.RDBStorage(sqlalchemy_url(database))
    try:
        stopped = _wait_for(
            lambda: _running_trial_of(storage, "ctrl-c", worker.pid), 180, "a worker's trial"
        )
        worker.send_signal(signal.SIGINT)  # Ctrl-C
        assert worker.wait(timeout=60) == 130
        assert driver.wait(timeout=400) == 0, (tmp_path / "driver.log").read_text()
    finally:
        for process in (driver, worker):
            if process.poll() is None:
                process.kill()
    study = _study(database, "ctrl-c")
    states = optuna.trial.TrialState
    interrupted = study.trials[stopped]
    assert interrupted.state == states.FAIL
    assert interrupted.user_attrs["fail_reason"] == "stopped: the worker was interrupted"
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == stopped]
    assert len(retries) == 1 and retries[0].state == states.COMPLETE
    assert retries[0].params == interrupted.params
    assert not study.get_trials(states=(states.RUNNING, states.WAITING))


@pytest.mark.slow
def test_a_following_worker_joins_each_study_of_a_sweep(database: str, tmp_path: Path) -> None:
    data, spec = _slow_problem(tmp_path)
    worker = _start(["worker", "--storage", database, "--follow", "sweep-", "--idle", "25"],
                    tmp_path / "worker.log")  # fmt: skip
    try:
        for name in ("sweep-a", "sweep-b"):
            driver = subprocess.run([
                *COSCI, "automl", "--data", str(data), "--target", "y", "--spec", str(spec),
                "--trials", "6", "--time-budget", "300", "--storage", database,
                "--study", name, "--out", str(tmp_path / name),
            ], capture_output=True, text=True, env=ENV, timeout=300)  # fmt: skip
            assert driver.returncode == 0, driver.stdout + driver.stderr
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    mine = f"{socket.gethostname()}:{worker.pid}"
    for name in ("sweep-a", "sweep-b"):
        ran = [t for t in _study(database, name).trials if t.user_attrs.get("process") == mine]
        assert ran and all(t.state == optuna.trial.TrialState.COMPLETE for t in ran)
    log = (tmp_path / "worker.log").read_text()
    assert "joined study 'sweep-a'" in log and "joined study 'sweep-b'" in log


def test_a_worker_needs_a_study_or_a_prefix(database: str) -> None:
    message = _one_line_error(["worker", "--storage", database])
    assert "--study NAME" in message and "--follow PREFIX" in message


def _frozen(number: int, state: Any, completed: Any, user_attrs: dict[str, Any] | None = None,
            system_attrs: dict[str, Any] | None = None) -> Any:  # fmt: skip
    return optuna.trial.FrozenTrial(
        number=number, state=state, value=None, datetime_start=completed,
        datetime_complete=completed, params={}, distributions={},
        user_attrs=user_attrs or {}, system_attrs=system_attrs or {},
        intermediate_values={}, trial_id=number,
    )  # fmt: skip


def test_a_driver_waits_for_the_retry_of_a_trial_just_failed_for_its_dead_process() -> None:
    """The heartbeat check fails a dead process's trial, then queues its retry. A driver
    that looked in between saw nothing running and nothing waiting, finished, and left
    the retry (run by a worker afterwards) out of its result."""
    import datetime

    from automl_backend._hpo.shared import RETRY_QUEUE_S, retry_coming

    states = optuna.trial.TrialState
    now = datetime.datetime.now()
    done = _frozen(0, states.COMPLETE, now, {"config": {"family": "knn"}})
    dead = _frozen(1, states.FAIL, now)  # no config: its process never finished it
    assert retry_coming([done, dead], now)
    retry = _frozen(2, states.WAITING, None, system_attrs={"failed_trial": 1})
    assert not retry_coming([done, dead, retry], now)  # queued: the loop sees it waiting
    # A trial that failed in its own process (it has its config) gets no retry.
    failed = _frozen(1, states.FAIL, now, {"config": {"family": "knn"}, "fail_reason": "x"})
    assert not retry_coming([done, failed], now)
    # A retry that never came (retries used up) is not waited for past a few seconds.
    later = now + datetime.timedelta(seconds=RETRY_QUEUE_S + 1)
    assert not retry_coming([done, dead], later)
