"""OpenAICompatibleLLM against a fake OpenAI-compatible server (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from agents.llm import (
    ChatMessage,
    LLMAuthError,
    LLMError,
    LLMInvalidOutputError,
    LLMUnreachableError,
    RecordingLLM,
)
from agents.llm._failures import retry_after_seconds


class Verdict(BaseModel):
    winner: Literal["A", "B"]
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(max_length=60)


QUESTION = [ChatMessage(role="user", content="Which hypothesis is better, A or B?")]
GOOD = '{"winner": "A", "confidence": 0.8, "reason": "higher CV score"}'


def test_structured_success_uses_json_schema_response_format(fake_api) -> None:
    server = fake_api.server([fake_api.chat(GOOD, usage=(30, 12))])
    llm, sleeps = server.client()
    completion = llm.complete(QUESTION, Verdict, role="ranking")
    assert completion.parsed == Verdict(winner="A", confidence=0.8, reason="higher CV score")
    assert completion.parsed_as(Verdict).winner == "A"
    assert (completion.prompt_tokens, completion.completion_tokens) == (30, 12)
    assert completion.model == "fake-model"
    request = server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["schema"] == Verdict.model_json_schema()
    assert request["model"] == "fake-model"
    assert "JSON" in request["messages"][0]["content"]
    assert sleeps == []


def test_plain_text_sends_no_response_format(fake_api) -> None:
    server = fake_api.server([fake_api.chat("Gradient boosting, probably.")])
    llm, _ = server.client()
    completion = llm.complete(QUESTION, max_tokens=50)
    assert completion.parsed is None
    assert completion.text == "Gradient boosting, probably."
    assert "response_format" not in server.requests[0]
    assert server.requests[0]["max_tokens"] == 50
    assert server.requests[0]["messages"] == [{"role": "user", "content": QUESTION[0].content}]


def test_rate_limit_then_success_honours_retry_after(fake_api) -> None:
    server = fake_api.server(
        [fake_api.error(429, "slow down", headers={"Retry-After": "2"}), fake_api.chat(GOOD)]
    )
    llm, sleeps = server.client()
    assert llm.complete(QUESTION, Verdict).parsed is not None
    assert len(server.requests) == 2
    assert sleeps == [2.0]


def test_retry_after_is_capped(fake_api) -> None:
    server = fake_api.server(
        [fake_api.error(503, "busy", headers={"Retry-After": "3600"}), fake_api.chat(GOOD)]
    )
    llm, sleeps = server.client(max_retry_after_s=5.0)
    llm.complete(QUESTION, Verdict)
    assert sleeps == [5.0]


def test_server_errors_exhaust_retries_with_backoff(fake_api) -> None:
    server = fake_api.server([fake_api.error(503, "overloaded")] * 4)
    llm, sleeps = server.client(max_retries=3, backoff_initial_s=0.01, backoff_max_s=0.02)
    with pytest.raises(LLMUnreachableError) as info:
        llm.complete(QUESTION, Verdict)
    assert len(server.requests) == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.02 for s in sleeps)
    message = str(info.value)
    assert server.base_url in message
    assert "COSCI_LLM_BASE_URL" in message and "settings.yaml" in message
    assert "HTTP 503" in message
    assert info.value.user_facing


def test_rejected_key_is_not_retried_and_not_shown(fake_api) -> None:
    server = fake_api.server([fake_api.error(401, "Incorrect API key provided: sk-test-key")])
    llm, sleeps = server.client(api_key="sk-test-key")
    with pytest.raises(LLMAuthError) as info:
        llm.complete(QUESTION, Verdict)
    assert len(server.requests) == 1
    assert sleeps == []
    assert "OPENAI_API_KEY" in str(info.value)
    assert "sk-test-key" not in str(info.value)


def test_bad_request_on_plain_text_is_not_retried(fake_api) -> None:
    server = fake_api.server([fake_api.error(400, "max_tokens too large")])
    llm, _ = server.client()
    with pytest.raises(LLMError, match="max_tokens too large"):
        llm.complete(QUESTION)
    assert len(server.requests) == 1


def test_unknown_model_names_the_setting(fake_api) -> None:
    server = fake_api.server([fake_api.error(404, "model not found")])
    llm, _ = server.client()
    with pytest.raises(LLMError, match="COSCI_LLM_MODEL"):
        llm.complete(QUESTION)


def test_invalid_json_then_repaired_answer(fake_api) -> None:
    server = fake_api.server(
        [
            fake_api.chat('{"winner": "A", "confidence": 0.8', usage=(20, 6)),
            fake_api.chat('{"winner": "C", "confidence": 0.5, "reason": "x"}', usage=(40, 9)),
            fake_api.chat(GOOD, usage=(60, 12)),
        ]
    )
    llm, _ = server.client(repair_tries=2)
    completion = llm.complete(QUESTION, Verdict)
    assert completion.parsed_as(Verdict).winner == "A"
    assert (completion.prompt_tokens, completion.completion_tokens) == (120, 27)
    # A cut-off object is JSON gone wrong, not a server ignoring the format.
    assert llm.structured_mode == "json_schema"
    second, third = server.requests[1]["messages"], server.requests[2]["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"winner": "A", "confidence": 0.8'}
    assert "not valid JSON" in second[-1]["content"]
    assert "winner" in third[-1]["content"]  # the pydantic error names the bad field


def test_invalid_output_after_all_repairs(fake_api) -> None:
    server = fake_api.server([fake_api.chat("no JSON here", usage=(10, 3))] * 2)
    llm, _ = server.client(repair_tries=1, structured_output="prompt")
    with pytest.raises(LLMInvalidOutputError, match="Verdict in 2 tries") as info:
        llm.complete(QUESTION, Verdict)
    assert len(server.requests) == 2
    # The failed tries were paid for, and the error says how much.
    assert (info.value.prompt_tokens, info.value.completion_tokens) == (20, 6)


def test_prose_on_the_first_try_steps_down_to_the_schema_in_the_prompt(
    fake_api, caplog: pytest.LogCaptureFixture
) -> None:
    server = fake_api.server(
        [
            fake_api.chat("The winner is A, clearly.", usage=(50, 8)),
            fake_api.chat(
                f"Here you go:\n```json\n{GOOD}\n```\nHope {{this}} helps.", usage=(70, 20)
            ),
            fake_api.chat(GOOD, usage=(70, 15)),
        ]
    )
    llm, _ = server.client()
    with caplog.at_level(logging.WARNING, logger="agents.llm"):
        first = llm.complete(QUESTION, Verdict)
        second = llm.complete(QUESTION, Verdict)
    assert first.parsed_as(Verdict).reason == "higher CV score"
    assert (first.prompt_tokens, first.completion_tokens) == (120, 28)
    assert llm.structured_mode == "prompt"
    assert second.parsed is not None
    assert "response_format" in server.requests[0]
    assert all("response_format" not in r for r in server.requests[1:])
    # The schema is in the prompt, and the last user turn says to answer with JSON.
    retry = server.requests[1]["messages"]
    assert '"winner"' in retry[0]["content"]
    assert retry[-1]["role"] == "user" and "one JSON object" in retry[-1]["content"]
    assert retry[-1]["content"].startswith(QUESTION[0].content)
    stepped = [r for r in caplog.records if "ignored response_format" in r.getMessage()]
    assert len(stepped) == 1


def test_a_named_mode_does_not_step_down_on_prose(fake_api) -> None:
    server = fake_api.server([fake_api.chat("The winner is A.")] * 2)
    llm, _ = server.client(repair_tries=1, structured_output="json_schema")
    with pytest.raises(LLMInvalidOutputError):
        llm.complete(QUESTION, Verdict)
    assert llm.structured_mode == "json_schema"
    assert all(r["response_format"]["type"] == "json_schema" for r in server.requests)


def test_token_parameter_and_temperature_are_configurable(fake_api) -> None:
    server = fake_api.server([fake_api.chat("ok")] * 2)
    llm, _ = server.client(token_param="max_completion_tokens", temperature=None)
    llm.complete(QUESTION, max_tokens=30)
    assert server.requests[0]["max_completion_tokens"] == 30
    assert "max_tokens" not in server.requests[0]
    assert "temperature" not in server.requests[0]
    llm, _ = server.client(temperature=0.3)
    llm.complete(QUESTION, max_tokens=30)
    assert (server.requests[1]["max_tokens"], server.requests[1]["temperature"]) == (30, 0.3)


def test_out_of_range_numbers_are_clamped_not_repaired(fake_api) -> None:
    server = fake_api.server([fake_api.chat('{"winner": "B", "confidence": 7, "reason": "r"}')])
    llm, _ = server.client()
    assert llm.complete(QUESTION, Verdict).parsed_as(Verdict).confidence == 1


def test_timeout_is_retried_then_succeeds(fake_api) -> None:
    server = fake_api.server([httpx.ReadTimeout("read timed out"), fake_api.chat(GOOD)])
    llm, sleeps = server.client()
    assert llm.complete(QUESTION, Verdict).parsed is not None
    assert len(server.requests) == 2
    assert len(sleeps) == 1


def test_timeouts_exhausted_give_unreachable_error(fake_api) -> None:
    server = fake_api.server([httpx.ReadTimeout("read timed out")] * 3)
    llm, _ = server.client(max_retries=2)
    with pytest.raises(LLMUnreachableError, match="timed out") as info:
        llm.complete(QUESTION)
    assert info.value.attempts == 3


def test_connection_refused_gives_unreachable_error(fake_api) -> None:
    server = fake_api.server([httpx.ConnectError("connection refused")] * 2)
    llm, _ = server.client(max_retries=1)
    with pytest.raises(LLMUnreachableError, match="connection failed"):
        llm.complete(QUESTION)


def test_falls_back_to_json_mode_when_schema_format_is_refused(fake_api) -> None:
    def refuse_json_schema(body: dict) -> httpx.Response:
        if body["response_format"]["type"] == "json_schema":
            return fake_api.error(400, "response_format json_schema is not supported")
        return fake_api.chat(GOOD)

    server = fake_api.server([refuse_json_schema, refuse_json_schema, refuse_json_schema])
    llm, _ = server.client()
    assert llm.complete(QUESTION, Verdict).parsed is not None
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema", "json_object"]
    assert llm.structured_mode == "json_object"
    # The fallback is remembered: the next call goes straight to JSON mode.
    llm.complete(QUESTION, Verdict)
    assert server.requests[-1]["response_format"]["type"] == "json_object"
    # JSON mode cannot carry the schema, so the instruction must.
    assert '"winner"' in server.requests[-1]["messages"][0]["content"]


def test_falls_back_to_instructions_when_no_response_format_is_accepted(fake_api) -> None:
    def refuse_any_format(body: dict) -> httpx.Response:
        if "response_format" in body:
            return fake_api.error(422, "unknown field response_format")
        return fake_api.chat(f"```json\n{GOOD}\n```")

    server = fake_api.server([refuse_any_format] * 3)
    llm, _ = server.client()
    assert llm.complete(QUESTION, Verdict).parsed_as(Verdict).reason == "higher CV score"
    assert llm.structured_mode == "prompt"


def test_fixed_structured_mode_does_not_fall_back(fake_api) -> None:
    server = fake_api.server([fake_api.error(400, "json_schema unsupported")])
    llm, _ = server.client(structured_output="json_schema")
    with pytest.raises(LLMError, match="unsupported"):
        llm.complete(QUESTION, Verdict)
    assert len(server.requests) == 1


def test_key_reaches_the_server_but_never_the_log(fake_api, tmp_path, caplog) -> None:
    secret = "sk-very-secret-0123456789"
    server = fake_api.server(
        [fake_api.error(500, "oops"), fake_api.chat(GOOD), fake_api.error(401, "bad key")]
    )
    llm, _ = server.client(api_key=secret)
    log = tmp_path / "calls.jsonl"
    recording = RecordingLLM(llm, log)
    with caplog.at_level(logging.DEBUG):
        recording.complete(QUESTION, Verdict)
        with pytest.raises(LLMAuthError):
            recording.complete(QUESTION, Verdict)
    assert server.headers[0]["authorization"] == f"Bearer {secret}"
    assert secret not in log.read_text()
    assert len(log.read_text().splitlines()) == 2
    assert secret not in caplog.text
    assert secret not in repr(llm)


def test_retry_after_forms() -> None:
    def status_error(headers: dict[str, str]) -> Exception:
        import openai

        request = httpx.Request("POST", "http://x/v1/chat/completions")
        response = httpx.Response(429, headers=headers, request=request)
        return openai.RateLimitError("slow", response=response, body=None)

    assert retry_after_seconds(status_error({"retry-after-ms": "1500"})) == 1.5
    assert retry_after_seconds(status_error({"retry-after": "3"})) == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(status_error({"retry-after": later})) <= 31
    assert retry_after_seconds(status_error({})) is None
    assert retry_after_seconds(ValueError("not an HTTP error")) is None


def test_missing_usage_counts_zero(fake_api) -> None:
    response = fake_api.chat("hi")
    body = json.loads(response.content)
    del body["usage"]
    server = fake_api.server([httpx.Response(200, json=body)])
    llm, _ = server.client()
    completion = llm.complete(QUESTION)
    assert (completion.prompt_tokens, completion.completion_tokens) == (0, 0)


def test_unrelated_bad_request_does_not_change_the_format(fake_api) -> None:
    server = fake_api.server([fake_api.error(400, "context length exceeded")])
    llm, _ = server.client()
    with pytest.raises(LLMError, match="context length exceeded"):
        llm.complete(QUESTION, Verdict)
    assert len(server.requests) == 1
    assert llm.structured_mode == "json_schema"
