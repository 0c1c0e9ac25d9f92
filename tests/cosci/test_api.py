"""The Python API: cosci.research / review / resume / open_result.

The README's example is executed as written; the LLM behind it is the scripted fake of
tests/agents/fakes.py (plumbing only, it proves nothing about answer quality), injected
where the API builds its collaborators. Experiments, reports and models are real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cosci_test_fakes as fakes
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.datasets import load_wine

import cosci
import cosci._api as api
from agents import CoScientistError, ResearchRun
from agents.llm import RecordingLLM
from automl_backend import DataError

README = Path(__file__).parents[2] / "README.md"
QUICK = {
    "rounds": 1,
    "hypotheses_per_round": 2,
    "children_per_round": 0,
    "trials_per_experiment": 2,
    "folds": 3,
    "fill_time_budget": False,
}


@pytest.fixture
def fake_collaborators(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The scripted fake LLM and hashed embeddings in place of the settings' ones."""
    built: list[str] = []

    def collaborators(run: ResearchRun, llm: Any, memory: Any, embed: Any) -> tuple[Any, Any]:
        built.append(str(run.dir))
        fake = fakes.ScriptedFakeLLM(["knn", "logistic"])
        return RecordingLLM(fake, run.llm_log), run.toolbox(None, fakes.hash_embed)

    monkeypatch.setattr(api, "_collaborators", collaborators)
    return built


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- api-example.*?-->\n```python\n(.*?)```\n<!-- /api-example -->", text, re.S
    )
    assert found, "README.md lost its executed Python API example"
    return found.group(1)


@pytest.mark.slow
def test_readme_example_runs(
    fake_collaborators: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    result = namespace["result"]
    assert fake_collaborators == ["cosci-runs/api-example"]
    assert isinstance(result, cosci.ResearchResult) and result.status == "finished"
    assert result.answer is not None and result.answer.sentence
    assert result.report_path == Path("cosci-runs/api-example/report.md")
    assert result.report_path.is_file()
    ranking = result.ranking
    assert list(ranking.index) == [r.id for r in result.results.ranking]
    assert ranking.loc[result.results.best_hypothesis, "status"] == "tested"
    on_disk = json.loads((tmp_path / "cosci-runs/api-example/results.json").read_text())
    assert on_disk["best_hypothesis"] == result.results.best_hypothesis
    assert [h.id for h in result.hypotheses] == [h["id"] for h in on_disk["hypotheses"]]
    proba = result.best_model.predict_proba(namespace["rows"])
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(result.best_model.predict(namespace["rows"])) <= {0, 1}


def test_polars_frame_pause_review_resume(fake_collaborators: list[str], tmp_path: Path) -> None:
    wine = load_wine(as_frame=True).frame
    frame = pl.from_pandas(wine.rename(columns={"target": "cultivar"}))
    out = tmp_path / "run"
    paused = cosci.research("Which family wins?", frame, target="cultivar", out=out,
                            use_memory=False, **QUICK)  # fmt: skip
    assert paused.status == "waiting_for_review" and paused.pending_review == ["H1", "H2"]
    assert paused.report_path is None and paused.best_model is None
    # The frame is kept in the run directory, and the run reads it from there.
    config = json.loads((out / "run.json").read_text())
    assert config["data"] == str((out / api.DATA_FILE).resolve())
    assert pd.read_parquet(out / api.DATA_FILE).equals(frame.to_pandas())

    decided = cosci.review(
        out,
        approve=["H1"],
        reject={"H2": "not today"},
        add=[{"statement": "Random forests are enough.", "families": ["random_forest"]}],
        notes={"H1": "Watch the scaling."},
    )
    assert decided.status == "waiting_for_review"
    assert (out / "reviews" / "pending.json").is_file()
    done = cosci.resume(out)
    assert done.status == "finished" and done.report_path is not None
    statuses = dict(zip(done.ranking.index, done.ranking["status"], strict=True))
    assert statuses["H2"] == "rejected" and statuses["H1"] == "tested"
    assert statuses["H3"] == "tested"  # the person's hypothesis
    assert any(r.text == "Watch the scaling." for r in done.reviews)
    rows = frame.drop("cultivar").head(4)
    assert done.best_model is not None
    assert done.best_model.predict_proba(rows).shape == (4, 3)
    assert list(done.best_model.predict(rows)) == list(done.best_model.predict(rows.to_pandas()))
    # A finished run is returned as written; open_result reads any run directory.
    again = cosci.resume(out)
    assert again.results == done.results
    assert cosci.open_result(out).results.best_model_holdout == done.results.best_model_holdout


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda out: cosci.research("  ", "sklearn:iris", out=out), "goal is empty"),
        (lambda out: cosci.research("Q?", object(), out=out), "must be a pandas or polars"),
        (lambda out: cosci.research("Q?", "sklearn:iris", out=out, rouns=2), "unknown option rouns"),
        (lambda out: cosci.research("Q?", "sklearn:iris", out=out, folds=1), "invalid option folds"),
        (lambda out: cosci.research("Q?", "sklearn:iris", out=out, metric="rmse"), "does not apply"),
        (lambda out: cosci.research("Q?", pd.DataFrame({"a": [1, 2]}), out=out), "no target column"),
        (lambda out: cosci.resume(out), "not a co-scientist run directory"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_error_and_writes_nothing(
    call: Any, message: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with pytest.raises((CoScientistError, DataError)) as raised:
        call(out)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert getattr(raised.value, "user_facing", False)
    assert not out.exists()
