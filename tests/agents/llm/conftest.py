"""Fixtures for the LLM tests: a scripted fake OpenAI-compatible server and plumbing fakes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from agents.llm import LocalLLM, OpenAICompatibleLLM

Reply = httpx.Response | Exception | Callable[[dict[str, Any]], httpx.Response]


def chat_response(
    content: str, *, model: str = "fake-model", usage: tuple[int, int] = (11, 7)
) -> httpx.Response:
    """An OpenAI chat.completion body answering ``content``."""
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        },
    )


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": "test", "code": None}}, headers=headers
    )


class FakeOpenAIServer:
    """A scripted OpenAI-compatible endpoint on an httpx.MockTransport (no sockets).

    Each request takes the next scripted reply: a response, an exception to raise (as a
    transport failure would) or a function of the request body. Requests are kept for
    assertions.
    """

    base_url = "http://fake-llm.test/v1"

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        if not self.replies:
            raise AssertionError(f"unexpected extra request #{len(self.requests)}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(body)
        return reply

    def client(self, **options: Any) -> tuple[OpenAICompatibleLLM, list[float]]:
        """A client wired to this server, and the list its retry sleeps are recorded in."""
        sleeps: list[float] = []
        options.setdefault("backoff_initial_s", 0.01)
        options.setdefault("backoff_max_s", 0.05)
        llm = OpenAICompatibleLLM(
            self.base_url,
            "fake-model",
            options.pop("api_key", "sk-test-key"),
            http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
            sleep=sleeps.append,
            **options,
        )
        return llm, sleeps


class FakeAPI:
    """What the OpenAI tests need, handed out as one fixture (tests cannot import conftest)."""

    server = FakeOpenAIServer
    chat = staticmethod(chat_response)
    error = staticmethod(error_response)


@pytest.fixture
def fake_api() -> type[FakeAPI]:
    return FakeAPI


@pytest.fixture
def scripted_fake(fakes: ModuleType) -> Callable[..., Any]:
    """The one scripted fake (tests/agents/fakes.py), answering with the given texts in turn."""

    def make(texts: list[str], *, model: str = "scripted-fake") -> Any:
        return fakes.ScriptedFakeLLM(texts=texts, model=model)

    return make


@pytest.fixture(scope="session")
def local_llm() -> LocalLLM:
    """The real embedded model (slow tests only). Its cache is the session's COSCI_HOME, so
    the GGUF is converted at most once per test run, and the process keeps it loaded."""
    return LocalLLM(Path(os.environ["COSCI_HOME"]) / "models", threads=1)
