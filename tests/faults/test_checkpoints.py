"""Lost or damaged checkpoints: one clear line, never a silent restart or a sqlite traceback.

A run that has LLM calls or experiments but no checkpoints would start over and append a
second session to llm_calls.jsonl, which then no longer replays; it is refused.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from agents import CoScientistError, ResearchRun, open_checkpointer

Cli = Callable[..., subprocess.CompletedProcess[str]]
OneErrorLine = Callable[[subprocess.CompletedProcess[str]], str]
CALL = '{"v":1,"prompt_hash":"abc","role":"supervisor","text":"{}","error":null}\n'


def _with_calls(run: ResearchRun) -> None:
    run.llm_log.write_text(CALL, encoding="utf-8")


def _with_experiment(run: ResearchRun) -> None:
    (run.dir / "experiments" / "H1").mkdir(parents=True)


def _missing(run: ResearchRun) -> None:
    run.checkpoints.unlink(missing_ok=True)


def _zero_bytes(run: ResearchRun) -> None:
    run.checkpoints.write_bytes(b"")


def _no_rows(run: ResearchRun) -> None:
    with open_checkpointer(run.checkpoints) as saver:
        saver.setup()


Craft = Callable[[ResearchRun], None]


@pytest.mark.parametrize("started", [_with_calls, _with_experiment])
@pytest.mark.parametrize("lost", [_missing, _zero_bytes, _no_rows])
def test_a_started_run_without_checkpoints_is_refused(
    run: ResearchRun, started: Craft, lost: Craft
) -> None:
    started(run)
    lost(run)
    with pytest.raises(CoScientistError, match=r"is damaged: checkpoints\.sqlite is"):
        run.status()
    with pytest.raises(CoScientistError, match="damaged"):
        list(run.advance(object(), object()))  # type: ignore[arg-type]


def test_a_brand_new_run_is_not_damaged(run: ResearchRun) -> None:
    assert run.status() == "new"
    assert run.state() == {}


def test_resume_without_checkpoints_stops_and_keeps_the_call_log(
    run: ResearchRun, cli: Cli, one_error_line: OneErrorLine
) -> None:
    _with_calls(run)
    line = one_error_line(cli("resume", str(run.dir)))
    assert "damaged" in line and "checkpoints.sqlite is missing" in line
    assert run.llm_log.read_text(encoding="utf-8") == CALL, "a second session was appended"


@pytest.mark.parametrize("command", ["resume", "show"])
def test_garbage_checkpoints_are_one_line(
    run: ResearchRun, command: str, cli: Cli, one_error_line: OneErrorLine
) -> None:
    _with_calls(run)
    run.checkpoints.write_bytes(os.urandom(64) + b"not a database " * 300)
    line = one_error_line(cli(command, str(run.dir)))
    assert "checkpoints" in line and "damaged" in line and str(run.checkpoints) in line
