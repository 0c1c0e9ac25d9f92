"""`cosci nas` and `cosci compress`: a tiny real run in-process, error paths in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")


def test_nas_command_runs_a_search_and_prints_test_accuracy(tmp_path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "nas",
            "--data",
            "sklearn:iris",
            "--space",
            "mlp",
            "--strategy",
            "tpe",
            "--trials",
            "3",
            "--epochs",
            "2",
            "--final-epochs",
            "20",
            "--test-size",
            "0.3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "test accuracy:" in result.output and "best architecture" in result.output
    saved = json.loads((out / "result.json").read_text())
    assert saved["n_evaluated"] == 3 and saved["test_accuracy"] > 0.6
    assert json.loads((out / "data.json").read_text())["source"] == "sklearn:iris"


def test_compress_command_prints_the_trade_off_table(tmp_path) -> None:
    run = tmp_path / "run"
    first = CliRunner().invoke(
        app,
        [
            "nas",
            "--data",
            "sklearn:iris",
            "--space",
            "mlp",
            "--strategy",
            "random",
            "--trials",
            "1",
            "--epochs",
            "1",
            "--final-epochs",
            "10",
            "--test-size",
            "0.3",
            "--out",
            str(run),
        ],
    )
    assert first.exit_code == 0, first.output
    result = CliRunner().invoke(
        app,
        ["compress", "--model", str(run), "--target-size-kb", "1000", "--out", str(tmp_path / "c")],
    )
    assert result.exit_code == 0, result.output
    assert "Compression candidates" in result.output and "chosen:" in result.output
    assert (tmp_path / "c" / "candidates.csv").is_file()


def _cosci(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COSCI), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "cnn", "--image-shape", "1,4,4"], "image shape 1×4×4 needs 16 values"),
        (["--space", "mlp", "--time-budget", "0.001"], "too small for one training epoch"),
        (["--space", "mlp", "--strategy", "darts"], "use the cnn space"),
        (["--space", "mlp", "--strategy", "magic"], "strategy"),
        (["--space", "ops.yaml"], "no valid architecture"),
        (["--space", "mlp", "--fidelity-rungs", "9"], "fidelity_rungs"),
    ],
)
def test_nas_bad_input_is_one_line_exit_2_and_no_run_dir(tmp_path, args, message) -> None:
    (tmp_path / "ops.yaml").write_text("kind: cnn\noperations: [zero]\n")
    proc = _cosci("nas", "--data", "sklearn:digits", *args, "--out", "run", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_compress_bad_input_is_one_line_exit_2(tmp_path) -> None:
    proc = _cosci("compress", "--model", str(tmp_path), "--target-size-kb", "5", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "no model.pt" in proc.stderr
    assert "Traceback" not in proc.stderr
