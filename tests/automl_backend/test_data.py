"""load_dataset: sources, inference, column drops, and one test per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_backend import DataError, load_dataset, read_table
from automl_backend._loaders import keel_train_test


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(1000, 1000 + n),
            "num": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "flag": rng.choice([True, False], size=n),
            "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
            "const": 1,
            "label": rng.choice(["yes", "no"], size=n),
        }
    )


def test_named_sklearn_and_keel_sets_need_no_target() -> None:
    cancer = load_dataset("sklearn:breast_cancer")
    assert (cancer.task, cancer.n_rows, cancer.n_features) == ("binary", 569, 30)
    assert load_dataset("sklearn:digits").task == "multiclass"
    assert load_dataset("sklearn:diabetes").task == "regression"
    german = load_dataset("keel:german")
    assert german.task == "binary" and german.n_rows == 1000


def test_keel_first_fold_is_the_fixed_test_split() -> None:
    train, test = keel_train_test("german", 0)
    assert (train.n_rows, test.n_rows) == (900, 100)
    assert list(train.X.columns) == list(test.X.columns)


def test_unknown_named_sets_list_the_valid_ones() -> None:
    with pytest.raises(DataError, match="valid: breast_cancer, digits"):
        load_dataset("sklearn:titanic")
    with pytest.raises(DataError, match="unknown keel set"):
        load_dataset("keel:no-such-set")


def test_inference_of_task_types_and_drops(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="automl_backend"):
        data = load_dataset(_frame(), "label")
    assert data.task == "binary"
    assert data.column_types == {
        "num": "numeric", "colour": "categorical", "flag": "boolean", "when": "datetime",
    }  # fmt: skip
    assert data.dropped["id"].startswith("ID-like")
    assert data.dropped["const"].startswith("constant")
    assert "dropping column 'id'" in caplog.text


def test_integer_target_with_many_values_is_regression() -> None:
    frame = pd.DataFrame({"x": np.arange(100) % 7, "y": np.arange(100) * 3})
    assert load_dataset(frame, "y").task == "regression"
    assert load_dataset(frame.assign(y=np.arange(100) % 3), "y").task == "multiclass"


def test_rows_with_missing_target_are_dropped_with_a_note() -> None:
    frame = _frame()
    frame.loc[:4, "label"] = None
    data = load_dataset(frame, "label")
    assert data.n_rows == 35 and any("5 rows" in n for n in data.notes)


def test_csv_and_parquet_files(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.parquet"):
        data = load_dataset(tmp_path / name, "label")
        assert data.n_rows == 40 and "colour" in data.X
    assert list(read_table(tmp_path / "d.csv").columns) == list(frame.columns)


# ------------------------------------------------------------- bad input, one test each


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data file not found"):
        load_dataset(tmp_path / "nope.csv", "y")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\x01\x02\x03garbage\x00\n\x00\x00")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(path, "y")
    with pytest.raises(DataError, match="is a folder"):
        load_dataset(tmp_path, "y")
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataError, match="as Parquet"):
        load_dataset(broken, "y")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_dataset(path, "y")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="no data rows"):
        load_dataset(header_only, "y")


def test_missing_target_lists_the_columns() -> None:
    with pytest.raises(DataError, match="target column 'price' not found; columns: id, num"):
        load_dataset(_frame(), "price")
    with pytest.raises(DataError, match="pass --target, one of: id, num"):
        load_dataset(_frame())


def test_target_with_one_class() -> None:
    with pytest.raises(DataError, match="only one class"):
        load_dataset(_frame().assign(label="yes"), "label")


def test_all_nan_target() -> None:
    with pytest.raises(DataError, match="missing \\(NaN\\) in every row"):
        load_dataset(_frame().assign(label=np.nan), "label")


def test_non_numeric_target_for_regression() -> None:
    with pytest.raises(DataError, match="must be numeric for regression, found values like"):
        load_dataset(_frame(), "label", task="regression")


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a,y\n1,2,3,0\n4,5,6,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate column names: a"):
        load_dataset(path, "y")
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match="duplicate column names: a"):
        load_dataset(frame, "y")


def test_non_utf8_csv_is_read_as_latin1_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    rows = "name,y\n" + "".join(f"caf\xe9 {i % 3},{i % 2}\n" for i in range(30))
    path.write_bytes(rows.encode("latin-1"))
    data = load_dataset(path, "y")
    assert any("not valid UTF-8; read it as latin-1" in n for n in data.notes)
    assert data.X["name"].iloc[0].startswith("café")


def test_no_usable_features() -> None:
    frame = pd.DataFrame({"const": [1] * 10, "y": [0, 1] * 5})
    with pytest.raises(DataError, match="no usable feature columns"):
        load_dataset(frame, "y")


def test_polars_frames_load_like_pandas_and_other_objects_are_refused() -> None:
    pl = pytest.importorskip("polars")
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "y": [0, 1] * 10})
    from_polars = load_dataset(pl.from_pandas(table), "y")
    from_pandas = load_dataset(table, "y")
    assert from_polars.X.equals(from_pandas.X) and from_polars.task == from_pandas.task
    assert load_dataset(pl.from_pandas(table).lazy(), "y").n_rows == 20
    with pytest.raises(DataError, match=r"pandas or polars DataFrame; got builtins\.list"):
        load_dataset([[1, 2], [3, 4]], "y")  # type: ignore[arg-type]
