"""Saved out-of-fold predictions and combine_runs: two real tiny runs merged without refits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_backend import (
    BackendError,
    CombinedResult,
    ExperimentSpec,
    combine_runs,
    load_dataset,
    load_model,
    run_spec,
    train_test_split_dataset,
)
from automl_backend._hpo.oof import load_oof
from automl_backend._integrity import file_sha256
from automl_backend._metrics import score
from automl_backend._model import read_parts
from cosci.cli import app


def _spec(families: list[str], n_trials: int) -> ExperimentSpec:
    """One trial at a time with one thread (the defaults), 3-fold CV."""
    return ExperimentSpec.for_families(
        families, n_trials=n_trials, metric="accuracy", cv={"folds": 3}
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two tiny runs of different families on the same train split of wine."""
    data = load_dataset("sklearn:wine")
    train, test = train_test_split_dataset(data, 0.3, seed=0)
    root = tmp_path_factory.mktemp("combine")
    linear = run_spec(_spec(["logistic"], 3), train, out_dir=root / "linear")
    neighbours = run_spec(_spec(["knn"], 3), train, out_dir=root / "knn")
    assert linear.ok and neighbours.ok
    return {"train": train, "test": test, "root": root, "linear": root / "linear",
            "knn": root / "knn"}  # fmt: skip


def test_run_dir_saves_the_final_models_out_of_fold_predictions(runs) -> None:
    folder: Path = runs["linear"]
    oof = load_oof(folder)
    model = load_model(folder)
    train = runs["train"]
    assert oof.prediction.shape == (train.n_rows, 3) and oof.y.shape == (train.n_rows,)
    assert np.isfinite(oof.prediction).all()  # 3-fold CV predicts every row once
    assert np.allclose(oof.prediction.sum(axis=1), 1.0)
    assert oof.info.classes == [0, 1, 2] == [int(c) for c in model.classes]
    # The encoded target is the data set's target in the model's class order.
    labels = np.asarray(model.classes)[oof.y]
    assert (labels == train.y.to_numpy()).all()
    # The members' weights are the model's, and the score is the blend's.
    assert sum(oof.info.members.values()) == pytest.approx(1.0)
    assert len(oof.info.members) == len(model.members)
    assert oof.info.score == pytest.approx(score("accuracy", oof.y, oof.prediction))
    assert oof.info.cv == "stratified, 3 split(s), seed 0"


