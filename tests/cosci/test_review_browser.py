"""The review page in a real browser: `cosci review RUN --web` driven in headless Chromium.

A person opens the printed URL, approves H1 with an edited spec, rejects H2, adds a full
hypothesis of their own (factor, levels, both arms, prediction), sees a refused spec come
back with everything they typed kept, saves, and the run resumes with those decisions.
A screenshot of each state is kept under the test's tmp folder (``screenshots/``).

Chromium is Debian's package (``make install`` installs it when missing); Playwright
only drives it and never downloads a browser. The paused run and the resumed rounds use
the scripted fake LLM (plumbing only, no language model).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cosci_test_fakes as fakes
import pytest
from typer.testing import CliRunner

import cosci._live_run as live_run
from agents import ResearchRun, ReviewDecisions, RunContext
from agents.llm import RecordingLLM
from cosci.cli import app

CHROMIUM = Path(os.environ.get("COSCI_TEST_CHROMIUM", "/usr/bin/chromium"))
COSCI = Path(sys.executable).with_name("cosci")

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright's Python client is not installed (dev extra)"
)
if not CHROMIUM.is_file():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (make install does it as "
        "root or through sudo); this machine could not install it",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def paused_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run paused for review of H1 (knn) and H2 (extra_trees)."""
    context = RunContext(rounds=1, hypotheses_per_round=2, children_per_round=0,
                         trials_per_experiment=2, experiment_time_s=60, time_budget_s=None,
                         folds=3)  # fmt: skip
    run_dir = tmp_path_factory.mktemp("paused") / "run"
    run = fakes.start_run(run_dir, fakes.ScriptedFakeLLM(["knn", "extra_trees"]), context)
    assert run.pending_review() is not None
    return run_dir


