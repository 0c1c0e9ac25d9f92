"""A password in COSCI_LLM_BASE_URL (user:password@host) is never printed, logged or stored."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agents.llm import LLMUnreachableError, OpenAICompatibleLLM, redact_url
from cosci._llm_factory import describe_llm
from cosci._settings import load_settings

COSCI = Path(sys.executable).with_name("cosci")
PASSWORD = "hunter2-s3cret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def secret_url() -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{_closed_port()}/v1"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://alice:pw@host:8000/v1", "http://***@host:8000/v1"),
        ("https://token@api.example.com/v1", "https://***@api.example.com/v1"),
        ("https://a:p@ss:w@rd@host/v1?x=1", "https://***@host/v1?x=1"),
        ("LLM endpoint http://u:p@h/v1 unreachable", "LLM endpoint http://***@h/v1 unreachable"),
        ("http://host:8000/v1", "http://host:8000/v1"),
        ("mail bob@example.com at http://h/x?to=a@b", "mail bob@example.com at http://h/x?to=a@b"),
    ],
)
def test_redact_url(text: str, shown: str) -> None:
    assert redact_url(text) == shown


def test_the_client_and_its_errors_never_show_the_password(secret_url: str) -> None:
    llm = OpenAICompatibleLLM(secret_url, "m", "sk-key", max_retries=0, timeout_s=5)
    assert PASSWORD not in repr(llm) and PASSWORD not in llm.base_url
    with pytest.raises(LLMUnreachableError) as caught:
        llm.complete([])
    assert PASSWORD not in str(caught.value) and "***@127.0.0.1" in str(caught.value)


def test_llm_info_never_shows_the_password(secret_url: str) -> None:
    settings = load_settings({"COSCI_LLM_BASE_URL": secret_url, "COSCI_LLM_MODEL": "m"})
    assert PASSWORD not in str(describe_llm(settings))


def test_a_failed_run_keeps_the_password_out_of_output_call_log_and_checkpoint(
    secret_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    env = {
        **os.environ,
        "COSCI_LLM_BASE_URL": secret_url,
        "COSCI_LLM_MODEL": "m",
        "COSCI_LLM_MAX_RETRIES": "0",
        "OMP_NUM_THREADS": "1",
    }
    args = ["run", "Which family wins?", "--data", "sklearn:iris", "--no-memory"]
    args += ["--auto-approve", "--trials", "2", "--folds", "3", "--out", str(out)]
    done = subprocess.run(
        [str(COSCI), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and "unreachable" in done.stderr, done.stderr[-2000:]
    assert "***@127.0.0.1" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    # The failed call is logged and the failed step checkpointed: neither holds the password.
    assert "unreachable" in (out / "llm_calls.jsonl").read_text(encoding="utf-8")
    stored = [p for p in out.rglob("*") if p.is_file()]
    assert out / "checkpoints.sqlite" in stored
    for path in stored:
        assert PASSWORD.encode() not in path.read_bytes(), path
