"""Usage accounting per agent role."""

from __future__ import annotations

import json
import threading

import pytest

from agents.llm import ChatMessage, Completion, LLMError, UsageSummary, UsageTracker

ASK = [ChatMessage(role="user", content="Rank these.")]


def test_tokens_and_time_are_summed_per_role(scripted_fake) -> None:
    tracker = UsageTracker()
    llm = tracker.track(scripted_fake(["one two", "three", "four five six"]))
    llm.complete(ASK, role="generation")
    llm.complete(ASK, role="generation")
    llm.complete(ASK, role="ranking")
    summary = tracker.summary()
    assert summary.per_role["generation"].calls == 2
    assert summary.per_role["generation"].prompt_tokens == 20
    assert summary.per_role["generation"].completion_tokens == 3
    assert summary.per_role["ranking"].completion_tokens == 3
    assert summary.calls == 3
    assert summary.prompt_tokens == 30
    assert summary.completion_tokens == 6
    assert summary.latency_s == pytest.approx(0.75)


def test_failed_calls_count_their_time() -> None:
    class Failing:
        """Plumbing fake: every call fails."""

        def complete(self, messages, schema=None, *, role="default", max_tokens=None):
            raise LLMError("endpoint down")

    tracker = UsageTracker()
    with pytest.raises(LLMError):
        tracker.track(Failing()).complete(ASK, role="reflection")
    usage = tracker.summary().per_role["reflection"]
    assert (usage.calls, usage.failed_calls) == (0, 1)
    assert usage.latency_s >= 0


def test_failed_calls_count_the_tokens_of_their_tries() -> None:
    class Unusable:
        """Plumbing fake: three tries answered, none usable."""

        def complete(self, messages, schema=None, *, role="default", max_tokens=None):
            error = LLMError("no valid Verdict in 3 tries")
            error.prompt_tokens, error.completion_tokens = 300, 45
            raise error

    tracker = UsageTracker()
    with pytest.raises(LLMError):
        tracker.track(Unusable()).complete(ASK, role="ranking")
    usage = tracker.summary().per_role["ranking"]
    assert (usage.failed_calls, usage.prompt_tokens, usage.completion_tokens) == (1, 300, 45)


def test_summary_serialises_for_results_json() -> None:
    tracker = UsageTracker()
    tracker.record("ranking", Completion(text="x", prompt_tokens=5, completion_tokens=2, model="m"))
    restored = UsageSummary.model_validate(json.loads(tracker.summary().model_dump_json()))
    assert restored == tracker.summary()
    assert UsageSummary().calls == 0


def test_tracker_is_thread_safe() -> None:
    tracker = UsageTracker()
    done = Completion(text="x", prompt_tokens=1, completion_tokens=1, latency_s=0.001, model="m")

    def work() -> None:
        for _ in range(500):
            tracker.record("generation", done)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracker.summary().per_role["generation"].calls == 2000
