"""One process at a time writes a run: a second run, resume or review stops with one line.

The holder is a real second process; the lock is ``flock`` on ``run.lock`` in the run
directory, which holds the holder's PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from agents import CoScientistError, ResearchRun, ReviewDecisions

Cli = Callable[..., subprocess.CompletedProcess[str]]
OneErrorLine = Callable[[subprocess.CompletedProcess[str]], str]
HOLD = """
import sys
from pathlib import Path
from agents import ResearchRun

run = ResearchRun.open(Path(sys.argv[1]))
with run.lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(run: ResearchRun) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run's lock until the test ends."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run.dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline()
    if line.strip() != "locked":
        child.kill()
        pytest.fail(f"the holder could not take the lock: {child.communicate()[1]}")
    yield child
    child.stdin.close()
    child.wait(timeout=30)


@pytest.mark.parametrize("command", [["resume"], ["review", "--approve-all"]])
def test_a_second_process_is_refused_with_the_holders_pid(
    run: ResearchRun,
    holder: subprocess.Popen[str],
    command: list[str],
    cli: Cli,
    one_error_line: OneErrorLine,
) -> None:
    calls_before = run.llm_log.exists()
    line = one_error_line(cli(command[0], str(run.dir), *command[1:]))
    assert "in use by another cosci process" in line and f"PID {holder.pid}" in line
    # It stopped before writing anything.
    assert run.llm_log.exists() == calls_before
    assert not run.pending_decisions.exists()


def test_advance_and_save_decisions_refuse_while_another_process_holds_the_run(
    run: ResearchRun, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(CoScientistError, match=f"PID {holder.pid}"):
        next(iter(run.advance(object(), object())))  # type: ignore[arg-type]
    with pytest.raises(CoScientistError, match=f"PID {holder.pid}"):
        run.save_decisions(ReviewDecisions())


def test_the_lock_is_released_when_its_holder_ends(
    run: ResearchRun, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)
    with run.lock():
        assert run.lock_file.read_text().strip() == str(os.getpid())


def test_the_lock_is_reentrant_in_one_process(run: ResearchRun) -> None:
    # `cosci review --resume` holds it while saving the decisions and resuming.
    with run.lock(), run.lock():
        assert run.lock_file.read_text().strip() == str(os.getpid())
    other = ResearchRun.open(run.dir)
    with other.lock():
        pass
