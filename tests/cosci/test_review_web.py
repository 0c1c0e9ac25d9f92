"""`cosci review RUN --web`: form -> decisions, escaping, and a real loopback server.

The paused runs come from the scripted fake LLM (plumbing only, no language model).
"""

from __future__ import annotations

import _thread
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import cosci_test_fakes as fakes
import pytest
from typer.testing import CliRunner

import cosci._live_run as live_run
from agents import (
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    HumanReviewNote,
    ResearchRun,
    ReviewDecisions,
    ReviewRequest,
    RunConfig,
    RunContext,
)
from agents._messages import Budgets, Hypothesis, Prediction, ResearchPlan
from agents._specs import build_spec
from agents.llm import RecordingLLM
from automl_backend import BackendError
from cosci._review_page import render_review_page
from cosci._review_web import (
    ReviewSession,
    check_form_decisions,
    decisions_from_form,
    review_url,
    start_server,
)
from cosci.cli import app

COSCI = Path(sys.executable).with_name("cosci")


class _FormDefaults(HTMLParser):
    """What a browser would submit for a page left untouched (text, textareas, radios)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "input" and a.get("type") == "text":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio" and "checked" in a:
            self.fields[a["name"]] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_defaults(page: str) -> dict[str, str]:
    parser = _FormDefaults()
    parser.feed(page)
    return parser.fields


# ---------------------------------------------------------------- pure: no run, no server


@pytest.fixture
def state() -> dict[str, Any]:
    budgets = Budgets(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=30,
        folds=3,
        seed=1,
    )
    plan = ResearchPlan(
        goal="g", task="binary", metric="accuracy", objective="o", dataset="d", budgets=budgets
    )
    hypotheses = {
        hid: Hypothesis(
            id=hid,
            round=1,
            origin="generation",
            statement=statement,
            prediction=Prediction(direction="better", min_effect_points=1.0, control="c"),
            experiment=build_spec(plan, [family], name=hid),
        )
        for hid, family, statement in (
            ("H1", "knn", "k-NN wins"),
            ("H2", "svm", "SVMs win <script>alert(1)</script></textarea>"),
        )
    }
    return {"goal": "Which family wins?", "plan": plan, "hypotheses": hypotheses, "reviews": []}


WAITING = ["H1", "H2"]


def _defaults(state: dict[str, Any]) -> dict[str, str]:
    page = render_review_page(state, ReviewRequest(round=1, hypothesis_ids=WAITING), action="/")
    return form_defaults(page)


def test_untouched_page_approves_every_proposal(state: dict[str, Any]) -> None:
    form = _defaults(state)
    assert form["action-H1"] == "approve" and form["statement-H2"].startswith("SVMs win <script>")
    decisions = decisions_from_form(form, state["hypotheses"], WAITING)
    assert decisions == ReviewDecisions(
        decisions=[
            HumanDecision(id="H1", action="approve"),
            HumanDecision(id="H2", action="approve"),
        ]
    )
    check_form_decisions(decisions, state, WAITING)


def test_form_to_decisions_for_every_kind_of_decision(state: dict[str, Any]) -> None:
    form = _defaults(state)
    spec = json.loads(form["spec-H1"])
    spec["models"] = [{"family": "logistic", "params": {}}]
    form.update(
        {
            "statement-H1": "  Logistic regression\r\nwins  ",
            "spec-H1": json.dumps(spec),
            "action-H2": "reject",
            "reason-H2": "too slow",
            "families-H2": "ignored, because H2 is rejected",
            "add-statement-1": "Random forests win.",
            "add-families-1": "random_forest, extra_trees",
            "add-rationale-1": "Tabular data.",
            "add-gain-1": "2.5",
            "note-H1": "Watch the scaling.",
        }
    )
    decisions = decisions_from_form(form, state["hypotheses"], WAITING)
    h1, h2 = decisions.decisions
    assert (h1.action, h1.statement, h1.families) == ("edit", "Logistic regression wins", None)
    assert h1.spec is not None and [m.family for m in h1.spec.models] == ["logistic"]
    assert h2 == HumanDecision(id="H2", action="reject", reason="too slow")
    assert decisions.add == [
        HumanHypothesis(
            statement="Random forests win.",
            rationale="Tabular data.",
            families=["random_forest", "extra_trees"],
            expected_gain_points=2.5,
        )
    ]
    assert decisions.reviews == [HumanReviewNote(id="H1", text="Watch the scaling.")]
    check_form_decisions(decisions, state, WAITING)

    form = _defaults(state)
    form["families-H2"] = "svm, logistic"
    (_, h2) = decisions_from_form(form, state["hypotheses"], WAITING).decisions
    assert (h2.action, h2.families, h2.statement, h2.spec) == (
        "edit",
        ["svm", "logistic"],
        None,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spec-H1": "{not json"}, "H1: the spec is not valid JSON"),
        ({"spec-H1": '{"models": [{"family": "warp_drive"}]}'}, "invalid spec of H1"),
        ({"families-H1": " , "}, "H1: name at least one model family"),
        ({"statement-H1": "   "}, "H1: the statement is empty"),
        ({"add-statement-1": "Mine.", "add-families-1": "knn", "add-gain-1": "lots"}, "not a"),
        ({"add-statement-2": "Mine.", "add-families-2": ""}, "your hypothesis 2: name at least"),
        ({"statement-H1": "x" * 600}, "H1: statement"),
    ],
)
def test_input_that_cannot_form_decisions_is_one_line(
    state: dict[str, Any], changes: dict[str, str], message: str
) -> None:
    form = {**_defaults(state), **changes}
    with pytest.raises((CoScientistError, BackendError)) as info:
        decisions_from_form(form, state["hypotheses"], WAITING)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert getattr(info.value, "user_facing", False)


def test_decisions_the_run_would_refuse_fail_the_check(state: dict[str, Any]) -> None:
    cases = [
        ({"families-H1": "xgboost_turbo"}, "unknown model families"),
        ({"note-H7": "no such hypothesis"}, "reviews for unknown hypotheses H7"),
        (
            {"families-H1": "logistic", "spec-H1": '{"models": [{"family": "svm"}]}'},
            "families or spec, not both",
        ),
    ]
    for changes, message in cases:
        form = {**_defaults(state), **changes}
        with pytest.raises(CoScientistError, match=message):
            check_form_decisions(
                decisions_from_form(form, state["hypotheses"], WAITING), state, WAITING
            )


def test_everything_shown_is_escaped(state: dict[str, Any]) -> None:
    request = ReviewRequest(round=1, hypothesis_ids=WAITING)
    page = render_review_page(state, request, action="/?token=a&b")
    assert "<script>" not in page and "</textarea></textarea>" not in page
    assert "SVMs win &lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;" in page
    assert 'action="/?token=a&amp;b"' in page
    typed = {**_defaults(state), "note-H1": '"><script>x()</script>'}
    page = render_review_page(state, request, action="/", form=typed, error="<b>bad</b>")
    assert "<script>" not in page and "<b>bad</b>" not in page and "&lt;b&gt;bad" in page
    assert form_defaults(page)["note-H1"] == '"><script>x()</script>'


# ---------------------------------------------------------------- a real paused run


@pytest.fixture(scope="module")
def paused_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run paused for review of H1 and H2 (scripted fake LLM, tiny budgets)."""
    context = RunContext(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=60,
        time_budget_s=None,
        folds=3,
    )
    run_dir = tmp_path_factory.mktemp("paused") / "run"
    run = fakes.start_run(run_dir, fakes.ScriptedFakeLLM(["knn", "extra_trees"]), context)
    assert run.pending_review() is not None
    return run_dir


