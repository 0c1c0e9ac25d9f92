"""run_nas end to end on tiny data and budgets, and every bad input before training."""

from __future__ import annotations

import json

import numpy as np
import pytest

from automl_backend.nas import CellSpace, MLPSpace, NASError, NASModel, NASSpec, run_nas

TINY_CNN = CellSpace(channels=[4], normal_cells=[1], nodes=2)
TINY_MLP = MLPSpace(depths=[1, 2], widths=[16, 32])


def tiny(space, strategy: str = "random", **kw) -> NASSpec:
    base = dict(
        space=space,
        strategy=strategy,
        time_budget_s=None,
        max_trials=3,
        epochs_per_trial=1,
        final_epochs=2,
    )
    return NASSpec(**(base | kw))


def test_mlp_run_writes_a_complete_run_directory(digits, tmp_path) -> None:
    X, y = digits
    out = tmp_path / "run"
    result = run_nas(
        tiny(TINY_MLP, final_epochs=15),
        X,
        y,
        test_size=0.25,
        out_dir=out,
        data_info={"source": "x"},
    )
    assert result.n_evaluated == 3 and len(result.trials) == 3
    assert 0.5 < result.test_accuracy <= 1.0
    expected = {
        "spec.yaml",
        "leaderboard.csv",
        "best_architecture.json",
        "architecture.md",
        "model.safetensors",
        "manifest.json",
        "history.csv",
        "report.md",
        "result.json",
        "search_progress.png",
        "pareto_front.png",
        "data.json",
    }
    assert expected <= {p.name for p in out.iterdir()}
    best = json.loads((out / "best_architecture.json").read_text())
    assert best["architecture"] == result.best_architecture
    assert len((out / "history.csv").read_text().splitlines()) == 4
    model = NASModel.load(out)
    assert model.predict(X[:5]).shape == (5,)
    assert not list(tmp_path.glob(".*partial*"))


def test_same_seed_gives_the_same_search(digits) -> None:
    X, y = digits
    a = run_nas(tiny(TINY_MLP, "evolution", seed=4), X, y)
    b = run_nas(tiny(TINY_MLP, "evolution", seed=4), X, y)
    assert [t.architecture for t in a.trials] == [t.architecture for t in b.trials]
    assert [t.accuracy for t in a.trials] == [t.accuracy for t in b.trials]


def test_cnn_run_with_explicit_test_rows(digits) -> None:
    X, y = digits
    result = run_nas(tiny(TINY_CNN, max_trials=2), X[:300], y[:300], X_test=X[300:], y_test=y[300:])
    assert result.space == "cnn" and result.test_accuracy is not None
    assert result.best_architecture["channels"] == 4


def test_multi_objective_run_returns_a_pareto_front(digits) -> None:
    X, y = digits
    spec = tiny(
        TINY_MLP, "nsga2", objectives=["accuracy", "params"], max_trials=8, population_size=4
    )
    result = run_nas(spec, X, y)
    front = result.pareto_front
    assert front and all(t in result.trials for t in front)
    for t in front:  # nothing evaluated beats a front member on both objectives
        assert not any(o.accuracy > t.accuracy and o.params < t.params for o in result.trials)


def test_spos_inherits_weights_then_fine_tunes(digits) -> None:
    X, y = digits
    spec = tiny(TINY_CNN, "spos", max_trials=4, epochs_per_trial=1)
    result = run_nas(spec, X, y)
    assert all(t.info.get("inherited") and t.epochs == 0 for t in result.trials)
    assert any("supernet trained" in n for n in result.notes)


def test_darts_reports_when_the_skip_guard_fires(digits) -> None:
    X, y = digits
    space = CellSpace(
        channels=[4], normal_cells=[1], nodes=2, operations=["skip", "zero"], max_skips=0
    )
    result = run_nas(tiny(space, "darts", epochs_per_trial=1), X, y)
    assert result.n_evaluated == 1
    assert any("skip guard fired after epoch 1" in n for n in result.notes)


def test_hyperband_continues_training_survivors(digits) -> None:
    X, y = digits
    result = run_nas(tiny(TINY_MLP, "hyperband", epochs_per_trial=2, max_trials=3), X, y)
    assert [t.info["rung"] for t in result.trials] == [0, 0, 1]
    assert result.trials[2].epochs == 1 and result.trials[2].info["total_epochs"] == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (tiny(TINY_CNN, image_shape=(1, 4, 4)), "needs 16 values per row, but the data has 64"),
        (tiny(MLPSpace(max_params=10)), "no valid architecture: max_params is 10"),
        (tiny(TINY_MLP, time_budget_s=0.01), "too small for one training epoch"),
    ],
)
def test_bad_input_fails_before_training_and_leaves_no_run_dir(digits, tmp_path, spec, message):
    X, y = digits
    out = tmp_path / "run"
    with pytest.raises(NASError, match=message):
        run_nas(spec, X, y, out_dir=out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_existing_run_dir_and_regression_targets_are_refused(digits, tmp_path) -> None:
    X, y = digits
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    with pytest.raises(NASError, match="already exists"):
        run_nas(tiny(TINY_MLP), X, y, out_dir=tmp_path / "run")
    with pytest.raises(NASError, match="regression"):
        run_nas(tiny(TINY_MLP), X, np.linspace(0, 1, len(y)))
