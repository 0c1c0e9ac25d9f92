"""Trial executors: the seam between the HPO search loop and where its trials run.

One contract class runs against every executor; a search given an in-process executor
shows that the loop depends on the Protocol alone (what distributed workers will plug in).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl_backend import TrialConfig, load_dataset, parse_spec
from automl_backend._hpo import worker
from automl_backend._hpo.executor import ForkExecutor, TrialExecutor, TrialMessage
from automl_backend._hpo.run import run_hpo
from automl_backend._hpo.worker import ChildTask, FoldResult, Problem, trial_child


class InProcessExecutor:
    """Runs each trial to the end inside ``start`` (test double: no process, no deadline)."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self._waiting: dict[int, list[TrialMessage]] = {}

    def start(self, number: int, problem: Problem, config: TrialConfig,
              measures: tuple[str, ...], deadline: float | None = None) -> None:  # fmt: skip
        self.started.append(number)
        messages: list[TrialMessage] = []
        try:
            trial_child(messages.append, problem, config, measures, deadline)
        except Exception as exc:
            messages.append(("failed", f"{type(exc).__name__}: {exc}"))
        self._waiting[number] = messages

    def poll(self, timeout: float) -> dict[int, list[TrialMessage]]:
        waiting, self._waiting = self._waiting, {}
        return waiting

    def stop(self, number: int) -> None:
        self._waiting.pop(number, None)


def _problem() -> Problem:
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    index = np.arange(80)
    folds = [(index[index % 2 == k], index[index % 2 != k]) for k in (0, 1)]
    return Problem(
        X=pd.DataFrame(X, columns=list("abcd")), y=y, column_types=dict.fromkeys("abcd", "numeric"),
        task="binary", n_classes=2, folds=folds, metric="accuracy",
    )  # fmt: skip


def _messages_until_done(executor: TrialExecutor, number: int) -> list[TrialMessage]:
    received: list[TrialMessage] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        received += executor.poll(0.2).get(number, [])
        if any(kind in ("done", "failed") for kind, _ in received):
            return received
    raise AssertionError(f"trial {number} sent no final message: {received}")


@pytest.fixture(params=[ForkExecutor, InProcessExecutor], ids=["fork", "in-process"])
def executor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the in-process trial sets it for itself
    return request.param()


class TestTrialExecutorContract:
    def test_a_trial_reports_each_fold_then_done(self, executor: Any) -> None:
        executor.start(7, _problem(), TrialConfig(family="logistic"), ())
        messages = _messages_until_done(executor, 7)
        executor.stop(7)
        folds = [m for kind, m in messages if kind == "fold"]
        assert [f.index for f in folds] == [0, 1] and all(isinstance(f, FoldResult) for f in folds)
        assert messages[-1] == ("done", {})

    def test_a_failing_trial_says_why(self, executor: Any) -> None:
        bad = TrialConfig.model_construct(family="logistic", params={"C": -1.0})  # unchecked
        executor.start(3, _problem(), bad, ())
        kind, reason = _messages_until_done(executor, 3)[-1]
        executor.stop(3)
        assert kind == "failed" and "C" in reason

    def test_stop_forgets_the_trial(self, executor: Any) -> None:
        executor.start(1, _problem(), TrialConfig(family="logistic"), ())
        executor.stop(1)
        executor.stop(1)  # a second stop is harmless
        assert 1 not in executor.poll(0.0)


def test_the_search_runs_its_trials_on_the_executor_it_is_given(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    real_start = ChildTask.start.__func__  # type: ignore[attr-defined]
    forked: list[str] = []

    def start(cls: type[ChildTask], target: Any, *args: Any, **kwargs: Any) -> ChildTask:
        forked.append(target.__name__)
        return real_start(cls, target, *args, **kwargs)

    monkeypatch.setattr(ChildTask, "start", classmethod(start))
    X, y = make_classification(n_samples=120, n_features=5, random_state=1)
    data = load_dataset(pd.DataFrame(X).rename(columns=str).assign(y=y), "y")
    spec = parse_spec({
        "models": [{"family": "logistic"}, {"family": "knn"}],
        "budget": {"time_s": None, "n_trials": 4}, "cv": {"folds": 2},
        "search": {"enqueue_defaults": False},
    })  # fmt: skip
    executor = InProcessExecutor()
    output = run_hpo(spec, data, executor=executor)
    assert output.result.status == "ok", output.result.reason
    assert executor.started == [0, 1, 2, 3] and output.result.n_trials == 4
    assert forked and set(forked) == {"refit_child"}  # no trial forked, only the refits


def test_a_refit_hands_its_model_back_through_a_file_it_then_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "REFIT_TRANSFER_DIR", tmp_path)
    problem = _problem()
    model, seconds = worker.run_refit(problem, TrialConfig(family="logistic"), None)
    assert seconds > 0 and model.predict(problem.X).shape == (80,)
    assert list(tmp_path.iterdir()) == []


def test_a_refit_child_that_cannot_write_the_file_sends_the_model_through_the_pipe(
    tmp_path: Path,
) -> None:
    sent: list[Any] = []
    unwritable = str(tmp_path / "missing-folder" / "model.pkl")
    worker.refit_child(sent.append, _problem(), TrialConfig(family="logistic"), unwritable)
    [(kind, payload, seconds)] = sent
    assert kind == "model" and isinstance(payload, bytes) and seconds > 0
    assert worker._load_model(payload).predict(_problem().X).shape == (80,)