@pytest.fixture
def paused(paused_template: Path, tmp_path: Path) -> ResearchRun:
    """A fresh copy of the paused run for each test."""
    return ResearchRun.open(shutil.copytree(paused_template, tmp_path / "run"))


def _request(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_real_server_checks_the_token_refuses_bad_decisions_and_saves_good_ones(
    paused: ResearchRun,
) -> None:
    session = ReviewSession(paused)
    server = start_server(session, 0)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        url = review_url(server)
        base = url.split("?")[0]
        assert _request(base)[0] == 403
        assert _request(base + "?token=guess")[0] == 403
        assert _request(base, {"action-H1": "reject"})[0] == 403
        status, page = _request(url)
        assert status == 200 and "cosci review: round 1" in page
        assert "H1" in page and "H2" in page and "Data set" in page
        form = form_defaults(page)

        bad = {**form, "families-H1": "knn, quantum_forest", "note-H2": "kept after the error"}
        status, page = _request(url, bad)
        assert status == 400 and "error: unknown model families" in page
        assert form_defaults(page)["note-H2"] == "kept after the error"
        assert not paused.pending_decisions.exists()

        good = {
            **form,
            "action-H2": "reject",
            "reason-H2": "not today",
            "add-statement-1": "Logistic regression is all this data needs.",
            "add-families-1": "logistic",
            "note-H1": "Watch the scaling.",
        }
        status, page = _request(url, good)
        assert status == 200 and f"continue with `cosci resume {paused.dir}`" in page
        serving.join(timeout=10)
        assert not serving.is_alive(), "the server keeps running after the decisions were saved"
    finally:
        server.shutdown()
        server.server_close()
    saved = ReviewDecisions.model_validate_json(paused.pending_decisions.read_text())
    assert saved.decisions[1] == HumanDecision(id="H2", action="reject", reason="not today")
    assert saved.add[0].families == ["logistic"] and saved.reviews[0].id == "H1"
    assert session.saved == paused.pending_decisions


def test_cli_web_review_then_resume_continues_the_run(
    paused: ResearchRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "extra_trees"]), run.llm_log),
    )
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))
    answers: list[int] = []

    def browser(url: str) -> bool:
        """Stands in for the person's browser: reads the page, rejects H2, adds one."""

        def person() -> None:
            try:
                status, page = _request(url)
                form = {**form_defaults(page), "action-H2": "reject", "reason-H2": "slow"}
                form |= {
                    "add-statement-1": "A linear model is enough.",
                    "add-families-1": "logistic",
                }
                answers.extend([status, _request(url, form)[0]])
            finally:
                if answers[-1:] != [200]:
                    _thread.interrupt_main()  # nothing saved: stop the server, not the suite

        threading.Thread(target=person, daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    result = CliRunner().invoke(app, ["review", str(paused.dir), "--web", "--resume"])
    assert result.exit_code == 0, result.output
    assert answers == [200, 200]
    assert "Review page: http://127.0.0.1:" in result.output
    assert "Decisions saved" in result.output and "Ranked hypotheses" in result.output
    hypotheses = ResearchRun.open(paused.dir).state()["hypotheses"]
    assert hypotheses["H2"].status == "rejected" and hypotheses["H2"].status_reason == "slow"
    assert hypotheses["H3"].origin == "human" and hypotheses["H3"].status == "tested"


# ---------------------------------------------------------------- error paths, real process


def _default_sigint() -> None:
    # A suite started in the background (`make test &`) inherits an ignored SIGINT, and
    # Python keeps it ignored; the child must get Ctrl-C as a person's terminal sends it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cosci(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [str(COSCI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
    )


