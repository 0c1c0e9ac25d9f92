"""`cosci memory add/search/stats`: the happy paths in-process, the error paths as a user sees them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cosci.cli import app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cosci home of this test's own, with a wide terminal so tables do not wrap names."""
    folder = tmp_path / "home"
    monkeypatch.setenv("COSCI_HOME", str(folder))
    monkeypatch.delenv("COSCI_CHROMA_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return folder


def _blank_pdf(path: Path) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_search_finds_the_shipped_notes_on_successive_halving(home: Path) -> None:
    result = CliRunner().invoke(app, ["memory", "search", "successive halving", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "corpus/hpo-successive-halving.md" in result.output
    assert "Jamieson, Talwalkar (2016)" in result.output
    assert (home / "memory").is_dir()


def test_add_then_search_and_stats(home: Path, tmp_path: Path) -> None:
    note = tmp_path / "lab-notes.md"
    note.write_text("# Lab notes\n\nOn the churn data, class weights beat SMOTE.\n", "utf-8")
    runner = CliRunner()
    added = runner.invoke(app, ["memory", "add", str(note)])
    assert added.exit_code == 0, added.output
    assert "1 chunk(s) from 1 file(s)" in added.output

    found = runner.invoke(app, ["memory", "search", "oversampling versus class weights", "--mine"])
    assert found.exit_code == 0, found.output
    assert str(note.resolve()) in found.output and "Lab notes" in found.output
    assert "corpus/" not in found.output

    topic = runner.invoke(app, ["memory", "search", "pruning weights", "--topic", "compression"])
    assert topic.exit_code == 0, topic.output
    assert "corpus/compression-" in topic.output and "corpus/hpo-" not in topic.output

    stats = runner.invoke(app, ["memory", "stats"])
    assert stats.exit_code == 0, stats.output
    assert str(home / "memory") in stats.output
    assert "1 file(s)" in stats.output


def test_topic_and_mine_cannot_be_combined(home: Path) -> None:
    result = CliRunner().invoke(app, ["memory", "search", "x", "--topic", "hpo", "--mine"])
    assert result.exit_code == 2


def _cosci(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "cosci"
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COSCI_HOME": str(home), "OMP_NUM_THREADS": "1", **env},
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.md", None, "does not exist"),
        ("empty.txt", b"", "is empty"),
        ("slides.pptx", b"PK", "unsupported file type '.pptx'"),
        ("scan.pdf", "blank-pdf", "no extractable text"),
    ],
)
def test_bad_files_exit_2_with_one_line(
    home: Path, tmp_path: Path, name: str, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "blank-pdf":
        _blank_pdf(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    proc = _cosci(["memory", "add", str(path)], home)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0] and name in lines[0]
    assert "Traceback" not in proc.stderr


def test_unreachable_chroma_server_exits_2(home: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _cosci(["memory", "stats"], home, COSCI_CHROMA_URL=f"http://127.0.0.1:{port}")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_factory_picks_the_server_url_over_the_local_folder(tmp_path: Path) -> None:
    from cosci._memory_factory import build_memory_store, describe_memory
    from cosci._settings import load_settings

    local = load_settings({"COSCI_HOME": str(tmp_path)})
    assert build_memory_store(local).location == str(tmp_path / "memory")
    assert str(tmp_path / "memory") in describe_memory(local)
    remote = load_settings({"COSCI_HOME": str(tmp_path), "COSCI_CHROMA_URL": "http://127.0.0.1:9"})
    assert build_memory_store(remote).location == "http://127.0.0.1:9"
    assert "COSCI_CHROMA_URL" in describe_memory(remote)
