"""--time-budget is a wall-clock ceiling: experiments capped, late LLM calls not made."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agents import RunContext
from agents._clock import ClockedLLM, LLMDeadlineError, RunClock


class _Now:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_clock_without_a_budget_never_expires() -> None:
    clock = RunClock(None)
    assert clock.remaining() is None and not clock.expired(10.0)


def test_a_call_expected_to_pass_the_deadline_is_not_made() -> None:
    now = _Now()
    clock = RunClock(10.0, now=now)

    class Slow:
        calls = 0

        def complete(self, messages: Any, schema: Any = None, **kw: Any) -> str:
            Slow.calls += 1
            return "ok"

    llm = ClockedLLM(Slow(), clock)
    llm.durations = [4.0, 4.0, 5.0]
    assert llm.complete([]) == "ok"  # 10 s left, a call takes ~4 s
    now.t += 7.0  # 3 s left
    with pytest.raises(LLMDeadlineError):
        llm.complete([])
    assert Slow.calls == 1


class _SlowFakeLLM:
    """FOR TESTS ONLY: the scripted fake, each call taking ``seconds`` of real time."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def complete(self, messages: Any, schema: Any = None, **kwargs: Any) -> Any:
        time.sleep(self.seconds)
        return self.inner.complete(messages, schema, **kwargs)


@pytest.mark.slow
def test_a_run_ends_within_its_time_budget_on_the_wall_clock(fakes: Any, tmp_path: Path) -> None:
    # The first round always runs, and its LLM calls alone (about 15 of them at 3 s) would
    # take longer than the whole budget: only the wall-clock ceiling stops them.
    budget = 20.0
    context = RunContext(
        rounds=1,
        hypotheses_per_round=4,
        children_per_round=0,
        trials_per_experiment=50,
        experiment_time_s=60.0,
        time_budget_s=budget,
        llm_share=None,
        folds=3,
        auto_approve=True,
    )
    llm = _SlowFakeLLM(fakes.ScriptedFakeLLM(), 3.0)
    start = time.monotonic()
    run = fakes.start_run(tmp_path / "run", llm, context)
    wall = time.monotonic() - start
    assert run.status() == "finished"
    # The whole run, closing included, stays under the budget plus a little slack for the
    # last checkpoint writes; before the ceiling a run like this took several times longer.
    assert wall <= budget + 5.0, wall
    state = run.state()
    assert state["overview"] and state["stop_reason"]
