"""`cosci automl`, `cosci predict`, `cosci spec`: happy paths and every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cosci.cli import app, main

runner = CliRunner()
COSCI = Path(sys.executable).with_name("cosci")


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (x > 0).astype(int)})


def test_automl_then_predict(tmp_path: Path) -> None:
    data = _csv(tmp_path / "train.csv", _table(60))
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "automl",
            "--data",
            str(data),
            "--target",
            "y",
            "--trials",
            "4",
            "--test-size",
            "0.25",
            "--out",
            str(run_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Leaderboard" in result.output and "test accuracy:" in result.output
    assert f"run directory: {run_dir}" in result.output.replace("\n", "")
    assert (run_dir / "model.skops").is_file()

    new = _csv(tmp_path / "new.csv", _table(10).drop(columns="y"))
    preds = tmp_path / "preds.csv"
    result = runner.invoke(
        app, ["predict", "--model", str(run_dir), "--data", str(new), "--out", str(preds)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(preds)
    assert list(table.columns) == ["prediction", "proba_0", "proba_1"] and len(table) == 10


def test_automl_with_a_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "models:\n  - family: knn\n    params:\n      n_neighbors: {type: int, low: 2, high: 9}\n"
        "budget: {n_trials: 3, time_s: null}\ncv: {folds: 3}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["automl", "--data", "sklearn:iris", "--spec", str(spec),
                                 "--out", str(tmp_path / "r")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 trials" in result.output and "knn" in result.output


def test_spec_show_and_validate(tmp_path: Path) -> None:
    listing = runner.invoke(app, ["spec", "show"])
    assert listing.exit_code == 0 and "hist_gradient_boosting" in listing.output
    shown = runner.invoke(app, ["spec", "show", "lightgbm"])
    assert shown.exit_code == 0
    assert "num_leaves" in shown.output and "int in [2, 1024]" in shown.output
    good = tmp_path / "good.yaml"
    good.write_text("models: [{family: svm}]\nbudget: {time_s: 20}\n", encoding="utf-8")
    checked = runner.invoke(app, ["spec", "validate", str(good)])
    assert checked.exit_code == 0 and "valid: task auto" in checked.output


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, expected part of the one-line error)."""
    binary = tmp / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02garbage\x00\n")
    (tmp / "empty.csv").write_text("", encoding="utf-8")
    dup = tmp / "dup.csv"
    dup.write_text("a,a,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    bad_spec = tmp / "bad.yaml"
    bad_spec.write_text("models: [{family: xgboost}]\n", encoding="utf-8")
    table = _table()
    cases = {
        "missing file": ([str(tmp / "absent.csv"), "y"], "data file not found"),
        "unreadable file": ([str(binary), "y"], "cannot read"),
        "empty file": ([str(tmp / "empty.csv"), "y"], "data file is empty"),
        "missing target": ([str(_csv(tmp / "t.csv", table)), "price"], "columns: x, z, y"),
        "one class": ([str(_csv(tmp / "one.csv", table.assign(y=1))), "y"], "only one class"),
        "too few rows": ([str(_csv(tmp / "few.csv", table.head(4))), "y"], "fewer than the 5"),
        "all-NaN target": ([str(_csv(tmp / "nan.csv", table.assign(y=np.nan))), "y"], "every row"),
        "text target for regression": (
            [str(_csv(tmp / "txt.csv", table.assign(y="a"))), "y", "--task", "regression"],
            "must be numeric for regression",
        ),
        "duplicate columns": ([str(dup), "y"], "duplicate column names: a"),
        "invalid spec": (
            [str(_csv(tmp / "ok.csv", table)), "y", "--spec", str(bad_spec)],
            "models.0.family",
        ),
        "unknown halving mode": (
            [str(_csv(tmp / "h.csv", table)), "y", "--halving", "sometimes"],
            "search.halving",
        ),
    }
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "unreadable file",
        "empty file",
        "missing target",
        "one class",
        "too few rows",
        "all-NaN target",
        "text target for regression",
        "duplicate columns",
        "invalid spec",
        "unknown halving mode",
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, expected = _bad_inputs(tmp_path)[case]
    out = tmp_path / "runs" / "r"
    argv = ["cosci", "automl", "--data", args[0], "--target", args[1], *args[2:], "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and expected in err and "\n" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_non_utf8_csv_runs_and_says_latin1(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    rows = "name,x,y\n" + "".join(f"caf\xe9{i % 3},{i},{i % 2}\n" for i in range(30))
    path.write_bytes(rows.encode("latin-1"))
    result = runner.invoke(app, ["automl", "--data", str(path), "--target", "y", "--trials", "2",
                                 "--out", str(tmp_path / "r")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read it as latin-1" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["automl", "--data", "missing.csv", "--target", "y"], "error: data file not found"),
        (["spec", "show", "xgboost"], "error: unknown model family 'xgboost'; valid: logistic"),
    ],
)
def test_real_process_exit_code_and_stderr(tmp_path: Path, args: list[str], expected: str) -> None:
    done = subprocess.run(
        [str(COSCI), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith(expected)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_predict_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    data = _csv(tmp_path / "d.csv", _table())
    monkeypatch.setattr(sys, "argv", ["cosci", "predict", "--model", str(tmp_path), "--data",
                                      str(data), "--out", str(tmp_path / "p.csv")])  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2 and "no model found" in capsys.readouterr().err
