"""`cosci llm ...` and the factory that builds the client from settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

import agents.llm
from agents.llm import (
    ChatMessage,
    LocalLLM,
    OpenAICompatibleLLM,
    RecordingLLM,
    ReplayLLM,
    TrackedLLM,
    UsageTracker,
    read_call_log,
)
from cosci._llm_factory import build_llm, describe_llm
from cosci._settings import Settings, SettingsError, load_settings
from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")


def _endpoint_settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        llm_base_url="http://fake-llm.test/v1",
        llm_model="fake-model",
        llm_api_key=SecretStr("sk-cli-secret"),
        llm_max_retries=0,
    )


def test_factory_picks_the_embedded_model_by_default(tmp_path: Path) -> None:
    llm = build_llm(Settings(home=tmp_path, llm_threads=2))
    assert isinstance(llm, LocalLLM)
    assert llm.cache_dir == tmp_path / "models"
    assert llm.threads == 2
    assert llm.four_bit


def test_the_four_bit_setting_reaches_the_model_and_the_info(tmp_path: Path) -> None:
    off = Settings(home=tmp_path, llm_four_bit=False)
    llm = build_llm(off)
    assert isinstance(llm, LocalLLM) and not llm.four_bit
    assert describe_llm(off)["layers"] == "float32 (llm_four_bit off)"
    assert describe_llm(Settings(home=tmp_path))["layers"] == "4-bit products, bfloat16 inputs"


def test_factory_picks_the_endpoint_when_configured(tmp_path: Path) -> None:
    llm = build_llm(_endpoint_settings(tmp_path))
    assert isinstance(llm, OpenAICompatibleLLM)
    assert (llm.base_url, llm.model, llm.max_retries) == (
        "http://fake-llm.test/v1",
        "fake-model",
        0,
    )


def test_factory_wraps_for_usage_and_call_log(tmp_path: Path) -> None:
    usage = UsageTracker()
    llm = build_llm(_endpoint_settings(tmp_path), log_path=tmp_path / "calls.jsonl", usage=usage)
    assert isinstance(llm, RecordingLLM)
    assert isinstance(llm.inner, TrackedLLM) and llm.inner.tracker is usage
    assert isinstance(llm.inner.inner, OpenAICompatibleLLM)


def test_factory_replays_a_log(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    log.write_text(
        json.dumps({"prompt_hash": "0" * 64, "text": "x", "model": "m", "error": None}) + "\n"
    )
    assert isinstance(build_llm(Settings(home=tmp_path), replay_from=log), ReplayLLM)


def test_factory_needs_a_model_name_for_an_endpoint(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, llm_base_url="http://fake-llm.test/v1")
    with pytest.raises(SettingsError, match="COSCI_LLM_MODEL"):
        build_llm(settings)


def test_structured_output_temperature_and_token_param_come_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {
        "COSCI_HOME": str(tmp_path),
        "COSCI_LLM_BASE_URL": "http://fake-llm.test/v1",
        "COSCI_LLM_MODEL": "o-reasoner",
        "COSCI_LLM_STRUCTURED_OUTPUT": "prompt",
        "COSCI_LLM_TEMPERATURE": "none",
        "COSCI_LLM_TOKEN_PARAM": "max_completion_tokens",
    }
    llm = build_llm(load_settings(env))
    assert isinstance(llm, OpenAICompatibleLLM)
    assert (llm.structured_mode, llm.temperature, llm.token_param) == (
        "prompt",
        None,
        "max_completion_tokens",
    )
    # The default starts with json_schema and may step down by itself.
    default = build_llm(load_settings({**env, "COSCI_LLM_STRUCTURED_OUTPUT": "json_schema"}))
    assert isinstance(default, OpenAICompatibleLLM)
    assert (default.structured_output, default.structured_mode) == ("auto", "json_schema")
    assert (
        load_settings({"COSCI_HOME": str(tmp_path), "COSCI_LLM_TEMPERATURE": "0.7"}).llm_temperature
        == 0.7
    )
    with pytest.raises(SettingsError, match="llm_token_param"):
        load_settings({**env, "COSCI_LLM_TOKEN_PARAM": "max_new_tokens"})


def test_info_shows_structured_output_temperature_and_token_param(
    fake_endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COSCI_HOME", str(tmp_path))
    monkeypatch.setenv("COSCI_LLM_TEMPERATURE", "none")
    monkeypatch.setenv("COSCI_LLM_TOKEN_PARAM", "max_completion_tokens")
    result = CliRunner().invoke(app, ["llm", "info"])
    assert result.exit_code == 0, result.output
    assert "json_schema (steps down if refused or ignored)" in result.stdout
    assert "not sent" in result.stdout
    assert "max_completion_tokens" in result.stdout


def test_describe_never_shows_the_key(tmp_path: Path) -> None:
    described = describe_llm(_endpoint_settings(tmp_path))
    assert described["api_key"] == "set"
    assert "sk-cli-secret" not in json.dumps(described)
    assert describe_llm(Settings(home=tmp_path))["backend"].startswith("embedded")


@pytest.fixture
def fake_endpoint(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Point the CLI at a scripted OpenAI-compatible endpoint on an httpx.MockTransport."""
    requests: list[dict] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "fake-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Successive halving."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            },
        )

    class WiredLLM(OpenAICompatibleLLM):
        def __init__(self, *args, **kwargs) -> None:
            transport = httpx.MockTransport(handle)
            super().__init__(*args, http_client=httpx.Client(transport=transport), **kwargs)

    monkeypatch.setattr(agents.llm, "OpenAICompatibleLLM", WiredLLM)
    monkeypatch.setenv("COSCI_LLM_BASE_URL", "http://fake-llm.test/v1")
    monkeypatch.setenv("COSCI_LLM_MODEL", "fake-model")
    return requests


