"""Feature transforms in whole runs: selection, errors, fold fitting, saved models, the CLI.

These need the runner to pass the spec's features to every trial pipeline (the
``Problem.features`` hook of the HPO runner); until it is there they are skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_backend import AutoMLRegressor, ExperimentSpec, SpecError, load_model, run_spec
from automl_backend._dataset import Dataset, build_dataset
from automl_backend._features import FeatureBuilder
from automl_backend._features.candidates import candidate_features
from automl_backend._features.selection import select_features
from automl_backend._features.vocabulary import Binary
from automl_backend._splits import make_folds
from cosci.cli import app, main

runner = CliRunner()


def ratio_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A target driven by a ratio of two columns, plus a noise column and a category."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
    city = rng.choice(["x", "y", "z"], n)
    y = a / b + 0.05 * rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "noise": rng.normal(size=n), "city": city, "y": y})


def ratio_data(n: int = 300) -> Dataset:
    return build_dataset(ratio_table(n), "y", task="regression", name="ratio")


def _spec(**fields: Any) -> ExperimentSpec:
    base: dict[str, Any] = {"budget": {"n_trials": 2, "time_s": None}, "cv": {"folds": 3},
                            "ensemble": {"enabled": False}}  # fmt: skip
    return ExperimentSpec.for_families(["ridge"], **{**base, **fields})


@pytest.fixture(scope="module")
def hooked() -> None:
    """Skip unless the runner checks and uses a spec's features."""
    spec = _spec(features=[{"kind": "log1p", "column": "nope"}])
    try:
        run_spec(spec, ratio_data(30))
    except SpecError:
        return
    pytest.skip("the HPO runner does not pass ExperimentSpec.features to its trials yet")


def test_candidates_find_the_planted_ratio() -> None:
    found = candidate_features(ratio_data(), max_candidates=6)
    pairs = [(t.kind, {t.left, t.right}) for t in found if isinstance(t, Binary)]
    assert ("ratio", {"a", "b"}) in pairs


def test_selection_keeps_the_ratio_and_reports_its_gain() -> None:
    selection = select_features(ratio_data(), "rmse", time_s=30)
    kinds = [(k.transform.kind, k.gain) for k in selection.kept]
    assert kinds and kinds[0][0] == "ratio" and kinds[0][1] > 0
    assert any("kept ratio(" in n and "CV gain +" in n for n in selection.notes())


def test_selection_keeps_nothing_on_noise() -> None:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.uniform(1, 5, size=(200, 4)), columns=list("abcd"))
    table["y"] = rng.integers(0, 2, 200)
    data = build_dataset(table, "y", task="binary", name="noise")
    selection = select_features(data, "accuracy", time_s=30)
    assert len(selection.kept) <= 1  # a lucky fold split may keep one, never a pile


def test_unknown_column_stops_the_run_in_one_line(hooked: None) -> None:
    spec = _spec(features=[{"kind": "ratio", "left": "a", "right": "city"}])
    with pytest.raises(SpecError) as info:
        run_spec(spec, ratio_data(40))
    message = str(info.value)
    assert "column 'city' is categorical, not numeric; numeric columns: a, b, noise" in message
    assert "\n" not in message


def test_transforms_are_fit_on_training_folds_only(hooked: None, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    log = tmp_path / "fits.txt"
    original = FeatureBuilder._fit

    def spy(self: FeatureBuilder, rows: pd.DataFrame, target: Any) -> Any:
        with log.open("a") as out:  # trials run in forked workers: report through a file
            out.write(",".join(str(i) for i in rows.index) + "\n")
        return original(self, rows, target)

    monkeypatch.setattr(FeatureBuilder, "_fit", spy)
    data = ratio_data(60)
    data.X.index = pd.RangeIndex(500, 560)
    spec = _spec(features=[{"kind": "target_encoding", "column": "city"},
                           {"kind": "rank", "column": "a"}])  # fmt: skip
    run_spec(spec, data)
    positions = {label: i for i, label in enumerate(data.X.index)}
    train_sets = [frozenset(train) for train, _ in make_folds(data, spec.cv, spec.seed, None)]
    fitted = [
        frozenset(positions[int(i)] for i in line.split(","))
        for line in log.read_text().splitlines()
    ]
    assert fitted and set(fitted) <= {*train_sets, frozenset(range(60))}
    assert set(train_sets) <= set(fitted)  # every fold was fit, each on its own rows


def test_saved_model_predicts_with_the_transforms_it_was_trained_with(hooked: None,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    table = ratio_table(120)
    train = tmp_path / "train.csv"
    table.to_csv(train, index=False)
    spec_file = tmp_path / "spec.yaml"
    _spec(features=[{"kind": "ratio", "left": "a", "right": "b"},
                    {"kind": "frequency", "column": "city"}]).save(spec_file)  # fmt: skip
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["automl", "--data", str(train), "--target", "y",
                                 "--spec", str(spec_file), "--out", str(run_dir)])  # fmt: skip
    assert result.exit_code == 0, result.output
    model = load_model(run_dir)
    steps = [pipeline.named_steps["features"] for _, pipeline in model.members]
    assert [t["kind"] for t in steps[0].transforms] == ["ratio", "frequency"]
    new = ratio_table(15, seed=9).drop(columns="y")
    new.loc[0, "city"] = "paris"  # unseen at training time
    new.loc[1, "b"] = 0.0  # division by zero at predict time
    new.to_csv(tmp_path / "new.csv", index=False)
    preds = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", "--model", str(run_dir), "--data",
                                 str(tmp_path / "new.csv"), "--out", str(preds)])  # fmt: skip
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(pd.read_csv(preds)["prediction"], model.predict(new))
    report = (run_dir / "report.md").read_text()
    assert "## Feature transforms" in report and "ratio(a,b) (from the spec)" in report


def test_cli_features_auto_prints_the_kept_transforms(hooked: None, tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    ratio_table(300).to_csv(train, index=False)
    result = runner.invoke(app, ["automl", "--data", str(train), "--target", "y",
                                 "--features", "auto", "--time-budget", "20",
                                 "--out", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "features: auto selection kept" in result.output
    assert "features: kept ratio(" in result.output
    assert "## Feature transforms" in (tmp_path / "run" / "report.md").read_text()


def test_cli_features_takes_only_auto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["cosci", "automl", "--data", "sklearn:iris",
                                      "--features", "all"])  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2 and "--features takes 'auto'" in capsys.readouterr().err


def test_estimator_features_auto(hooked: None) -> None:
    table = ratio_table(200)
    model = AutoMLRegressor(n_trials=2, features="auto", spec=_spec()).fit(
        table.drop(columns="y"), table["y"]
    )
    assert any(n.startswith("features: kept ratio(") for n in model.result_.notes)
    assert model.predict(table.drop(columns="y")).shape == (200,)
