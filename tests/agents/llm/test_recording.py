"""The call log (RecordingLLM) and exact replay from it (ReplayLLM)."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from agents.llm import (
    ChatMessage,
    LLMError,
    LLMInvalidOutputError,
    RecordingLLM,
    ReplayLLM,
    prompt_hash,
    read_call_log,
)


class Idea(BaseModel):
    family: Literal["lightgbm", "random_forest"]
    note: str = Field(max_length=40)


ASK = [
    ChatMessage(role="system", content="You propose experiments."),
    ChatMessage(role="user", content="Propose one."),
]
OTHER = [ChatMessage(role="user", content="Something else.")]


def test_round_trip_replays_answers_in_recorded_order(tmp_path, scripted_fake) -> None:
    inner = scripted_fake(
        [
            '{"family": "lightgbm", "note": "first"}',
            '{"family": "random_forest", "note": "second"}',
            "plain text answer",
        ]
    )
    log = tmp_path / "run" / "llm_calls.jsonl"
    recorder = RecordingLLM(inner, log)
    originals = [
        recorder.complete(ASK, Idea, role="generation"),
        recorder.complete(ASK, Idea, role="generation"),
        recorder.complete(OTHER, role="meta_review", max_tokens=30),
    ]

    replay = ReplayLLM(log)
    replayed = [
        replay.complete(ASK, Idea, role="generation"),
        replay.complete(ASK, Idea, role="generation"),
        replay.complete(OTHER, role="meta_review"),
    ]
    assert replayed == originals
    assert replayed[0].parsed_as(Idea).note == "first"
    assert replayed[1].parsed_as(Idea).note == "second"
    assert replayed[2].parsed is None


def test_log_lines_hold_what_the_brief_asks_for(tmp_path, scripted_fake) -> None:
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(['{"family": "lightgbm", "note": "n"}']), log).complete(
        ASK, Idea, role="generation"
    )
    (entry,) = read_call_log(log)
    assert entry["prompt_hash"] == prompt_hash(ASK, Idea)
    assert entry["messages"] == [m.model_dump() for m in ASK]
    assert entry["text"] == '{"family": "lightgbm", "note": "n"}'
    assert entry["parsed"] == {"family": "lightgbm", "note": "n"}
    assert entry["role"] == "generation"
    assert entry["schema"] == "Idea"
    assert entry["model"] == "scripted-fake"
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (20, 4)
    assert entry["latency_s"] == 0.25
    assert entry["error"] is None


def test_prompt_hash_depends_on_messages_and_schema() -> None:
    class OtherIdea(Idea):
        extra: int = 0

    assert prompt_hash(ASK, Idea) == prompt_hash(list(ASK), Idea)
    assert prompt_hash(ASK, Idea) != prompt_hash(ASK, None)
    assert prompt_hash(ASK, Idea) != prompt_hash(ASK, OtherIdea)
    assert prompt_hash(ASK, Idea) != prompt_hash(OTHER, Idea)


def test_unknown_prompt_is_a_clear_error(tmp_path, scripted_fake) -> None:
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(["hello"]), log).complete(ASK)
    with pytest.raises(LLMError, match="holds no answer for this prompt"):
        ReplayLLM(log).complete(OTHER, role="ranking")


def test_asking_more_often_than_recorded_is_a_clear_error(tmp_path, scripted_fake) -> None:
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(["hello"]), log).complete(ASK)
    replay = ReplayLLM(log)
    replay.complete(ASK)
    with pytest.raises(LLMError, match="recorded this prompt 1 time"):
        replay.complete(ASK)


def test_recorded_failure_is_raised_again(tmp_path) -> None:
    class AlwaysInvalid:
        """Plumbing fake: every call fails the way an unrepairable model would."""

        def complete(self, messages, schema=None, *, role="default", max_tokens=None):
            raise LLMInvalidOutputError("Idea", 3, "not valid JSON")

    log = tmp_path / "calls.jsonl"
    with pytest.raises(LLMInvalidOutputError):
        RecordingLLM(AlwaysInvalid(), log).complete(ASK, Idea)
    (entry,) = read_call_log(log)
    assert entry["error"]["type"] == "LLMInvalidOutputError"
    with pytest.raises(LLMInvalidOutputError, match="no valid Idea in 3 tries"):
        ReplayLLM(log).complete(ASK, Idea)


def test_missing_or_damaged_log(tmp_path, scripted_fake) -> None:
    with pytest.raises(LLMError, match="no LLM call log"):
        ReplayLLM(tmp_path / "absent.jsonl")
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(["hello"]), log).complete(ASK)
    with log.open("a") as handle:
        handle.write('{"truncated": \n')
    with pytest.raises(LLMError, match=r"calls.jsonl:2 is not a JSON line"):
        ReplayLLM(log)


def test_recorded_answer_that_no_longer_fits_is_an_error(tmp_path, scripted_fake) -> None:
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(['{"family": "lightgbm", "note": "n"}']), log).complete(ASK, Idea)
    entry = json.loads(log.read_text())
    entry["parsed"]["family"] = "svm"
    log.write_text(json.dumps(entry) + "\n")
    with pytest.raises(LLMError, match="no longer fits Idea"):
        ReplayLLM(log).complete(ASK, Idea)


def test_recording_appends_across_instances(tmp_path, scripted_fake) -> None:
    log = tmp_path / "calls.jsonl"
    RecordingLLM(scripted_fake(["a"]), log).complete(ASK)
    RecordingLLM(scripted_fake(["b"]), log).complete(ASK)
    assert [e["text"] for e in read_call_log(log)] == ["a", "b"]
