"""Scripting: `--version`, and `--json` on run, show, automl and predict (one document on
stdout, everything else on stderr). The co-scientist run uses the scripted fake LLM
(plumbing only); `show`, `automl` and `predict` run in real subprocesses, piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cosci_test_fakes as fakes
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import cosci._live_run as live_run
from agents.llm import RecordingLLM
from cosci.cli import app, installed_version

COSCI = Path(sys.executable).with_name("cosci")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [str(COSCI), *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def test_help_at_80_columns_keeps_option_names_whole() -> None:
    done = _cli("run", "--help", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert "--experiment-budget" in done.stdout and "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_shell_completion_completes_commands_and_options() -> None:
    words = {"_COSCI_COMPLETE": "complete_bash", "COMP_WORDS": "cosci exp", "COMP_CWORD": "1"}
    assert _cli(env=words).stdout.split() == ["export"]
    words |= {"COMP_WORDS": "cosci run --experiment-b", "COMP_CWORD": "2"}
    assert _cli(env=words).stdout.split() == ["--experiment-budget"]
    # `--show-completion` names the shell it is run from (typer detects it from the
    # parent processes), so run it from bash as a user would; pytest's own parent may be
    # no shell at all.
    script = subprocess.run(
        ["bash", "-c", f"'{COSCI}' --show-completion; exit $?"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert script.returncode == 0 and "_COSCI_COMPLETE=complete_bash" in script.stdout, (
        script.stderr
    )


def test_version_prints_the_installed_distribution_version() -> None:
    done = _cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cosci {installed_version()}"
    assert installed_version()[0].isdigit()


def test_run_and_show_json_are_one_document_on_stdout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "logistic"]), run.llm_log),
    )
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))
    out = tmp_path / "run"
    args = ["run", "Which family wins?", "--data", "sklearn:breast_cancer", "--rounds", "1"]
    tiny = ["--hypotheses", "2", "--children", "0", "--trials", "2", "--folds", "3"]
    result = CliRunner().invoke(
        app, [*args, *tiny, "--no-fill-budget", "--no-memory", "--auto-approve", "--json",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "finished" and document["pending_review"] == []
    assert document["best_hypothesis"] in {"H1", "H2"}
    assert {row["id"] for row in document["ranking"]} == {"H1", "H2"}
    # The progress and the ranking table went to stderr.
    assert "Ranked hypotheses" in result.stderr and "Ranked hypotheses" not in result.stdout

    # `cosci show RUN --json | python -c 'import json,sys; json.load(sys.stdin)'`
    shown = _cli("show", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    piped = subprocess.run(
        [sys.executable, "-c", "import json,sys; d=json.load(sys.stdin); print(d['goal'])"],
        input=shown.stdout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert piped.stdout.strip() == "Which family wins?"
    assert json.loads(shown.stdout)["ranking"] == document["ranking"]
    assert json.loads(shown.stdout) == json.loads((out / "results.json").read_text()) | {
        "pending_review": []
    }

    # At 80 columns the ranking is one cell per hypothesis, not a word per line.
    narrow = _cli("show", str(out), env={"COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    table = narrow.stdout.split("Elo history")[0]
    # Titles and captions are whole lines the terminal wraps; the box itself fits.
    boxed = [line for line in table.splitlines() if line[:1] in set("┏┃┡│├└")]
    assert len(boxed) > 6 and max(len(line) for line in boxed) <= 80
    first = document["hypotheses"][0]["statement"]
    assert " ".join(first.split()[:4]) in table


def test_show_json_of_a_bad_run_is_an_error_line_and_no_stdout(tmp_path: Path) -> None:
    done = _cli("show", str(tmp_path), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert "not a co-scientist run directory" in done.stderr and "Traceback" not in done.stderr


def test_automl_and_predict_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=60), "y": (x > 0).astype(int)})
    frame.to_csv(tmp_path / "train.csv", index=False)
    run_dir = tmp_path / "automl"
    done = _cli("automl", "--data", str(tmp_path / "train.csv"), "--target", "y",
                "--trials", "3", "--out", str(run_dir), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["n_trials"] == 3
    assert len(result["fold_scores"]) >= 2 and result["best_score"] is not None
    assert "Leaderboard" in done.stderr

    frame.drop(columns="y").head(7).to_csv(tmp_path / "new.csv", index=False)
    preds = tmp_path / "preds.csv"
    done = _cli("predict", "--model", str(run_dir), "--data", str(tmp_path / "new.csv"),
                "--out", str(preds), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["rows"] == 7 and document["out"] == str(preds)
    assert document["columns"] == ["prediction", "proba_0", "proba_1"]
    written = pd.read_csv(preds)
    assert [row["prediction"] for row in document["predictions"]] == written["prediction"].tolist()
    assert "wrote 7 predictions" in done.stderr


def test_run_config_file_sets_options_and_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "logistic"]), run.llm_log),
    )
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))
    config = tmp_path / "run.yaml"
    config.write_text(
        "goal: Which family wins?\ndata: sklearn:breast_cancer\nrounds: 1\nhypotheses: 2\n"
        "children: 0\ntrials: 2\nfolds: 3\ntime-budget: 900\nfill_budget: false\n"
        "no-memory: true\nholdout: 0.1\n"
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--folds", "4", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pending_review"] == ["H1", "H2"]
    saved = json.loads((out / "run.json").read_text())
    assert saved["goal"] == "Which family wins?" and saved["use_memory"] is False
    context = saved["context"]
    assert (context["rounds"], context["hypotheses_per_round"], context["folds"]) == (1, 2, 4)
    assert context["holdout"] == 0.1 and context["fill_time_budget"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roundz: 2\n", "unknown option 'roundz'; valid: goal, data"),
        ("rounds: 0\n", "--rounds: Input should be greater than or equal to 1"),
        ("holdout: lots\n", "holdout: Input should be a valid number"),
        ("- rounds\n", "must hold a mapping"),
        ("rounds: [\n", "cannot read --config"),
    ],
)
def test_bad_config_file_is_one_line(text: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(text)
    done = _cli("run", "Q?", "--data", "sklearn:iris", "--config", str(config),
                "--out", str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
