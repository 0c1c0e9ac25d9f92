"""A NAS experiment is one more kind of ExperimentSpec, run by the backend's run_spec."""

from __future__ import annotations

import pandas as pd
import pytest

from automl_backend import (
    ExperimentResult,
    SpecError,
    load_dataset,
    parse_spec,
    run_spec,
    train_test_split_dataset,
)
from automl_backend.nas import NASError


def test_experiment_spec_takes_a_nas_section_only_for_kind_nas() -> None:
    spec = parse_spec({"kind": "nas", "nas": {"space": {"kind": "cnn"}, "strategy": "spos"}})
    assert spec.nas is not None and spec.nas.space.kind == "cnn"
    assert parse_spec(spec.model_dump(mode="json")) == spec
    with pytest.raises(SpecError, match="needs a 'nas' section"):
        parse_spec({"kind": "nas"})
    with pytest.raises(SpecError, match="only kind 'nas' takes one"):
        parse_spec({"nas": {}})
    with pytest.raises(SpecError, match="use the cnn space"):
        parse_spec({"kind": "nas", "nas": {"strategy": "darts"}})


def test_run_spec_dispatches_nas_and_returns_an_experiment_result(tmp_path) -> None:
    dataset = load_dataset("sklearn:digits")
    train, test = train_test_split_dataset(dataset, 0.25, seed=0)
    spec = parse_spec({
        "kind": "nas", "seed": 3, "budget": {"time_s": None, "n_trials": 2},
        "nas": {"space": {"kind": "cnn", "channels": [4], "normal_cells": [1], "nodes": 2},
                "strategy": "random", "epochs_per_trial": 1, "final_epochs": 3},
    })  # fmt: skip
    out = tmp_path / "run"
    result = run_spec(spec, train, out_dir=out, test=test)
    assert isinstance(result, ExperimentResult) and result.ok
    assert result.n_trials == 2 and result.fold_scores == [result.best_score]
    assert result.best_architecture["kind"] == "cnn" and result.best_config is None
    assert result.test_score is not None and result.test_score > 0.5
    board = pd.read_csv(result.trials_path)
    assert list(board["rank"]) == [1, 2] and board["score"].is_monotonic_decreasing
    assert parse_spec(__import__("yaml").safe_load((out / "spec.yaml").read_text())) == spec


def test_run_spec_refuses_nas_on_regression() -> None:
    spec = parse_spec({"kind": "nas", "nas": {}})
    with pytest.raises(NASError, match="classification"):
        run_spec(spec, load_dataset("sklearn:diabetes"))
