"""Input the README promises to answer with one `error:` line (exit 2) and no traceback.

Unwritable --out folders, specs nested 200,000 deep, `cosci run` settings that do not
validate, and review-page posts that cannot form decisions (which re-render the page with
the error and what the person typed, instead of dropping the connection).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from agents import ResearchRun
from automl_backend import load_dataset, parse_spec, run_spec
from cosci._review_web import ReviewSession

Cli = Callable[..., subprocess.CompletedProcess[str]]
OneErrorLine = Callable[[subprocess.CompletedProcess[str]], str]
DEEP = 200_000
DEEP_FORM = 100_000
"""Deep enough for any parser, and still under the review server's 1 MiB body limit."""


# ---------------------------------------------------------------- unwritable --out


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A plain file: nothing can be written 'inside' it, whoever runs the tests."""
    path = tmp_path / "a-file"
    path.write_text("not a folder", encoding="utf-8")
    return path


def test_automl_with_an_unwritable_out(
    a_file: Path, cli: Cli, one_error_line: OneErrorLine
) -> None:
    line = one_error_line(
        cli("automl", "--data", "sklearn:iris", "--trials", "2", "--out", str(a_file / "run"))
    )
    assert "--out" in line and str(a_file) in line


def test_run_with_an_unwritable_out(a_file: Path, cli: Cli, one_error_line: OneErrorLine) -> None:
    line = one_error_line(
        cli("run", "Which family wins?", "--data", "sklearn:iris", "--out", str(a_file / "run"))
    )
    assert "cannot create run directory" in line and str(a_file) in line


def test_predict_with_an_unwritable_out(
    a_file: Path, tmp_path: Path, cli: Cli, one_error_line: OneErrorLine
) -> None:
    dataset = load_dataset("sklearn:iris")
    spec = parse_spec({"models": [{"family": "logistic"}], "budget": {"n_trials": 1}})
    run_spec(spec, dataset, out_dir=tmp_path / "model")
    rows = tmp_path / "rows.csv"
    dataset.X.head(5).to_csv(rows, index=False)
    line = one_error_line(
        cli(
            "predict",
            "--model",
            str(tmp_path / "model"),
            "--data",
            str(rows),
            "--out",
            str(a_file / "predictions.csv"),
        )
    )
    assert "--out" in line and str(a_file) in line


# ---------------------------------------------------------------- spec validate


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * DEEP + "]" * DEEP),
        ("deep-object.json", '{"models": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"),
        ("deep.yaml", "[" * DEEP + "]" * DEEP),
    ],
)
def test_spec_validate_of_a_deeply_nested_file(
    tmp_path: Path, name: str, text: str, cli: Cli, one_error_line: OneErrorLine
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    line = one_error_line(cli("spec", "validate", str(path)))
    assert "nested too deeply" in line and str(path) in line


# ---------------------------------------------------------------- cosci run settings


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hypotheses", "51"], "--hypotheses: Input should be less than or equal to 50"),
        (["--rounds", "51"], "--rounds: Input should be less than or equal to 50"),
    ],
)
def test_run_settings_that_do_not_validate_are_one_line(
    tmp_path: Path, args: list[str], message: str, cli: Cli, one_error_line: OneErrorLine
) -> None:
    out = tmp_path / "run"
    line = one_error_line(
        cli("run", "Which family wins?", "--data", "sklearn:iris", *args, "--out", str(out))
    )
    assert message in line and "pydantic" not in line
    assert not out.exists()


# ---------------------------------------------------------------- the review page


@pytest.fixture
def session(paused_template: Path, tmp_path: Path) -> ReviewSession:
    return ReviewSession(ResearchRun.open(shutil.copytree(paused_template, tmp_path / "run")))


def _post(session: ReviewSession, form: dict[str, str]) -> tuple[int, str]:
    return session.handle("POST", f"/?token={session.token}", urlencode(form).encode())


def test_a_form_with_too_many_fields_comes_back_with_the_input_kept(
    session: ReviewSession,
) -> None:
    hid = session.request.hypothesis_ids[0]
    form = {f"x{i}": "" for i in range(2_500)}
    form[f"note-{hid}"] = "kept after the error"
    status, page = _post(session, form)
    assert status == 400 and "error: the form sent 2501 fields" in page
    assert "kept after the error" in page
    assert session.saved is None and not session.run.pending_decisions.exists()


def test_a_deeply_nested_spec_comes_back_with_the_input_kept(session: ReviewSession) -> None:
    hid = session.request.hypothesis_ids[0]
    nested = "[" * DEEP_FORM + "]" * DEEP_FORM
    form = {f"spec-{hid}": nested, f"note-{hid}": "kept after the error"}
    status, page = _post(session, form)
    assert status == 400 and f"error: {hid}: the spec is nested too deeply" in page
    assert "kept after the error" in page and nested in page
    assert session.saved is None
