"""Evaluation splits and the test holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_backend import CVSpec, DataError, load_dataset, train_test_split_dataset
from automl_backend._splits import make_folds


def _data(n: int = 60, task: str = "auto"):
    frame = pd.DataFrame(
        {
            "x": np.linspace(0, 1, n),
            "t": pd.date_range("2020-01-01", periods=n, freq="h")[::-1].astype(str),
            "y": np.arange(n) % 3,
        }
    )
    return load_dataset(frame, "y", task=task, time_column="t")


def test_stratified_folds_partition_rows_and_keep_class_shares() -> None:
    data = _data()
    folds = make_folds(data, CVSpec(folds=5))
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid) == list(range(60))
    for _, v in folds:
        assert data.y.iloc[v].value_counts().tolist() == [4, 4, 4]


def test_plain_kfold_and_holdout() -> None:
    data = _data()
    assert len(make_folds(data, CVSpec(strategy="kfold", folds=3))) == 3
    [(train, valid)] = make_folds(data, CVSpec(strategy="holdout", holdout_fraction=0.25))
    assert len(valid) == 15 and not set(train) & set(valid)


def test_time_split_trains_on_the_past_only() -> None:
    data = _data()
    order = pd.to_datetime(data.order)
    for train, valid in make_folds(data, CVSpec(strategy="time", folds=3, time_column="t")):
        assert order.iloc[train].max() < order.iloc[valid].min()


def test_fewer_rows_than_folds() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    with pytest.raises(DataError, match="4 rows are fewer than the 5"):
        make_folds(load_dataset(frame, "y"), CVSpec(folds=5))


def test_test_split_is_stratified() -> None:
    train, test = train_test_split_dataset(_data(), 0.25)
    assert test.n_rows == 15 and train.n_rows == 45
    assert test.y.value_counts().tolist() == [5, 5, 5]


def test_test_split_needs_two_rows_per_class() -> None:
    frame = pd.DataFrame({"x": np.arange(10.0), "y": [0] * 9 + [1]})
    with pytest.raises(DataError, match="single row"):
        train_test_split_dataset(load_dataset(frame, "y"), 0.2)
