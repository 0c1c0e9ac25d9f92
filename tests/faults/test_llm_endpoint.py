"""An OpenAI-compatible endpoint that misbehaves, over a real socket.

The server here replays the shape of `transformers serve` 5.24, which logs "Ignoring
unsupported fields in the request: {'response_format'}" and answers in prose: the client
must step down to the schema in the prompt, count the tokens of failed tries, and the
terminal must hear about answers that keep being unusable. Then the endpoint faults:
down, slow, 5xx and garbage each end in one clear error or one unusable answer. The slow
test does the same against a real `transformers serve` on the embedded model.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from agents._guard import LLMGuard
from agents.llm import (
    ChatMessage,
    LLMClient,
    LLMError,
    LLMUnreachableError,
    LocalLLM,
    OpenAICompatibleLLM,
    RecordingLLM,
    UsageTracker,
    local_model_status,
    read_call_log,
)

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct@main"
PROSE = (
    "Hypothesis A looks better to me, because gradient boosting usually beats a linear "
    "model on tabular data like this."
)
ANSWER = '{"winner": "A", "confidence": 0.7, "reason": "higher paired CV score"}'
QUESTION = [
    ChatMessage(role="system", content="You judge two hypotheses."),
    ChatMessage(role="user", content="Which hypothesis is better, A or B?"),
]


class Verdict(BaseModel):
    winner: Literal["A", "B"]
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(max_length=60)


@dataclass
class Reply:
    """What the server sends back: a status and a body, after an optional delay."""

    body: dict[str, Any] | bytes
    status: int = 200
    delay_s: float = 0.0


def completion(content: str, prompt_tokens: int, completion_tokens: int) -> Reply:
    """A chat.completion as `transformers serve` writes it (None fields left out)."""
    return Reply(
        {
            "id": "req_0",
            "created": int(time.time()),
            "object": "chat.completion",
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"content": content, "role": "assistant"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


@dataclass
class Endpoint:
    """A chat-completions server on 127.0.0.1 answering each request with ``answer(body)``."""

    answer: Callable[[dict[str, Any]], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def client(self, **options: Any) -> OpenAICompatibleLLM:
        options.setdefault("timeout_s", 10.0)
        options.setdefault("max_retries", 0)
        return OpenAICompatibleLLM(self.url, MODEL, sleep=lambda _: None, **options)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[dict[str, Any]], Reply]], Endpoint]]:
    servers: list[tuple[ThreadingHTTPServer, Endpoint]] = []

    def start(answer: Callable[[dict[str, Any]], Reply]) -> Endpoint:
        endpoint = Endpoint(answer)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                reply = endpoint.answer(body)
                if reply.delay_s and endpoint.stopping.wait(reply.delay_s):
                    return
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                payload = data if isinstance(data, bytes) else data.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up first (a timeout test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        servers.append((server, endpoint))
        return endpoint

    yield start
    for server, endpoint in servers:
        endpoint.stopping.set()
        server.shutdown()
        server.server_close()


def ignores_response_format(body: dict[str, Any]) -> Reply:
    """transformers serve: response_format is dropped, so a small model answers prose;
    with the schema in the prompt it answers the object (here in a code fence)."""
    if "response_format" in body:
        return completion(PROSE, 85, 24)
    return completion(f"```json\n{ANSWER}\n```", 160, 30)


def recorded(llm: OpenAICompatibleLLM, log: Path) -> tuple[LLMClient, UsageTracker]:
    """The client as a run wraps it: usage counted, every call in llm_calls.jsonl."""
    usage = UsageTracker()
    return RecordingLLM(usage.track(llm), log), usage


def test_endpoint_ignoring_response_format_steps_down_and_the_agent_call_succeeds(
    serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = serve(ignores_response_format)
    llm = endpoint.client()
    client, usage = recorded(llm, tmp_path / "llm_calls.jsonl")
    guard = LLMGuard(client, streak=0, limit=8)
    with caplog.at_level(logging.WARNING, logger="agents"):
        first = guard.ask_messages("ranking", Verdict, QUESTION)
        second = guard.ask_messages("ranking", Verdict, QUESTION)
    assert first == second == Verdict(winner="A", confidence=0.7, reason="higher paired CV score")
    assert guard.streak == 0 and guard.failures == 0
    assert llm.structured_mode == "prompt"
    # One try with response_format, then never again in this process.
    assert ["response_format" in r for r in endpoint.requests] == [True, False, False]
    in_prompt = endpoint.requests[1]["messages"]
    assert '"winner"' in in_prompt[0]["content"]
    assert "one JSON object" in in_prompt[-1]["content"]
    stepped = [r.getMessage() for r in caplog.records if "ignored response_format" in r.message]
    assert len(stepped) == 1 and "127.0.0.1" in stepped[0]
    # The prose try was paid for: its tokens are in the call log and the usage.
    entries = read_call_log(tmp_path / "llm_calls.jsonl")
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries] == [
        (85 + 160, 24 + 30),
        (160, 30),
    ]
    assert usage.summary().prompt_tokens == 85 + 160 + 160


def test_tokens_of_failed_tries_reach_the_call_log(serve, tmp_path: Path) -> None:
    endpoint = serve(lambda body: completion(PROSE, 85, 24))
    client, usage = recorded(endpoint.client(repair_tries=2), tmp_path / "llm_calls.jsonl")
    guard = LLMGuard(client, streak=0, limit=8)
    assert guard.ask_messages("reflection", Verdict, QUESTION) is None
    assert guard.streak == 1
    # The prose try that stepped down, then 1 + 2 repair tries with the schema in the prompt.
    assert len(endpoint.requests) == 4
    (entry,) = read_call_log(tmp_path / "llm_calls.jsonl")
    assert entry["error"]["type"] == "LLMInvalidOutputError"
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (4 * 85, 4 * 24)
    summary = usage.summary()
    assert (summary.failed_calls, summary.prompt_tokens, summary.completion_tokens) == (
        1,
        4 * 85,
        4 * 24,
    )


@pytest.fixture
def cli_warnings() -> Iterator[None]:
    """The warning handler ``cosci`` installs, removed again after the test."""
    agents_logger = logging.getLogger("agents")
    before = list(agents_logger.handlers)
    yield
    agents_logger.handlers[:] = before


def test_unusable_answers_in_a_row_are_said_in_the_terminal(
    serve, cli_warnings: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from cosci.cli import main

    monkeypatch.setattr(sys, "argv", ["cosci", "llm", "info"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    capsys.readouterr()
    endpoint = serve(lambda body: completion("I am not sure what you mean.", 40, 9))
    guard = LLMGuard(endpoint.client(repair_tries=0), streak=0, limit=8)
    for _ in range(5):
        assert guard.ask_messages("generation", Verdict, QUESTION) is None
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "unusable answers in a row" in line]
    assert lines == [
        "warning: the LLM gave 3 unusable answers in a row (last: generation, the model gave "
        "no valid Verdict in 1 tries; last problem: not valid JSON (Expecting value at "
        "position 0)); falling back to rules"
    ]
    # The step-down is said once too, in the same way.
    assert err.count("ignored response_format json_schema") == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_clear_line(exc: BaseException, url: str) -> None:
    """One line naming the endpoint and the setting that chose it."""
    message = str(exc)
    assert "\n" not in message
    assert url in message and "COSCI_LLM_BASE_URL" in message


def test_server_down_is_one_clear_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    llm = OpenAICompatibleLLM(url, MODEL, max_retries=2, sleep=lambda _: None)
    with pytest.raises(LLMUnreachableError, match="connection failed") as info:
        llm.complete(QUESTION, Verdict)
    assert info.value.attempts == 3
    _one_clear_line(info.value, url)


def test_slow_server_times_out_is_counted_and_does_not_hang(serve, tmp_path: Path) -> None:
    endpoint = serve(lambda body: Reply(completion(ANSWER, 10, 10).body, delay_s=30))
    client, usage = recorded(
        endpoint.client(timeout_s=0.5, max_retries=1), tmp_path / "llm_calls.jsonl"
    )
    started = time.perf_counter()
    with pytest.raises(LLMUnreachableError, match="timed out") as info:
        client.complete(QUESTION, Verdict, role="ranking")
    assert time.perf_counter() - started < 5
    assert info.value.attempts == 2 and len(endpoint.requests) == 2
    _one_clear_line(info.value, endpoint.url)
    (entry,) = read_call_log(tmp_path / "llm_calls.jsonl")
    assert entry["error"]["type"] == "LLMUnreachableError"
    assert usage.summary().per_role["ranking"].failed_calls == 1


def test_server_errors_are_retried_then_one_clear_error(serve) -> None:
    endpoint = serve(lambda body: Reply({"detail": "CUDA out of memory"}, status=503))
    llm = endpoint.client(max_retries=2)
    with pytest.raises(LLMUnreachableError, match="HTTP 503") as info:
        llm.complete(QUESTION, Verdict)
    assert len(endpoint.requests) == 3 and info.value.attempts == 3
    _one_clear_line(info.value, endpoint.url)


def test_garbage_content_is_an_unusable_answer(serve) -> None:
    endpoint = serve(lambda body: completion("}{ ]] \x00 \ufffd\ufffd {{ not json", 5, 5))
    guard = LLMGuard(endpoint.client(repair_tries=1), streak=2, limit=8)
    assert guard.ask_messages("evolution", Verdict, QUESTION) is None
    assert (guard.streak, guard.failures) == (3, 1)


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>\x00\xff", b"<html>oops</html>", b"[1, 2]", b'{"a": 1}']
)
def test_garbage_body_is_an_unusable_answer_not_a_crash(serve, body: bytes) -> None:
    endpoint = serve(lambda request: Reply(body))
    guard = LLMGuard(endpoint.client(repair_tries=1), streak=0, limit=8)
    assert guard.ask_messages("evolution", Verdict, QUESTION) is None
    assert guard.streak == 1
    # Asked for plain text, the same body is one clear error.
    with pytest.raises(LLMError, match="not a chat completion") as info:
        endpoint.client().complete(QUESTION)
    _one_clear_line(info.value, endpoint.url)


@pytest.fixture
def transformers_serve(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A real `transformers serve` on the embedded model's safetensors copy (it cannot
    serve the GGUF itself: the GGUF's config names no architecture)."""
    pytest.importorskip("fastapi", reason="transformers serve needs transformers[serving]")
    pytest.importorskip("uvicorn", reason="transformers serve needs transformers[serving]")
    cache = Path(os.environ["COSCI_HOME"]) / "models"
    LocalLLM(cache, threads=1).load()  # converts the GGUF once per test session
    folder = local_model_status(cache).converted_path
    assert folder is not None
    port = _closed_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("transformers")),
                "serve",
                str(folder),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--device",
                "cpu",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "transformers serve did not start in 120 s"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1", str(folder), log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_real_transformers_serve_ignores_response_format_and_the_client_steps_down(
    transformers_serve: tuple[str, str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, model, server_log = transformers_serve
    llm = OpenAICompatibleLLM(url, model, timeout_s=120, max_retries=0, repair_tries=1)
    client, usage = recorded(llm, tmp_path / "llm_calls.jsonl")
    guard = LLMGuard(client, streak=0, limit=8)
    with caplog.at_level(logging.WARNING, logger="agents"):
        answers = [guard.ask_messages("ranking", Verdict, QUESTION, max_tokens=60) for _ in "abc"]
    assert "Ignoring unsupported fields in the request: {'response_format'}" in (
        server_log.read_text()
    )
    assert llm.structured_mode == "prompt"
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("ignored response_format json_schema" in w for w in warnings) == 1
    # The 135M model rarely writes JSON without a grammar: whatever it answers, every try
    # is counted, and unusable answers are said once they are 3 in a row.
    entries = read_call_log(tmp_path / "llm_calls.jsonl")
    assert len(entries) == 3 and all(e["prompt_tokens"] > 0 for e in entries)
    assert usage.summary().prompt_tokens == sum(e["prompt_tokens"] for e in entries)
    for answer, entry in zip(answers, entries, strict=True):
        assert (answer is None) == (entry["error"] is not None)
    if all(answer is None for answer in answers):
        assert any("3 unusable answers in a row" in w for w in warnings)