def test_ask_shows_answer_model_tokens_and_latency(fake_endpoint, tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "llm",
            "ask",
            "Name a bandit-based HPO method.",
            "--system",
            "Be brief.",
            "--log",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Successive halving." in result.stdout
    assert "fake-model" in result.stderr
    assert "12 prompt + 3 answer tokens" in result.stderr
    assert fake_endpoint[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    (entry,) = read_call_log(log)
    assert entry["role"] == "cli" and entry["text"] == "Successive halving."


def test_ask_json_output(fake_endpoint) -> None:
    result = CliRunner().invoke(app, ["llm", "ask", "hi", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["text"] == "Successive halving."
    assert printed["completion_tokens"] == 3


def test_info_names_the_endpoint(fake_endpoint) -> None:
    result = CliRunner().invoke(app, ["llm", "info"])
    assert result.exit_code == 0, result.output
    assert "http://fake-llm.test/v1" in result.stdout


def test_log_summarises_roles(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    rows = [
        {"prompt_hash": "a", "role": "generation", "prompt_tokens": 10, "completion_tokens": 5},
        {"prompt_hash": "b", "role": "generation", "prompt_tokens": 20, "completion_tokens": 7},
        {"prompt_hash": "c", "role": "ranking", "error": {"type": "LLMError", "message": "x"}},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["llm", "log", str(log)])
    assert result.exit_code == 0, result.output
    generation = next(line for line in result.stdout.splitlines() if "generation" in line)
    cells = [cell.strip() for cell in generation.split("│") if cell.strip()]
    assert cells[:5] == ["generation", "2", "0", "30", "12"]
    ranking = next(line for line in result.stdout.splitlines() if "ranking" in line)
    assert [cell.strip() for cell in ranking.split("│") if cell.strip()][:3] == [
        "ranking",
        "1",
        "1",
    ]


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_cosci(
    args: list[str], env_extra: dict[str, str], home: Path
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSCI_", "OPENAI_"))}
    env.update(COSCI_HOME=str(home), **env_extra)
    return subprocess.run(
        [str(COSCI), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_unreachable_endpoint_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_loopback_port()}/v1"
    result = _run_cosci(
        ["llm", "ask", "hello"],
        {
            "COSCI_LLM_BASE_URL": url,
            "COSCI_LLM_MODEL": "any",
            "COSCI_LLM_MAX_RETRIES": "1",
            "OPENAI_API_KEY": "sk-subprocess-secret",
        },
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert url in lines[0] and "COSCI_LLM_BASE_URL" in lines[0]
    assert "Traceback" not in result.stderr
    assert "sk-subprocess-secret" not in result.stderr + result.stdout


def test_endpoint_without_model_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run_cosci(
        ["llm", "ask", "hello"], {"COSCI_LLM_BASE_URL": "http://127.0.0.1:1/v1"}, tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "COSCI_LLM_MODEL" in result.stderr
    assert "Traceback" not in result.stderr


def test_replayed_messages_match_what_ask_sends(fake_endpoint, tmp_path: Path) -> None:
    """A question asked through the CLI with --log can be answered again without any model."""
    log = tmp_path / "calls.jsonl"
    CliRunner().invoke(app, ["llm", "ask", "What is TPE?", "--log", str(log)])
    replay = ReplayLLM(log)
    again = replay.complete([ChatMessage(role="user", content="What is TPE?")], max_tokens=200)
    assert again.text == "Successive halving."


@pytest.mark.slow
def test_ask_answers_with_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh setup with no endpoint: the embedded model answers (in-process, shared cache)."""
    monkeypatch.delenv("COSCI_LLM_BASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["llm", "ask", "What is a hyperparameter?", "--max-tokens", "20"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "SmolLM2-135M-Instruct" in result.stderr
