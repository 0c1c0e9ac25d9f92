"""Data that is technically a table but not fit as given: infinities and stray text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_backend import DataError, load_dataset
from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (x > 0).astype(int)})


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_infinite_features_are_missing_and_the_run_says_how_many(tmp_path: Path) -> None:
    frame = _table()
    frame.loc[[3, 7, 11], "x"] = [np.inf, -np.inf, np.inf]
    data = _csv(tmp_path / "inf.csv", frame)
    dataset = load_dataset(data, "y")
    assert dataset.X["x"].isna().sum() == 3 and np.isfinite(dataset.X["x"].dropna()).all()
    note = "3 values of column 'x' were infinite and are treated as missing"
    assert note in dataset.notes

    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["automl", "--data", str(data), "--target", "y", "--trials", "3", "--out", str(run_dir)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert note in result.output
    saved = json.loads((run_dir / "result.json").read_text())
    assert saved["status"] == "ok" and saved["n_failed_trials"] == 0
    assert note in saved["notes"]


def test_text_in_a_numeric_column_is_counted_in_the_notes(tmp_path: Path) -> None:
    frame = _table(100).astype({"z": object})
    frame.loc[[5, 50], "z"] = ["12,5", "twelve"]
    dataset = load_dataset(_csv(tmp_path / "text.csv", frame), "y")
    assert dataset.column_types["z"] == "numeric" and dataset.X["z"].isna().sum() == 2
    assert any(
        note.startswith("2 values of column 'z' were not numbers") and "treated as missing" in note
        for note in dataset.notes
    ), dataset.notes


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_target_is_refused(bad: float) -> None:
    frame = _table().astype({"y": float})
    frame.loc[4, "y"] = bad
    with pytest.raises(DataError, match="target 'y' has 1 infinite value"):
        load_dataset(frame, "y")


def test_cosci_automl_refuses_an_infinite_target_in_one_line(tmp_path: Path) -> None:
    frame = _table()
    frame["y"] = frame["x"] * 2.0
    frame.loc[4, "y"] = np.inf
    data = _csv(tmp_path / "bad.csv", frame)
    finished = subprocess.run(
        [str(COSCI), "automl", "--data", str(data), "--target", "y", "--trials", "2",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 2, finished.stdout + finished.stderr
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in finished.stderr, finished.stderr
    assert "target 'y' has 1 infinite value" in lines[0]
    assert not (tmp_path / "run").exists()
