"""MemoryStore through HttpClient against a real `chroma run` server on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory import MemoryStore, MemoryStoreError, RunRecord


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, limit_s: float) -> None:
    import httpx

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"chroma run did not answer within {limit_s} s: {log.read_text()[-2000:]}")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """Start `chroma run` on a free loopback port; always stop it, even if the test fails."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.fail(f"the chroma CLI is missing next to {sys.executable}; reinstall chromadb")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "chroma.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                str(chroma),
                "run",
                "--path",
                str(tmp_path / "server-data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            start_new_session=True,
        )
    try:
        _wait_until_up(url, proc, log, limit_s=60)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.mark.slow
def test_http_store_adds_queries_and_survives_a_new_client(
    chroma_server: str,
    tiny_corpus: Path,
    tmp_path: Path,
    make_profile: Callable[..., Any],
) -> None:
    from automl_backend import TrialConfig

    store = MemoryStore(url=chroma_server, corpus_dir=tiny_corpus)
    assert store.location == chroma_server
    assert store.search_literature("gradient-based architecture search", k=1)[0].title == "DARTS"

    note = tmp_path / "notes.md"
    note.write_text("# Lab\n\nCatBoost encodes categories with ordered statistics.", "utf-8")
    assert store.ingest([note]).chunks == 1
    profile = make_profile()
    store.record_run(
        RunRecord(
            run_id="http-run",
            profile=profile,
            status="ok",
            metric="accuracy",
            best_score=0.9,
            best_config=TrialConfig(family="extra_trees"),
        )
    )

    # A fresh client sees everything, queries by text, and does not reload the corpus.
    other = MemoryStore(url=chroma_server, corpus_dir=tiny_corpus)
    assert other.load_corpus() == 0
    hit = other.search_literature("categorical encoding", k=1, where={"kind": "user"})[0]
    assert hit.source == str(note.resolve())
    assert [r.record.run_id for r in other.similar_runs(profile, 3)] == ["http-run"]
    stats = other.stats()
    assert (stats.corpus_chunks, stats.user_chunks, stats.runs) == (3, 1, 1)


def test_unreachable_server_is_a_one_line_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(MemoryStoreError, match=f"server at {url} is unreachable") as info:
        MemoryStore(url=url).count("runs")
    assert "\n" not in str(info.value)