def test_combined_model_mixes_the_fitted_members_of_both_runs(runs, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    result = combine_runs([runs["linear"], runs["knn"]], runs["train"], out_dir=out, seed=0)
    assert isinstance(result, CombinedResult) and result.run_dir == out.resolve()
    assert sum(r.weight for r in result.runs) == pytest.approx(1.0, abs=1e-5)
    # Each run's own out-of-fold score on the selection rows, recomputed here.
    own = {}
    for r in result.runs:
        oof = load_oof(r.run_dir)
        own[r.name] = score("accuracy", oof.y, oof.prediction)
        assert r.oof_score == pytest.approx(own[r.name])
    assert result.best_single_score == pytest.approx(max(own.values()))
    assert result.ensemble_score >= result.best_single_score
    assert result.selection_rows == result.n_rows == runs["train"].n_rows
    assert {r.name for r in result.runs} == {"linear", "knn"}
    for name in ("model-parts.json", "manifest.json", "result.json", "report.md", "oof.npz"):
        assert (out / name).is_file(), name
    # The chosen runs' model files are kept byte for byte, not re-saved.
    parts = {p.run: p for p in read_parts(out / "model-parts.json").parts}
    assert sorted(parts) == sorted(r.name for r in result.chosen)
    for run in result.chosen:
        part = parts[run.name]
        assert file_sha256(out / part.file) == file_sha256(run.run_dir / "model.skops")
        assert part.weight == pytest.approx(run.weight)
    saved = CombinedResult.model_validate_json((out / "result.json").read_text())
    assert saved.runs == result.runs and saved.ensemble_score == result.ensemble_score
    assert "optimistic" in (out / "report.md").read_text()

    # No refit: the combined model's probabilities are the runs' models' mixed by weight.
    test = runs["test"]
    combined = load_model(out)
    expected = sum(
        r.weight * load_model(r.run_dir).predict_proba(test.X) for r in result.runs if r.weight
    )
    assert np.allclose(combined.predict_proba(test.X), expected, atol=1e-5)
    n_members = sum(len(load_model(r.run_dir).members) for r in result.chosen)
    assert len(combined.members) == result.n_members == n_members
    assert sum(w for w, _ in combined.members) == pytest.approx(1.0)
    assert np.mean(combined.predict(test.X) == test.y.to_numpy()) > 0.8

    # The saved out-of-fold blend scores what the result says.
    blend = load_oof(out)
    assert blend.info.score == pytest.approx(result.ensemble_score)


def test_a_combination_of_a_combination_lists_the_inner_parts(runs, tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    combine_runs([runs["linear"], runs["knn"]], out_dir=inner, seed=0)
    outer = tmp_path / "outer"
    result = combine_runs([inner, runs["linear"]], out_dir=outer, seed=0)
    parts = read_parts(outer / "model-parts.json").parts
    # Flattened: every part is a single run's model file, never another parts list.
    assert all(p.file.endswith(".skops") for p in parts)
    assert sum(p.weight for p in parts) == pytest.approx(1.0, abs=1e-5)
    test = runs["test"].X
    expected = sum(
        r.weight * load_model(r.run_dir).predict_proba(test) for r in result.runs if r.weight
    )
    assert np.allclose(load_model(outer).predict_proba(test), expected, atol=1e-5)


def test_a_parts_list_pointing_outside_its_folder_is_refused(runs, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    combine_runs([runs["linear"], runs["knn"]], out_dir=out, seed=0)
    listed = json.loads((out / "model-parts.json").read_text())
    listed["parts"][0]["file"] = "../linear/model.skops"
    (out / "model-parts.json").write_text(json.dumps(listed))
    with pytest.raises(BackendError, match="points outside the folder"):
        load_model(out, trust=True)


def test_cosci_predict_reads_a_combined_run_dir(runs, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    combine_runs([runs["linear"], runs["knn"]], out_dir=out)
    table = tmp_path / "rows.csv"
    runs["test"].X.to_csv(table, index=False)
    preds = tmp_path / "preds.csv"
    done = CliRunner().invoke(
        app, ["predict", "--model", str(out), "--data", str(table), "--out", str(preds)]
    )
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(preds)
    assert len(frame) == len(runs["test"].y)
    assert {"prediction", "proba_0", "proba_1", "proba_2"} <= set(frame.columns)


def test_runs_without_oof_are_skipped_with_a_note(runs, tmp_path: Path) -> None:
    old = tmp_path / "old-run"
    shutil.copytree(runs["linear"], old)
    (old / "oof.npz").unlink()
    result = combine_runs([old, runs["knn"]], out_dir=None)
    assert result.run_dir is None
    assert [r.name for r in result.runs] == ["knn"] and result.runs[0].weight == 1.0
    assert len(result.skipped) == 1 and result.skipped[0].startswith("old-run: no saved")
    assert any("single usable run" in n for n in result.notes)
    with pytest.raises(BackendError, match="no run can be combined: old-run: no saved"):
        combine_runs([old], out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_runs_on_other_rows_are_refused_in_one_line(runs, tmp_path: Path) -> None:
    train = runs["train"]
    fewer = run_spec(_spec(["logistic"], 1), train.subset(np.arange(100)), out_dir=tmp_path / "s")
    assert fewer.ok
    out = tmp_path / "combined"
    with pytest.raises(BackendError) as caught:
        combine_runs([runs["linear"], tmp_path / "s"], out_dir=out)
    message = str(caught.value)
    assert "cannot be combined" in message and "rows" in message and "\n" not in message
    assert not out.exists() and not list(tmp_path.glob(".combined*"))
    shuffled = train.subset(np.arange(train.n_rows)[::-1])
    with pytest.raises(BackendError, match="not fitted on data set"):
        combine_runs([runs["linear"], runs["knn"]], shuffled, out_dir=None)
    with pytest.raises(BackendError, match="does not apply to multiclass"):
        combine_runs([runs["linear"], runs["knn"]], metric="rmse", out_dir=None)


def test_an_existing_output_directory_is_refused(runs, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BackendError, match="already exists"):
        combine_runs([runs["linear"], runs["knn"]], out_dir=out)
    assert (out / "keep.txt").read_text() == "mine"
    assert json.loads(json.dumps(sorted(p.name for p in out.iterdir()))) == ["keep.txt"]


def test_regression_runs_with_a_holdout_combine_on_the_shared_rows(tmp_path: Path) -> None:
    data = load_dataset("sklearn:diabetes")
    kfold = ExperimentSpec.for_families(["ridge"], n_trials=2, cv={"folds": 3})
    holdout = ExperimentSpec.for_families(
        ["knn"], n_trials=2, cv={"strategy": "holdout", "holdout_fraction": 0.25}
    )
    assert run_spec(kfold, data, out_dir=tmp_path / "ridge").ok
    assert run_spec(holdout, data, out_dir=tmp_path / "knn").ok
    partial = load_oof(tmp_path / "knn")
    # A holdout predicts only its validation rows; the others stay NaN.
    assert partial.prediction.ndim == 1
    assert partial.info.n_predicted == int(np.isfinite(partial.prediction).sum()) < data.n_rows
    result = combine_runs([tmp_path / "ridge", tmp_path / "knn"], data, out_dir=tmp_path / "c")
    assert result.metric == "rmse" and result.selection_rows == partial.info.n_predicted
    assert result.ensemble_score >= result.best_single_score
    assert sum(r.weight for r in result.runs) == pytest.approx(1.0, abs=1e-5)
    X = data.X.iloc[:40]
    expected = sum(r.weight * load_model(r.run_dir).predict(X) for r in result.runs if r.weight)
    assert np.allclose(load_model(tmp_path / "c").predict(X), expected)
