"""kill -9 of `cosci run` at a moment chosen by a seed, then `cosci resume`.

A reference run is made once with the scripted fake LLM (its call log is what the other
runs replay). Each seed starts `cosci run --replay REFERENCE` and kills it with SIGKILL
after a given LLM call, while an experiment runs, just as an experiment finished (its
checkpoint being written) or after a random delay; `cosci resume` then finishes it. No
finished experiment may run twice, and the final ranking must be that of an uninterrupted
replay of the same call log (no time rule binds: ``time_budget_s=None``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agents import ResearchRun, RunConfig, RunContext
from agents.llm import RecordingLLM

COSCI = Path(sys.executable).with_name("cosci")
SEEDS = range(5)
KILL_POINTS = ("llm_call", "experiment", "checkpoint", "delay")
"""What seed ``s`` waits for before the kill: ``KILL_POINTS[s % 4]``."""


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "COSCI_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line being written when we looked
    return out


def _ranking(run_dir: Path) -> list[tuple[Any, ...]]:
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return [
        (r["id"], r["rank"], r["elo"], r["status"], r["score"], r["verdict"], r["effect"])
        for r in results["ranking"]
    ]


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, fakes: ModuleType, tiny_context: RunContext
) -> Path:
    """An uninterrupted run with the scripted fake LLM, recorded to its call log."""
    run_dir = tmp_path_factory.mktemp("kill") / "reference"
    config = RunConfig(
        goal="Which model family predicts the target best?",
        data="sklearn:breast_cancer",
        context=tiny_context.model_copy(update={"auto_approve": True}),
        use_memory=False,
    )
    run = ResearchRun.create(run_dir, config)
    # The default sentence embedder, as `cosci run` uses: the replays must dedup alike.
    llm = fakes.ScriptedFakeLLM(["logistic", "knn", "random_forest"])
    for _ in run.advance(RecordingLLM(llm, run.llm_log), run.toolbox(None)):
        pass
    assert run.status() == "finished"
    return run_dir


@pytest.fixture(scope="module")
def uninterrupted(reference: Path) -> Path:
    """`cosci run --replay REFERENCE`, never killed."""
    out = reference.parent / "uninterrupted"
    done = subprocess.run(
        [str(COSCI), "run", "--replay", str(reference), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(reference.parent / "home"),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _wait_for_kill_moment(
    process: subprocess.Popen[bytes], run_dir: Path, point: str, rng: random.Random
) -> str:
    """Block until ``point`` is reached (then return what was seen), or the run ends."""
    calls, events = run_dir / "llm_calls.jsonl", run_dir / "experiments.log"
    nth_call = rng.randint(1, 6)
    nth_experiment = rng.randint(1, 3)
    delay = rng.uniform(0.0, 3.0)
    first_call_at: float | None = None
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        seen = _lines(events)
        starts = [e["experiment"] for e in seen if e["event"] == "start"]
        finishes = [e["experiment"] for e in seen if e["event"] == "finish"]
        n_calls = len(_lines(calls))
        if point == "llm_call" and n_calls >= nth_call:
            return f"after LLM call {n_calls}"
        if point == "experiment" and len(starts) >= nth_experiment:
            running = [name for name in starts if name not in finishes]
            if running:
                # Let it get into its search (a trial or two) before the kill.
                time.sleep(rng.uniform(0.0, 0.8))
                return f"while {running[-1]} ran"
        if point == "checkpoint" and len(finishes) >= nth_experiment:
            # The finish line is written just before the node's result is checkpointed.
            return f"as {finishes[nth_experiment - 1]} finished"
        if point == "delay" and n_calls:
            first_call_at = first_call_at or time.monotonic()
            if time.monotonic() - first_call_at >= delay:
                return f"{delay:.2f} s after the first LLM call"
        time.sleep(0.01)
    pytest.fail(f"the run ended (or hung) before the kill point {point}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_kill_minus_nine_then_resume_repeats_nothing_and_ranks_alike(
    seed: int, reference: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    _kill_then_resume(seed, reference, uninterrupted, tmp_path / "run")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(len(KILL_POINTS)))
def test_kill_minus_nine_on_a_postgres_checkpointer_then_resume(
    seed: int, reference: Path, uninterrupted: Path, tmp_path: Path, database: str
) -> None:
    """The same with LangGraph's PostgresSaver (`--checkpointer postgresql://...`): the
    resume reopens it from run.json, and the run ranks as the uninterrupted one."""
    run_dir = tmp_path / "run"
    _kill_then_resume(seed, reference, uninterrupted, run_dir, "--checkpointer", database)
    assert not (run_dir / "checkpoints.sqlite").exists()
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["checkpointer"]


def _kill_then_resume(
    seed: int, reference: Path, uninterrupted: Path, run_dir: Path, *options: str
) -> None:
    """`cosci run --replay REFERENCE OPTIONS`, SIGKILLed at the seed's point, then resumed:
    nothing finished runs twice, and the ranking is the uninterrupted replay's."""
    env = _env(reference.parent / "home")
    process = subprocess.Popen(
        [str(COSCI), "run", "--replay", str(reference), "--out", str(run_dir), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        point = KILL_POINTS[seed % len(KILL_POINTS)]
        moment = _wait_for_kill_moment(process, run_dir, point, random.Random(seed))
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, moment
    before = _lines(run_dir / "experiments.log")
    finished_before = {e["experiment"] for e in before if e["event"] == "finish"}

    done = subprocess.run(
        [str(COSCI), "resume", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"killed {moment}: {done.stderr[-3000:]}"
    assert ResearchRun.open(run_dir).status() == "finished", moment

    after = _lines(run_dir / "experiments.log")
    finishes = Counter(e["experiment"] for e in after if e["event"] == "finish")
    assert all(n == 1 for n in finishes.values()), (moment, finishes)
    for name in finished_before:
        starts = [e for e in after if e["event"] == "start" and e["experiment"] == name]
        assert len(starts) == 1, f"killed {moment}: {name} had finished but ran again"
    expected = {e["experiment"] for e in _lines(uninterrupted / "experiments.log")}
    assert set(finishes) == expected, moment
    assert _ranking(run_dir) == _ranking(uninterrupted), moment
    assert (run_dir / "report.md").is_file() and (run_dir / "best_model").is_dir()


@pytest.mark.slow
def test_uninterrupted_replay_ranks_like_the_recorded_run(
    reference: Path, uninterrupted: Path
) -> None:
    from cosci._results import build_results

    recorded = build_results(ResearchRun.open(reference)).ranking
    assert [(r.id, r.rank, r.elo, r.score) for r in recorded] == [
        (r[0], r[1], r[2], r[4]) for r in _ranking(uninterrupted)
    ]


def test_a_replay_killed_after_a_look_up_answers_it_again_when_resumed(tmp_path: Path) -> None:
    """The look-up ran (and was logged) but its step was not checkpointed: the resumed
    replay asks it once more than the original did. Before the fix: ToolError."""
    from automl_backend import TrialConfig
    from tools import LookupLog

    original = tmp_path / "original.jsonl"
    configs = [TrialConfig(family="knn")]
    LookupLog(original).call("similar_runs", "k", TrialConfig, lambda: configs)

    def never() -> list[TrialConfig]:
        raise AssertionError("a replay must not compute")

    killed = LookupLog(tmp_path / "replay.jsonl", replay_from=original)
    assert killed.call("similar_runs", "k", TrialConfig, never) == configs
    resumed = LookupLog(tmp_path / "replay.jsonl", replay_from=original)
    assert resumed.call("similar_runs", "k", TrialConfig, never) == configs


def test_a_shared_control_arm_that_finished_before_the_kill_is_not_run_again(
    tmp_path: Path,
) -> None:
    """H1 and H2 share a control arm: H1's ran, then the process died while H2 ran. The
    resumed process (a new toolbox) reuses H1-control's folder. Before the fix it ran the
    same arm again as H2-control."""
    from automl_backend import ExperimentSpec
    from tools import Toolbox

    def control(name: str) -> ExperimentSpec:
        return ExperimentSpec.model_validate(
            {
                "name": name,
                "models": [{"family": "logistic"}],
                "budget": {"n_trials": 2, "time_s": 60},
                "cv": {"folds": 2},
                "ensemble": {"enabled": False},
            }
        )

    killed = Toolbox("sklearn:breast_cancer", run_dir=tmp_path)
    first = killed.run_arm("H1-control", control("H1-control"), reuse_key="same arm").result
    assert first.ok
    resumed = Toolbox("sklearn:breast_cancer", run_dir=tmp_path)
    again = resumed.run_arm("H2-control", control("H2-control"), reuse_key="same arm").result
    assert again.ok and again.best_score == first.best_score
    events = _lines(tmp_path / "experiments.log")
    assert [(e["event"], e["experiment"]) for e in events] == [
        ("start", "H1-control"),
        ("finish", "H1-control"),
        ("reused", "H2-control"),
    ]
    assert not (tmp_path / "experiments" / "H2-control").exists()


def test_a_kill_after_a_step_wrote_but_before_it_was_checkpointed_resumes(
    tmp_path: Path, fakes: ModuleType, tiny_context: RunContext
) -> None:
    """The state a kill leaves between a node's writes and the step's checkpoint: the
    writes are saved, the next checkpoint is not, so LangGraph shows no `next` node.
    Before the fix, resume stopped at once and `cosci resume` printed "Finished"."""
    import sqlite3

    from agents._checkpoint import open_checkpointer

    run = fakes.start_run(
        tmp_path / "run", fakes.ScriptedFakeLLM(["logistic", "knn"]), tiny_context
    )
    assert run.status() == "waiting_for_review"

    with open_checkpointer(run.checkpoints) as saver:
        saved = list(saver.list({"configurable": {"thread_id": "cosci"}}))
    step_one = next(c for c in saved if c.metadata.get("step") == 1)
    assert step_one.pending_writes, "the step after it wrote nothing"
    cut = step_one.config["configurable"]["checkpoint_id"]
    with sqlite3.connect(run.checkpoints) as db:
        db.execute("DELETE FROM checkpoints WHERE checkpoint_id > ?", (cut,))
        db.execute("DELETE FROM writes WHERE checkpoint_id > ?", (cut,))
    killed = ResearchRun.open(run.dir)
    assert killed.status() == "stopped" and not killed.snapshot().next

    llm = fakes.ScriptedFakeLLM(["logistic", "knn"])
    events = list(killed.advance(llm, killed.toolbox(None, embed=fakes.hash_embed)))
    assert events and killed.status() == "waiting_for_review"
