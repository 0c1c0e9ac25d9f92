"""Trial processes under faults: a killed parent, a memory hog, run folders of killed runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_backend import ExperimentSpec, load_dataset, parse_spec, run_spec
from automl_backend._hpo import executor as executor_module
from automl_backend._hpo import run as run_module
from cosci.cli import app

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and relies on fork"
)

# A test-only trial: it sleeps, then sends more than a pipe holds, so without a reader it
# blocks for ever (what a real trial's fold predictions do when the parent is gone).
_SLOW_TRIAL_CLI = """
import sys, time
from automl_backend._hpo import executor

def slow_trial(send, problem, config, measures, deadline=None):
    time.sleep(3)
    send(("blob", b"x" * (8 << 20)))

executor.trial_child = slow_trial
from cosci.cli import main
sys.argv = ["cosci", "automl", *sys.argv[1:]]
main()
"""

# A parent that arms no parent-death signal, so only the watchdog thread can help.
_WATCHDOG_PARENT = """
import time
from automl_backend._hpo import worker

worker.set_parent_death_signal = lambda: False

def sleeper(send):
    time.sleep(3600)

task = worker.ChildTask.start(sleeper, (), None)
print(task.process.pid, flush=True)
time.sleep(3600)
"""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descendants(root: int) -> set[int]:
    parents = {int(p.name): _parent_of(int(p.name)) for p in Path("/proc").iterdir()
               if p.name.isdigit()}  # fmt: skip
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(predicate: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Pids of processes a test starts; whatever still lives at the end is killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _csv(path: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (x > 0).astype(int)}).to_csv(
        path, index=False
    )
    return path


def test_killing_cosci_automl_mid_trial_leaves_no_trial_alive(
    tmp_path: Path, started: list[int]
) -> None:
    command = [sys.executable, "-c", _SLOW_TRIAL_CLI, "--data", str(_csv(tmp_path / "d.csv")),
               "--target", "y", "--trials", "4", "--n-jobs", "2", "--out", str(tmp_path / "run")]  # fmt: skip
    parent = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    started.append(parent.pid)
    children: set[int] = set()

    def trials_running() -> bool:
        children.update(_descendants(parent.pid))
        return len(children) >= 2

    assert _wait_for(trials_running, 60), "the trials never started"
    started.extend(children)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    survived = lambda: {pid for pid in children if _alive(pid)}  # noqa: E731
    assert _wait_for(lambda: not survived(), 8), f"trial processes outlived cosci: {survived()}"


def test_watchdog_ends_the_child_where_no_parent_death_signal_exists(
    started: list[int],
) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _WATCHDOG_PARENT], start_new_session=True,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    started.append(parent.pid)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    started.append(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _wait_for(lambda: not _alive(child), 5), "the child outlived its parent"


def _hungry_knn(send: Any, problem: Any, config: Any, measures: tuple[str, ...],
                deadline: float | None = None) -> None:  # fmt: skip
    """knn trials reserve 8 GiB of address space first (never touched, so never real RAM)."""
    if config.family == "knn":
        hog = np.empty(8 << 30, dtype=np.uint8)
        del hog
    _real_trial_child(send, problem, config, measures, deadline)


_real_trial_child = executor_module.trial_child


def test_trial_past_its_memory_limit_fails_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "trial_child", _hungry_knn)
    # Without the portfolio the 4 trials are the family defaults, knn among them.
    monkeypatch.setattr(run_module, "portfolio_configs", lambda *args: [])
    data = _csv(tmp_path / "d.csv")
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["automl", "--data", str(data), "--target", "y", "--trials", "4",
         "--trial-memory", "256", "--out", str(run_dir)],
        catch_exceptions=False,
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    board = pd.read_csv(run_dir / "leaderboard.csv")
    knn = board[board["family"] == "knn"]
    assert len(knn) and set(knn["state"]) == {"failed"}
    assert set(knn["reason"]) == {"out of memory: limit 256 MB"}
    assert (board["state"] == "complete").any()


def test_trial_memory_defaults_to_a_share_of_the_machine() -> None:
    from automl_backend._hpo.worker import machine_memory_mb, trial_memory_limit_mb

    total = machine_memory_mb()
    assert total is not None and total > 0
    assert trial_memory_limit_mb(None, 4) == max(total // 4, 256)
    assert trial_memory_limit_mb(1000, 4) == 1000
    assert parse_spec({"budget": {"trial_memory_mb": 512}}).budget.trial_memory_mb == 512
    with pytest.raises(ValueError, match="trial_memory_mb"):
        parse_spec({"budget": {"trial_memory_mb": 1}})


def test_partial_folders_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".old.partial-{dead.pid}"
    live = tmp_path / f".busy.partial-{os.getpid()}"
    unrelated = tmp_path / ".notes.partial-abc"
    for folder in (stale, live, unrelated):
        folder.mkdir()
        (folder / "study.db").write_text("x")
    frame = pd.read_csv(_csv(tmp_path / "d.csv"))
    result = run_spec(ExperimentSpec.for_families(["knn"], n_trials=1),
                      load_dataset(frame, "y"), out_dir=tmp_path / "run")  # fmt: skip
    assert result.ok
    assert not stale.exists()
    assert live.is_dir() and unrelated.is_dir()
