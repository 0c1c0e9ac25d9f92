"""Run directories: complete artifacts on success, nothing left behind on failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_backend import (
    BackendError,
    DataError,
    ExperimentResult,
    ExperimentSpec,
    FittedModel,
    load_dataset,
    load_model,
    run_spec,
    train_test_split_dataset,
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExperimentResult, Path]:
    data = load_dataset("sklearn:wine")
    train, test = train_test_split_dataset(data, 0.3)
    spec = ExperimentSpec.for_families(
        ["logistic", "knn", "extra_trees"], n_trials=8, cv={"folds": 3}
    )
    out = tmp_path_factory.mktemp("runs") / "wine-run"
    return run_spec(spec, train, out_dir=out, test=test), out


def test_run_directory_holds_every_artifact(finished_run) -> None:
    result, out = finished_run
    assert result.status == "ok" and result.run_dir == out
    for name in ("spec.yaml", "model.skops", "manifest.json", "leaderboard.csv", "study.db",
                 "report.md", "result.json", "dataset.json", "plots/history.png",
                 "plots/families.png"):  # fmt: skip
        assert (out / name).is_file(), name
    assert ExperimentSpec.from_file(out / "spec.yaml").budget.n_trials == 8
    assert ExperimentResult.model_validate_json((out / "result.json").read_text()) == result
    assert not list(out.parent.glob(".*partial*"))


def test_leaderboard_and_report_content(finished_run) -> None:
    result, out = finished_run
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == result.n_trials == 8
    assert board["rank"].tolist() == list(range(1, 9))
    assert board.loc[0, "score"] == pytest.approx(result.best_score)
    report = (out / "report.md").read_text()
    for heading in (
        "## Ensemble members",
        "## Optimization history",
        "![history](plots/history.png)",
    ):
        assert heading in report


def test_saved_model_predicts_like_the_test_score(finished_run) -> None:
    result, out = finished_run
    model = load_model(out)
    assert isinstance(model, FittedModel)
    data = load_dataset("sklearn:wine")
    _, test = train_test_split_dataset(data, 0.3)
    accuracy = float(np.mean(model.predict(test.X) == test.y.to_numpy()))
    assert accuracy == pytest.approx(result.test_score)
    assert result.test_score > 0.85
    proba = model.predict_proba(test.X)
    assert proba.shape == (len(test.y), 3) and np.allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(DataError, match="lacks the model's columns: alcohol"):
        model.predict(test.X.drop(columns="alcohol"))


def test_existing_run_directory_is_refused(finished_run) -> None:
    _, out = finished_run
    with pytest.raises(BackendError, match="already exists"):
        run_spec(ExperimentSpec.for_families(["knn"], n_trials=1), load_dataset("sklearn:wine"),
                 out_dir=out)  # fmt: skip


def test_bad_input_leaves_no_run_directory(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    out = tmp_path / "never"
    with pytest.raises(DataError, match="fewer than the 5"):
        run_spec(ExperimentSpec.for_families(["knn"], n_trials=1), load_dataset(frame, "y"),
                 out_dir=out)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_cleans_up(tmp_path: Path) -> None:
    def interrupt(event: object) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_spec(ExperimentSpec.for_families(["knn"], n_trials=3), load_dataset("sklearn:iris"),
                 out_dir=out, progress=interrupt)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no model found"):
        load_model(tmp_path)
    (tmp_path / "model.joblib").write_text("junk", encoding="utf-8")
    with pytest.raises(BackendError, match=r"no manifest\.json"):
        load_model(tmp_path)
    with pytest.raises(BackendError, match="cannot load model"):
        load_model(tmp_path, trust=True)


def test_the_writers_are_imported_while_the_first_trial_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing skops and matplotlib takes seconds; done before the first trial it
    delays the search, done after the search it runs past the budget. The run does it
    once, after the first trial's process has started, for any budget."""
    import automl_backend._hpo.run as runner
    from automl_backend._hpo import worker

    started: list[str] = []
    real_start = worker.ChildTask.start.__func__  # type: ignore[attr-defined]

    def start(cls: type, target: object, *args: object, **kwargs: object) -> object:
        started.append(getattr(target, "__name__", "?"))
        return real_start(cls, target, *args, **kwargs)

    calls: list[list[str]] = []
    monkeypatch.setattr(worker.ChildTask, "start", classmethod(start))
    monkeypatch.setattr(runner, "preload_run_dir_writers", lambda: calls.append(list(started)))
    spec = ExperimentSpec.for_families(["logistic"], n_trials=3, time_s=15, cv={"folds": 2})
    result = run_spec(spec, load_dataset("sklearn:iris"), out_dir=tmp_path / "run")
    assert result.status == "ok", result.reason
    assert len(calls) == 1, calls  # once, even at a 15 s budget
    assert calls[0] and set(calls[0]) == {"trial_child"}  # a trial was running, no refit yet
