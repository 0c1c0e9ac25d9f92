"""A run survives its process: review and resume from a new process; kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agents import HumanDecision, ResearchRun, ReviewDecisions, RunContext

HELPER = Path(__file__).with_name("run_helper.py")


def _helper(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(HELPER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_resume_from_a_new_process_with_approval_edit_and_rejection(
    fakes: Any, tmp_path: Path
) -> None:
    context = RunContext(
        rounds=1,
        hypotheses_per_round=3,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=60,
        time_budget_s=None,
        folds=3,
        auto_approve=False,
    )
    llm = fakes.ScriptedFakeLLM(["logistic", "knn", "random_forest"])
    run = fakes.start_run(tmp_path / "run", llm, context)
    assert run.status() == "waiting_for_review"
    assert not (tmp_path / "run" / "experiments" / "H1").exists()  # no compute before review
    decisions = ReviewDecisions(
        decisions=[
            HumanDecision(id="H1", action="approve"),
            HumanDecision(
                id="H2",
                action="edit",
                statement="Distance-weighted k-NN is enough.",
                families=["knn", "svm"],
            ),
            HumanDecision(id="H3", action="reject", reason="forests were studied last week"),
        ]
    )
    file = tmp_path / "decisions.json"
    file.write_text(decisions.model_dump_json())

    done = _helper(str(run.dir), "--decisions", str(file))
    assert done.returncode == 0, done.stderr
    assert "STATUS finished" in done.stdout

    state = ResearchRun.open(run.dir).state()
    h1, h2, h3 = (state["hypotheses"][h] for h in ("H1", "H2", "H3"))
    assert h1.status == "tested"
    assert h2.status == "tested" and h2.edited_by_human
    assert h2.statement == "Distance-weighted k-NN is enough." and h2.families == ["knn", "svm"]
    assert h3.status == "rejected" and h3.status_reason == "forests were studied last week"
    assert not (run.dir / "experiments" / "H3").exists()
    kinds = {(r.hypothesis_id, r.verdict) for r in state["reviews"] if r.author == "human"}
    assert ("H3", "reject") in kinds and ("H2", "comment") in kinds
    assert (run.dir / "reviews" / "round-1.json").is_file()


def _events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "experiments.log"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_kill_minus_nine_mid_run_then_resume_repeats_no_finished_experiment(
    tmp_path: Path,
) -> None:
    context = RunContext(
        rounds=1,
        hypotheses_per_round=3,
        children_per_round=0,
        trials_per_experiment=4,
        experiment_time_s=120,
        time_budget_s=None,
        folds=3,
        auto_approve=True,
    )
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            str(HELPER),
            str(run_dir),
            "--families",
            "random_forest,extra_trees,lightgbm",
            "--create",
            "sklearn:breast_cancer",
            context.model_dump_json(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    # Wait until one hypothesis experiment finished and the next has been running a while,
    # so the finished one is checkpointed and the running one is cut off mid-search.
    deadline = time.monotonic() + 240
    killed_while = None
    while time.monotonic() < deadline and process.poll() is None:
        events = _events(run_dir)
        finished = [
            e["experiment"]
            for e in events
            if e["event"] == "finish" and e["experiment"] != "baseline"
        ]
        started = [e for e in events if e["event"] == "start" and e["experiment"] != "baseline"]
        if finished and len(started) > len(finished):
            time.sleep(1.5)
            now = _events(run_dir)
            done = {e["experiment"] for e in now if e["event"] == "finish"}
            running = [
                e["experiment"]
                for e in now
                if e["event"] == "start" and e["experiment"] not in done
            ]
            if running:
                # One arm finished (and was written) and another is mid-search: kill now.
                process.send_signal(signal.SIGKILL)
                killed_while = running[-1]
                break
        time.sleep(0.2)
    process.wait(timeout=30)
    assert killed_while is not None, "the helper finished or failed before it could be killed"
    assert process.returncode == -signal.SIGKILL
    before = _events(run_dir)
    finished_before = {e["experiment"] for e in before if e["event"] == "finish"}
    assert killed_while not in finished_before

    done = _helper(str(run_dir), "--families", "random_forest,extra_trees,lightgbm")
    assert done.returncode == 0, done.stderr
    assert "STATUS finished" in done.stdout

    after = _events(run_dir)
    for name in finished_before:
        starts = [e for e in after if e["event"] == "start" and e["experiment"] == name]
        assert len(starts) == 1, f"{name} finished before the kill but ran again"
    finishes = [e["experiment"] for e in after if e["event"] == "finish"]
    assert len(finishes) == len(set(finishes))  # every experiment finished exactly once
    assert killed_while in finishes
    state = ResearchRun.open(run_dir).state()
    assert all(h.status == "tested" for h in state["hypotheses"].values())
    assert not list((run_dir / "experiments").glob(".*partial*"))
