"""Fixtures shared by the fault tests: the `cosci` console script, its one-line errors,
the scripted fakes, tiny run budgets, a new run and a run paused for review.

Test modules are imported with ``--import-mode=importlib``, so they cannot import from
here; each helper is a fixture that returns it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from agents import ResearchRun, RunConfig, RunContext

COSCI = Path(sys.executable).with_name("cosci")
UNREACHABLE_LLM = {
    "COSCI_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    "COSCI_LLM_MODEL": "none",
    "COSCI_LLM_MAX_RETRIES": "0",
    "OMP_NUM_THREADS": "1",
}
"""If a command went ahead instead of stopping, it must fail fast: no model, no retries."""

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _run_cosci(
    *args: str, env: Mapping[str, str] = UNREACHABLE_LLM
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COSCI), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:], done.stdout[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="session")
def cli() -> Cli:
    """``cli(*args, env=UNREACHABLE_LLM)``: `cosci ARGS` in a subprocess, with ``env``
    laid over this process's environment (by default an LLM endpoint that cannot answer)."""
    return _run_cosci


@pytest.fixture(scope="session")
def one_error_line() -> Callable[[subprocess.CompletedProcess[str]], str]:
    """``one_error_line(done)``: checks exit 2, no traceback and one stderr line; returns it."""
    return _one_error_line


@pytest.fixture
def run(tmp_path: Path) -> ResearchRun:
    """A new run (nothing done yet) in ``tmp_path / "run"``."""
    config = RunConfig(goal="Which family wins?", data="sklearn:iris", context=RunContext())
    return ResearchRun.create(tmp_path / "run", config)


@pytest.fixture(scope="session")
def tiny_context() -> RunContext:
    """Tiny budgets: one round of two hypotheses, two trials each, no time rule, and a pause
    for review (``model_copy(update={"auto_approve": True})`` runs through)."""
    return RunContext(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=60,
        time_budget_s=None,
        folds=3,
    )


@pytest.fixture(scope="module")
def paused_template(
    tmp_path_factory: pytest.TempPathFactory, fakes: ModuleType, tiny_context: RunContext
) -> Path:
    """A run paused for review (scripted fake LLM, tiny budgets); copy it before changing it."""
    run_dir = tmp_path_factory.mktemp("paused") / "run"
    run = fakes.start_run(run_dir, fakes.ScriptedFakeLLM(["knn", "extra_trees"]), tiny_context)
    assert run.pending_review() is not None
    return run_dir
