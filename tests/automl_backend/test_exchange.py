"""The files a shared study's processes exchange: a problem round-trips without pickles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_backend import load_dataset, parse_spec
from automl_backend._hpo.exchange import pack_oof, pack_problem, unpack_oof, unpack_problem
from automl_backend._hpo.run import _encode, _space


def test_a_problem_with_categories_gaps_and_dates_round_trips() -> None:
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "colour": rng.choice(["red", "green", None], size=n),
        "size": pd.Series([1, "two", 3.5] * (n // 3), dtype=object),  # mixed Python objects
        "flag": rng.choice([True, False], size=n),
        "day": pd.date_range("2026-01-01", periods=n, freq="D"),
        "y": rng.choice(["a", "b", "c"], size=n),
    })  # fmt: skip
    frame.loc[3, "x"] = np.nan
    data = load_dataset(frame, "y")
    spec = parse_spec({"models": [{"family": "logistic"}, {"family": "knn"}], "cv": {"folds": 3}})
    encoded = _encode(data, spec, "accuracy")
    space = _space(spec, data)
    problem, spec_back, space_back, data_hash = unpack_problem(
        pack_problem(encoded.problem, spec, space, "hash")
    )
    assert data_hash == "hash" and spec_back == spec and space_back == space
    original = encoded.problem
    assert original.column_types["size"] == original.column_types["colour"] == "categorical"
    assert problem.column_types == original.column_types
    assert problem.task == original.task and problem.n_classes == original.n_classes
    np.testing.assert_array_equal(problem.y, original.y)
    assert len(problem.folds) == 3
    for (train, valid), (train0, valid0) in zip(problem.folds, original.folds, strict=True):
        np.testing.assert_array_equal(train, train0)
        np.testing.assert_array_equal(valid, valid0)
    assert list(problem.X.columns) == list(original.X.columns)
    np.testing.assert_array_equal(problem.X["x"].to_numpy(), original.X["x"].to_numpy())
    assert (problem.X["day"] == original.X["day"]).all()
    # categories come back as text, with the same gaps
    assert problem.X["colour"].isna().equals(original.X["colour"].isna())
    assert list(problem.X["size"].dropna()) == [str(v) for v in original.X["size"].dropna()]


def test_out_of_fold_predictions_round_trip_and_junk_is_refused() -> None:
    prediction = np.array([[0.2, 0.8], [np.nan, np.nan], [0.6, 0.4]])
    np.testing.assert_array_equal(unpack_oof(pack_oof(prediction)), prediction)
    with pytest.raises(ValueError, match="not a published problem"):
        unpack_problem(b"not a numpy file")
