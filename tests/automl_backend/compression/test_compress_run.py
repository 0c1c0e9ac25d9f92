"""compress_run on a real (tiny) NAS run directory, and its input errors."""

from __future__ import annotations

import json

import pytest

from automl_backend.compression import CompressionError, compress_run
from automl_backend.nas import MLPSpace, NASSpec, run_nas


@pytest.fixture(scope="module")
def nas_run_dir(tmp_path_factory):
    from automl_backend import load_dataset, train_test_split_dataset

    dataset = load_dataset("sklearn:digits")
    train, test = train_test_split_dataset(dataset, 0.25, seed=0)
    spec = NASSpec(
        space=MLPSpace(depths=[2], widths=[128], norms=["none"], residual=[False]),
        strategy="random",
        time_budget_s=None,
        max_trials=1,
        epochs_per_trial=1,
        final_epochs=15,
    )
    out = tmp_path_factory.mktemp("runs") / "nas"
    run_nas(
        spec,
        train.X,
        train.y.to_numpy(),
        X_test=test.X,
        y_test=test.y.to_numpy(),
        out_dir=out,
        data_info={"source": "sklearn:digits", "target": "target", "test_size": 0.25, "seed": 0},
    )
    return out


def test_compress_searches_combinations_and_picks_one_meeting_the_size(nas_run_dir, tmp_path):
    out = tmp_path / "compressed"
    result = compress_run(nas_run_dir, target_size_kb=30.0, out_dir=out)
    names = [c.name for c in result.candidates]
    assert "int8" in names and "magnitude 90% + int8" in names
    assert "neurons -50%" in names and "student MLP 32 + int8" in names
    assert result.baseline.size_kb > 30.0 and not result.baseline.meets_target
    chosen = next(c for c in result.candidates if c.name == result.chosen)
    assert chosen.size_kb <= 30.0
    fitting = [c for c in result.candidates if c.meets_target]
    assert all(c.validation_accuracy <= chosen.validation_accuracy for c in fitting)
    assert result.n_eval_rows == 449  # the run's own 25 % holdout, split in two
    validation, holdout = set(result.split.validation_rows), set(result.split.holdout_rows)
    assert not validation & holdout and len(validation) + len(holdout) == 449
    assert chosen.holdout_accuracy is not None and result.baseline.holdout_accuracy is not None
    assert [c.name for c in result.candidates if c.holdout_accuracy is not None] == [chosen.name]
    assert {"candidates.csv", "result.json", "weights.npz", "chosen.json"} <= {
        p.name for p in out.iterdir()
    }
    saved = json.loads((out / "chosen.json").read_text())
    assert saved["name"] == result.chosen
    assert saved["holdout_accuracy"] == chosen.holdout_accuracy
    header = (out / "candidates.csv").read_text().splitlines()[0]
    assert "validation_accuracy,holdout_accuracy" in header
    written = json.loads((out / "result.json").read_text())
    assert written["split"]["holdout_rows"] == result.split.holdout_rows


def test_compress_input_errors(nas_run_dir, tmp_path) -> None:
    with pytest.raises(CompressionError, match="exactly one"):
        compress_run(nas_run_dir)
    with pytest.raises(CompressionError, match="not a run directory"):
        compress_run(tmp_path / "nowhere", target_size_kb=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompressionError, match=r"no model\.pt"):
        compress_run(tmp_path / "empty", target_size_kb=1)


def test_an_automl_ensemble_is_distilled_into_students(tmp_path) -> None:
    from automl_backend import load_dataset, parse_spec, run_spec, train_test_split_dataset

    train, test = train_test_split_dataset(load_dataset("sklearn:iris"), 0.3, seed=0)
    spec = parse_spec(
        {"models": [{"family": "logistic"}], "budget": {"time_s": None, "n_trials": 2}}
    )
    run_dir = tmp_path / "automl"
    run_spec(spec, train, out_dir=run_dir, test=test)
    with pytest.raises(CompressionError, match="pass --data"):
        compress_run(run_dir, target_latency_ms=1.0)
    result = compress_run(run_dir, target_latency_ms=1.0, data="sklearn:iris", test_size=0.3)
    assert result.baseline.name == "original" and result.baseline.validation_accuracy > 0.8
    assert result.baseline.holdout_accuracy is not None and result.baseline.holdout_accuracy > 0.8
    assert result.candidates[0].name == "student MLP 32"  # no network to prune
    assert result.chosen is not None and result.chosen.startswith("student MLP")