@pytest.fixture
def review_server(paused_template: Path, tmp_path: Path) -> Iterator[tuple[Path, str, Any]]:
    """`cosci review RUN --web --no-browser` in its own process: (run dir, URL, process)."""
    run_dir = Path(shutil.copytree(paused_template, tmp_path / "run"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    process = subprocess.Popen(
        [str(COSCI), "review", str(run_dir), "--web", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    url = None
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Review page: "):
            url = line.removeprefix("Review page: ").strip()
            break
    assert url is not None, process.stderr.read() if process.stderr else "no URL printed"
    try:
        yield run_dir, url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def _shot(page: Any, folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{name}: an empty screenshot"
    return path


def test_a_person_reviews_in_chromium_and_the_run_resumes(
    review_server: tuple[Path, str, Any],
    browser_page: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir, url, process = review_server
    page, shots = browser_page, tmp_path / "screenshots"

    # Without the token: refused.
    response = page.goto(url.split("?")[0])
    assert response is not None and response.status == 403
    assert "Forbidden" in page.inner_text("h1")
    _shot(page, shots, "01-no-token")

    # With it: the proposals, each with its decision fields.
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert page.inner_text("h1") == "cosci review: round 1"
    assert page.locator("#H1").is_visible() and page.locator("#H2").is_visible()
    _shot(page, shots, "02-opened")

    # Approve H1 with an edited spec that the registry refuses; reject H2; add one.
    page.check('input[name="action-H1"][value="approve"]')
    page.locator("#H1 details summary").click()
    spec = json.loads(page.input_value('textarea[name="spec-H1"]'))
    bad = {**spec, "models": [{"family": "quantum_forest", "params": {}}]}
    page.fill('textarea[name="spec-H1"]', json.dumps(bad, indent=2))
    page.check('input[name="action-H2"][value="reject"]')
    page.fill('input[name="reason-H2"]', "too slow for what it tells us")
    own = {
        "statement": "Logistic regression beats kNN here by two points.",
        "rationale": "The classes look linearly separable.",
        "treatment-label": "logistic regression",
        "control-label": "k nearest neighbours",
    }
    page.fill('textarea[name="add-statement-1"]', own["statement"])
    page.fill('input[name="add-rationale-1"]', own["rationale"])
    page.select_option('select[name="add-factor-1"]', "family")
    page.fill('input[name="add-treatment-label-1"]', own["treatment-label"])
    page.fill('input[name="add-treatment-families-1"]', "logistic")
    page.fill('input[name="add-control-label-1"]', own["control-label"])
    page.fill('input[name="add-control-families-1"]', "knn")
    page.select_option('select[name="add-direction-1"]', "better")
    page.fill('input[name="add-gain-1"]', "2")
    page.fill('textarea[name="note-H1"]', "Watch the scaling.")
    _shot(page, shots, "03-filled")
    page.click('button[type="submit"]')

    # Refused: the error is shown and everything typed is still there.
    error = page.inner_text("p.error")
    assert "invalid spec of H1: models.0.family" in error, error
    assert json.loads(page.input_value('textarea[name="spec-H1"]')) == bad
    assert page.is_checked('input[name="action-H2"][value="reject"]')
    assert page.input_value('input[name="reason-H2"]') == "too slow for what it tells us"
    assert page.input_value('textarea[name="add-statement-1"]') == own["statement"]
    assert page.input_value('input[name="add-control-families-1"]') == "knn"
    assert page.input_value('select[name="add-direction-1"]') == "better"
    assert page.input_value('textarea[name="note-H1"]') == "Watch the scaling."
    assert not (run_dir / "reviews" / "pending.json").exists()
    _shot(page, shots, "04-refused-input-kept")

    # Mend the spec (standard scaling for kNN) and save.
    good = {**spec, "preprocessing": {**spec["preprocessing"], "scaling": ["standard"]}}
    page.locator("#H1 details").evaluate("d => d.open = true")
    page.fill('textarea[name="spec-H1"]', json.dumps(good, indent=2))
    page.click('button[type="submit"]')
    assert page.inner_text("h1") == "Decisions saved"
    assert f"cosci resume {run_dir}" in page.inner_text("body")
    _shot(page, shots, "05-saved")
    assert process.wait(timeout=60) == 0, "the page's server did not stop after saving"

    saved = ReviewDecisions.model_validate_json((run_dir / "reviews" / "pending.json").read_text())
    by_id = {d.id: d for d in saved.decisions}
    assert by_id["H1"].action == "edit" and by_id["H1"].spec is not None
    assert by_id["H1"].spec.preprocessing.scaling == ["standard"]
    assert by_id["H2"].action == "reject" and by_id["H2"].reason == "too slow for what it tells us"
    added = saved.add[0]
    assert (added.factor, added.families, added.control_families) == (
        "family",
        ["logistic"],
        ["knn"],
    )
    assert added.direction == "better" and added.expected_gain_points == 2

    # Resume: the person's decisions shape the run.
    monkeypatch.setattr(
        live_run,
        "make_llm",
        lambda run: RecordingLLM(fakes.ScriptedFakeLLM(["knn", "extra_trees"]), run.llm_log),
    )
    monkeypatch.setattr(live_run, "make_toolbox", lambda run: run.toolbox(None, fakes.hash_embed))
    result = CliRunner().invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    hypotheses = ResearchRun.open(run_dir).state()["hypotheses"]
    assert hypotheses["H1"].edited_by_human and hypotheses["H1"].status == "tested"
    assert hypotheses["H2"].status == "rejected"
    h3 = hypotheses["H3"]
    assert h3.origin == "human" and h3.status == "tested" and h3.chosen_by == "person"
    assert (
        h3.control_label == "k nearest neighbours" and h3.treatment_label == own["treatment-label"]
    )
    assert h3.control is not None and [m.family for m in h3.control.models] == ["knn"]
    assert h3.prediction.direction == "better" and h3.prediction.min_effect_points == 2
    assert h3.verdict is not None
    assert sorted(p.name for p in shots.iterdir()) == [
        "01-no-token.png", "02-opened.png", "03-filled.png", "04-refused-input-kept.png",
        "05-saved.png",
    ]  # fmt: skip
