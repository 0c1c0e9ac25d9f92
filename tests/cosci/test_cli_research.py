"""`cosci run / review / resume / show` with the scripted fake LLM; error paths in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cosci_test_fakes as fakes
import pytest
from typer.testing import CliRunner

import cosci._live_run as live_run
from agents import ResearchRun
from agents.llm import RecordingLLM
from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")
TINY = [
    "--trials", "2", "--folds", "3", "--time-budget", "900", "--no-fill-budget", "--no-memory"
]  # fmt: skip


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run gets the scripted fake (recorded to its call log) and hashed embeddings."""
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "extra_trees"]), run.llm_log),
    )
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(COSCI), *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def test_run_pause_review_resume_show(fake_llm: None, tmp_path: Path) -> None:
    runner = CliRunner()
    # A long path: the CLI must not break a sentence across lines in non-TTY output.
    out = tmp_path / ("a-long-folder-name-" * 4) / "run"
    goal = "Which model family predicts malignancy best, and why?"
    args = ["run", goal, "--data", "sklearn:breast_cancer", "--rounds", "1", "--hypotheses", "2"]
    result = runner.invoke(app, [*args, "--children", "0", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "paused for review" in result.output and "H1" in result.output

    result = runner.invoke(
        app,
        [
            "review",
            str(out),
            "--approve",
            "H1",
            "--reject",
            "H2=not today",
            "--add",
            "logistic: Logistic regression is all this data needs.",
            "--note",
            "H1=Watch the scaling.",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Decisions saved" in result.output

    result = runner.invoke(app, ["resume", str(out)])
    assert result.exit_code == 0, result.output
    assert "Ranked hypotheses" in result.output and "report.md" in result.output
    for name in ("report.md", "results.json", "elo.png", "checkpoints.sqlite", "llm_calls.jsonl"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    ids = {row["id"]: row for row in results["ranking"]}
    assert ids["H2"]["status"] == "rejected" and ids["H3"]["status"] == "tested"
    assert results["best_hypothesis"] in ("H1", "H3")
    assert (out / "best_model" / "model.joblib").is_file() or any((out / "best_model").iterdir())
    # Two tested HPO hypotheses: best_model/ is their ensemble; the leader stays the leader.
    best = results["best_model"]
    assert best["kind"] == "ensemble" and best["leader"] == results["best_hypothesis"]
    assert set(best["candidates"]) == {"H1", "H3"}
    assert sum(m["weight"] for m in best["members"]) == pytest.approx(1.0, abs=1e-5)
    report = (out / "report.md").read_text()
    assert "## Ranking" in report and "Watch the scaling." in report and "not today" in report

    result = runner.invoke(app, ["show", str(out)])
    assert result.exit_code == 0 and "Elo history" in result.output

    result = runner.invoke(app, ["resume", str(out)])
    assert result.exit_code == 0 and "already finished" in result.output


def test_garbage_llm_fails_with_a_clear_message_and_keeps_a_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(live_run, "make_llm", lambda run: fakes.ScriptedFakeLLM(garbage=True))
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "Which family wins?",
            "--data",
            "sklearn:breast_cancer",
            "--auto-approve",
            *TINY,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code != 0
    assert getattr(result.exception, "user_facing", False)
    assert "unusable answers in a row" in str(result.exception)
    assert (out / "report.md").is_file() and (out / "checkpoints.sqlite").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "   ", "--data", "sklearn:breast_cancer"], "goal is empty"),
        (["run", "Which family wins?", "--data", "no/such/file.csv"], "not found"),
        (["run", "Which family wins?"], "needs a GOAL and --data"),
        (
            ["run", "Which family wins?", "--data", "sklearn:breast_cancer", "--metric", "rmse"],
            "does not apply",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_directory(
    args: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    done = _cli(*args, "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_review_and_resume_of_something_that_is_not_a_run(tmp_path: Path) -> None:
    for command in ("review", "resume", "show"):
        done = _cli(command, str(tmp_path))
        assert done.returncode == 2 and "not a co-scientist run directory" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_replay_in_a_new_process_reproduces_the_ranking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The original run uses the real sentence embeddings, as the replaying process will.
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "logistic"]), run.llm_log),
    )
    original = tmp_path / "original"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "Which family wins?",
            "--data",
            "sklearn:breast_cancer",
            "--rounds",
            "2",
            "--hypotheses",
            "2",
            "--children",
            "1",
            "--auto-approve",
            *TINY,
            "--out",
            str(original),
        ],
    )
    assert result.exit_code == 0, result.output
    replay = tmp_path / "replay"
    done = _cli("run", "--replay", str(original), "--out", str(replay))
    assert done.returncode == 0, done.stderr
    first = json.loads((original / "results.json").read_text())
    again = json.loads((replay / "results.json").read_text())
    assert [(r["id"], r["elo"]) for r in again["ranking"]] == [
        (r["id"], r["elo"]) for r in first["ranking"]
    ]
    assert len(again["matches"]) == len(first["matches"]) > 0


def test_interactive_review_asks_about_each_proposal(fake_llm: None, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["run", "Which family wins?", "--data", "sklearn:breast_cancer", "--rounds", "1"]
    result = runner.invoke(
        app, [*args, "--hypotheses", "2", "--children", "0", *TINY, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    answers = "a\nr\ntoo slow here\ny\nA linear model is enough.\nlogistic\nn\n"
    result = runner.invoke(app, ["review", str(out), "--interactive", "--resume"], input=answers)
    assert result.exit_code == 0, result.output
    state = ResearchRun.open(out).state()
    hypotheses = state["hypotheses"]
    assert hypotheses["H1"].status == "tested"
    assert (
        hypotheses["H2"].status == "rejected" and hypotheses["H2"].status_reason == "too slow here"
    )
    assert hypotheses["H3"].origin == "human" and hypotheses["H3"].families == ["logistic"]
