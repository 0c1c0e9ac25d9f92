"""The co-scientist with the real embedded model (SmolLM2-135M), tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents import RunContext


@pytest.mark.slow
def test_real_embedded_model_runs_a_round_end_to_end(fakes: Any, tmp_path: Path) -> None:
    from cosci._llm_factory import build_llm
    from cosci._settings import load_settings

    run_dir = tmp_path / "run"
    llm = build_llm(load_settings(), log_path=run_dir / "llm_calls.jsonl")
    context = RunContext(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=60,
        time_budget_s=None,
        folds=3,
        auto_approve=True,
        llm_matches_per_round=1,
    )
    run = fakes.start_run(
        run_dir,
        llm,
        context,
        goal="Which model family predicts malignancy best, and why?",
        embed=None,  # the real MiniLM embeddings
    )
    assert run.status() == "finished"
    state = run.state()
    assert state["plan"].metric in ("accuracy", "balanced_accuracy", "roc_auc", "f1_macro")
    tested = [h for h in state["hypotheses"].values() if h.status == "tested"]
    assert tested and all(h.result.fold_scores for h in tested)
    assert any(m.method == "measured" for m in state["matches"]) or len(tested) < 2
    calls = [json.loads(line) for line in (run_dir / "llm_calls.jsonl").read_text().splitlines()]
    assert len(calls) >= 5
    # The model's structured answers were used, not only the deterministic fallbacks.
    assert sum(1 for c in calls if c.get("parsed")) >= 3
    assert state["overview"]