def test_port_in_use_and_run_not_waiting_are_one_line_errors(
    paused: ResearchRun, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = _cosci("review", str(paused.dir), "--web", "--no-browser", "--port", port)
        _, stderr = done.communicate(timeout=120)
    assert done.returncode == 2 and "is in use" in stderr, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert not paused.pending_decisions.exists()

    config = RunConfig(goal="g", data="sklearn:breast_cancer", context=RunContext())
    fresh = ResearchRun.create(tmp_path / "fresh", config)
    done = _cosci("review", str(fresh.dir), "--web", "--no-browser")
    _, stderr = done.communicate(timeout=120)
    assert done.returncode == 2 and "not waiting for a review (status: new)" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_ctrl_c_stops_the_page_without_saving(paused: ResearchRun) -> None:
    proc = _cosci("review", str(paused.dir), "--web", "--no-browser")
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Review page: "):
                url = line.split(": ", 1)[1].strip()
                break
        else:
            pytest.fail(f"no URL printed: {proc.communicate()}")
        assert _request(url)[0] == 200
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "nothing was saved" in stdout and "Traceback" not in stderr
    assert not paused.pending_decisions.exists()
    assert paused.status() == "waiting_for_review"


def test_web_does_not_mix_with_decision_flags(paused: ResearchRun) -> None:
    result = CliRunner().invoke(app, ["review", str(paused.dir), "--web", "--approve", "H1"])
    assert result.exit_code != 0 and getattr(result.exception, "user_facing", False)
    assert "--web takes no other decisions" in str(result.exception)
    assert not paused.pending_decisions.exists()
