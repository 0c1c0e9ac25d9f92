"""Behaviour every LLMClient shares, written once and run against each implementation.

The embedded model runs the same contract for real in ``test_local.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from agents.llm import (
    ChatMessage,
    LLMClient,
    LocalLLM,
    RecordingLLM,
    ReplayLLM,
    UsageTracker,
)


class Judgement(BaseModel):
    better: Literal["first", "second"]
    score: int = Field(ge=0, le=10)
    why: str = Field(max_length=80)


STRUCTURED = [
    ChatMessage(role="system", content="You compare two model families for tabular data."),
    ChatMessage(role="user", content="First: gradient boosting. Second: k-nearest neighbours."),
]
PLAIN = [ChatMessage(role="user", content="Name one hyperparameter of a random forest.")]
ANSWERS = [
    '{"better": "first", "score": 8, "why": "boosting handles tabular data well"}',
    "max_depth",
]


class LLMClientContract:
    """Subclasses provide a ``client`` fixture able to answer STRUCTURED and PLAIN once each."""

    def test_is_an_llm_client(self, client: LLMClient) -> None:
        assert isinstance(client, LLMClient)

    def test_structured_answer_is_a_validated_instance(self, client: LLMClient) -> None:
        completion = client.complete(STRUCTURED, Judgement, role="ranking", max_tokens=None)
        judgement = completion.parsed_as(Judgement)
        assert 0 <= judgement.score <= 10
        assert len(judgement.why) <= 80
        assert completion.text.strip().startswith("{")
        assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
        assert completion.latency_s >= 0
        assert completion.model

    def test_plain_answer_is_text(self, client: LLMClient) -> None:
        completion = client.complete(PLAIN, role="default", max_tokens=32)
        assert completion.parsed is None
        assert completion.text.strip()
        assert completion.completion_tokens > 0


class TestOpenAICompatibleContract(LLMClientContract):
    @pytest.fixture
    def client(self, fake_api) -> LLMClient:
        server = fake_api.server([fake_api.chat(ANSWERS[0]), fake_api.chat(ANSWERS[1])])
        return server.client()[0]


def _recorded_log(tmp_path: Path, scripted_fake) -> Path:
    log = tmp_path / "calls.jsonl"
    recorder = RecordingLLM(scripted_fake(list(ANSWERS)), log)
    recorder.complete(STRUCTURED, Judgement, role="ranking")
    recorder.complete(PLAIN, max_tokens=32)
    return log


class TestReplayContract(LLMClientContract):
    @pytest.fixture
    def client(self, tmp_path: Path, scripted_fake) -> LLMClient:
        return ReplayLLM(_recorded_log(tmp_path, scripted_fake))


class TestRecordingContract(LLMClientContract):
    @pytest.fixture
    def client(self, tmp_path: Path, scripted_fake) -> LLMClient:
        return RecordingLLM(scripted_fake(list(ANSWERS)), tmp_path / "calls.jsonl")


class TestTrackedContract(LLMClientContract):
    @pytest.fixture
    def client(self, scripted_fake) -> LLMClient:
        return UsageTracker().track(scripted_fake(list(ANSWERS)))


@pytest.mark.slow
class TestLocalContract(LLMClientContract):
    """The real embedded model: answers must be schema-valid without any scripting."""

    @pytest.fixture
    def client(self, local_llm: LocalLLM) -> LLMClient:
        return local_llm
