"""Independent calls sent together: the helper, the wrappers passing a batch on, the
endpoint client's concurrency and the guard's bookkeeping. Plumbing only (scripted fakes
and a fake server); the embedded model's side-by-side decoding is tested on the real
model in test_local_speedups.py."""

from __future__ import annotations

import json
import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from agents._clock import ClockedLLM, LLMDeadlineError, RunClock
from agents._guard import LLMGuard, LLMUnusableError
from agents._schemas import ReviewDraft
from agents.llm import (
    ChatMessage,
    Completion,
    LLMError,
    LLMInvalidOutputError,
    LLMRequest,
    RecordingLLM,
    ReplayLLM,
    UsageTracker,
    complete_each,
)


class Pick(BaseModel):
    family: Literal["lightgbm", "random_forest"]
    note: str = Field(max_length=40)


def _request(text: str, role: str = "generation") -> LLMRequest:
    return LLMRequest([ChatMessage(role="user", content=text)], Pick, role)


ANSWERS = [
    '{"family": "lightgbm", "note": "one"}',
    '{"family": "random_forest", "note": "two"}',
    '{"family": "lightgbm", "note": "three"}',
]


def test_a_client_without_batches_answers_in_turn_with_unusable_answers_in_place(
    fakes: Any,
) -> None:
    fake = fakes.ScriptedFakeLLM(garbage=True)
    outcomes = complete_each(fake, [_request("a"), _request("b")])
    assert [type(o) for o in outcomes] == [LLMInvalidOutputError, LLMInvalidOutputError]
    assert len(fake.calls) == 2
    assert complete_each(fake, []) == []


def test_wrappers_pass_the_batch_on_and_account_for_each_request(tmp_path: Any, fakes: Any) -> None:
    inner = fakes.BatchingFakeLLM(texts=list(ANSWERS))
    tracker = UsageTracker()
    log = tmp_path / "calls.jsonl"
    client = ClockedLLM(RecordingLLM(tracker.track(inner), log), RunClock(None))
    requests = [_request("a"), _request("b", "reflection"), _request("c", "reflection")]
    outcomes = complete_each(client, requests)
    # One batch reached the innermost client, through every wrapper.
    assert inner.batches == [["generation", "reflection", "reflection"]]
    assert [o.parsed_as(Pick).note for o in outcomes] == ["one", "two", "three"]  # type: ignore[union-attr]
    usage = tracker.summary()
    assert usage.per_role["generation"].calls == 1 and usage.per_role["reflection"].calls == 2
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["role"] for line in lines] == ["generation", "reflection", "reflection"]
    # The log replays request by request, in the batch's order.
    replay = ReplayLLM(log)
    again = [replay.complete(r.messages, r.schema, role=r.role) for r in requests]
    assert [c.text for c in again] == ANSWERS


def test_the_deadline_declines_a_batch_that_would_pass_it(fakes: Any) -> None:
    now = [0.0]
    clock = RunClock(10.0, now=lambda: now[0])
    client = ClockedLLM(fakes.BatchingFakeLLM(texts=list(ANSWERS)), clock)
    client.durations = [4.0]  # a typical call takes 4 s
    now[0] = 3.0  # 7 s left: one call fits, two do not
    with pytest.raises(LLMDeadlineError, match="2 calls take about 8 s"):
        client.complete_batch([_request("a"), _request("b")])
    assert client.complete_batch([_request("a")])[0].text == ANSWERS[0]  # type: ignore[union-attr]


def test_the_endpoint_client_sends_a_batch_concurrently(fake_api: Any) -> None:
    together = threading.Barrier(3, timeout=10)

    def echo(body: dict[str, Any]) -> Any:
        together.wait()  # raises unless all three requests are in flight at once
        question = body["messages"][-1]["content"]
        return fake_api.chat(json.dumps({"family": "lightgbm", "note": question[-12:]}))

    server = fake_api.server([echo, echo, echo])
    llm, _ = server.client(max_concurrency=3)
    outcomes = llm.complete_batch([_request("first"), _request("second"), _request("third")])
    assert [o.parsed_as(Pick).note[-5:] for o in outcomes] == ["first", "econd", "third"]  # type: ignore[union-attr]
    assert all(isinstance(o, Completion) and o.latency_s >= 0 for o in outcomes)


def test_the_endpoint_client_refuses_a_concurrency_below_one(fake_api: Any) -> None:
    with pytest.raises(LLMError, match="max_concurrency must be at least 1"):
        fake_api.server([]).client(max_concurrency=0)


def _case(i: int) -> dict[str, object]:
    return {
        "goal": "g",
        "dataset": "d",
        "id": f"H{i}",
        "statement": "s",
        "rationale": "r",
        "experiment": "e",
        "prediction": "p",
        "others": "-",
        "similar": "-",
        "trials": 4,
    }


def test_the_guard_asks_cases_in_one_batch_and_keeps_the_streak(fakes: Any) -> None:
    llm = fakes.BatchingFakeLLM()
    guard = LLMGuard(llm, streak=2, limit=5)
    drafts = guard.ask_each("reflection", ReviewDraft, [_case(1), _case(2)], max_tokens=120)
    assert all(isinstance(d, ReviewDraft) for d in drafts)
    assert llm.batches == [["reflection", "reflection"]]
    assert guard.updates()["llm_failure_streak"] == 0
    llm.garbage = True
    assert guard.ask_each("reflection", ReviewDraft, [_case(3), _case(4)]) == [None, None]
    assert guard.failures == 2 and guard.streak == 2
    with pytest.raises(LLMUnusableError, match="5 unusable answers in a row"):
        guard.ask_each("reflection", ReviewDraft, [_case(i) for i in range(5, 9)])


def test_the_guard_books_a_declined_batch_as_skipped(fakes: Any) -> None:
    clock = RunClock(0.0)
    guard = LLMGuard(ClockedLLM(fakes.BatchingFakeLLM(), clock), streak=0, limit=5)
    guard.llm.durations = [1.0]  # type: ignore[attr-defined]
    assert guard.ask_each("reflection", ReviewDraft, [_case(1), _case(2)]) == [None, None]
    assert guard.skipped == 2 and guard.failures == 0
