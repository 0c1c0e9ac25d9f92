"""Limits on what a person asks for: run time budgets, and the compute of an edited spec."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from agents import (
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    ResearchRun,
    ReviewDecisions,
)
from agents._human import check_compute, check_decisions
from automl_backend import parse_spec
from cosci._review_web import check_form_decisions

Cli = Callable[..., subprocess.CompletedProcess[str]]
OneErrorLine = Callable[[subprocess.CompletedProcess[str]], str]
GREEDY = {"models": [{"family": "knn"}], "budget": {"n_jobs": 256, "threads_per_trial": 256}}


# ---------------------------------------------------------------- cosci run time budgets


@pytest.mark.parametrize(
    ("option", "value"),
    [("--time-budget", "1e15"), ("--time-budget", "inf"), ("--experiment-budget", "1e15")],
)
def test_run_time_budgets_are_capped_at_a_week(
    tmp_path: Path, option: str, value: str, cli: Cli, one_error_line: OneErrorLine
) -> None:
    out = tmp_path / "run"
    args = ["run", "Which family wins?", "--data", "sklearn:iris", option, value]
    line = one_error_line(cli(*args, "--out", str(out)))
    assert option in line and "at most 604800 (7 days)" in line
    assert not out.exists()


# ---------------------------------------------------------------- edited specs


@pytest.fixture
def paused(paused_template: Path, tmp_path: Path) -> ResearchRun:
    return ResearchRun.open(shutil.copytree(paused_template, tmp_path / "run"))


def test_check_compute_bounds_threads_by_the_cores() -> None:
    fits = parse_spec(
        {"models": [{"family": "knn"}], "budget": {"n_jobs": 2, "threads_per_trial": 2}}
    )
    check_compute(fits, "H1", cores=4)
    with pytest.raises(CoScientistError, match=r"H1: .*2 x .*3 = 6 threads.* 4 cores"):
        check_compute(
            parse_spec({**GREEDY, "budget": {"n_jobs": 2, "threads_per_trial": 3}}), "H1", cores=4
        )
    with pytest.raises(CoScientistError, match=f"has {os.cpu_count()} cores"):
        check_compute(parse_spec(GREEDY), "H1")


def test_an_edit_asking_for_256_by_256_threads_is_refused(paused: ResearchRun) -> None:
    state = paused.state()
    waiting = paused.pending_review().hypothesis_ids  # type: ignore[union-attr]
    greedy = parse_spec(GREEDY)
    for decisions, where in (
        (
            ReviewDecisions(decisions=[HumanDecision(id=waiting[0], action="edit", spec=greedy)]),
            waiting[0],
        ),
        (
            ReviewDecisions(add=[HumanHypothesis(statement="More threads.", spec=greedy)]),
            "your hypothesis 1",
        ),
    ):
        with pytest.raises(CoScientistError, match=f"{where}: .*256 x .*256 = 65536 threads"):
            check_decisions(
                decisions, waiting=waiting, known=state["hypotheses"], task=state["plan"].task
            )
        # The review page's dry run of applying them, which the graph's review node also runs.
        with pytest.raises(CoScientistError, match="65536 threads"):
            check_form_decisions(decisions, state, waiting)


def test_cosci_review_refuses_the_edit_in_one_line(
    paused: ResearchRun, tmp_path: Path, cli: Cli, one_error_line: OneErrorLine
) -> None:
    spec_file = tmp_path / "greedy.json"
    spec_file.write_text(json.dumps(GREEDY), encoding="utf-8")
    hid = paused.pending_review().hypothesis_ids[0]  # type: ignore[union-attr]
    line = one_error_line(cli("review", str(paused.dir), "--edit-spec", f"{hid}={spec_file}"))
    assert "65536 threads" in line and "cores" in line
    assert not paused.pending_decisions.exists()
