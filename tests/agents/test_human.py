"""Applying a person's review decisions (pure: no graph, no model)."""

from pathlib import Path

import pytest

from agents import (
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    HumanReviewNote,
    ReviewDecisions,
)
from agents._human import apply_decisions, check_decisions, load_decisions
from agents._messages import Budgets, Hypothesis, Prediction, ResearchPlan
from agents._specs import build_spec
from automl_backend import ExperimentSpec


@pytest.fixture
def plan() -> ResearchPlan:
    budgets = Budgets(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=30,
        folds=3,
        seed=1,
    )
    return ResearchPlan(
        goal="g", task="binary", metric="accuracy", objective="o", dataset="d", budgets=budgets
    )


def _proposals(plan: ResearchPlan) -> dict[str, Hypothesis]:
    return {
        hid: Hypothesis(
            id=hid,
            round=1,
            origin="generation",
            statement=f"{family} wins",
            prediction=Prediction(direction="better", min_effect_points=1.0, control="c"),
            experiment=build_spec(plan, [family]),
        )
        for hid, family in (("H1", "knn"), ("H2", "svm"))
    }


def _apply(decisions: ReviewDecisions, plan: ResearchPlan) -> dict:
    return apply_decisions(
        decisions,
        hypotheses=_proposals(plan),
        waiting=["H1", "H2"],
        plan=plan,
        round_=1,
        embed=lambda hs: [[1.0, 0.0] for _ in hs],
    )


def test_edit_with_a_full_spec_keeps_its_space_but_the_runs_settings(plan: ResearchPlan) -> None:
    own = ExperimentSpec.model_validate({"models": [{"family": "logistic"}], "seed": 5})
    updates = _apply(
        ReviewDecisions(
            decisions=[HumanDecision(id="H1", action="edit", spec=own)], others="reject"
        ),
        plan,
    )
    h1, h2 = updates["hypotheses"]["H1"], updates["hypotheses"]["H2"]
    assert h1.status == "approved" and h1.edited_by_human and h1.families == ["logistic"]
    assert h1.experiment.seed == 1 and h1.experiment.name == "H1"
    assert h2.status == "rejected"  # others="reject"
    assert set(updates["elo"]) == {"H1"}


def test_added_hypotheses_get_the_next_ids_and_compete(plan: ResearchPlan) -> None:
    updates = _apply(
        ReviewDecisions(
            add=[HumanHypothesis(statement="MLPs win", families=["mlp"], expected_gain_points=0)],
            reviews=[HumanReviewNote(id="H2", text="SVMs are slow here")],
        ),
        plan,
    )
    added = updates["hypotheses"]["H3"]
    assert added.origin == "human" and added.status == "approved"
    assert added.prediction.direction == "not_worse"
    assert updates["elo"]["H3"] == 1200.0 and "H3" in updates["embeddings"]
    assert any(r.text == "SVMs are slow here" for r in updates["reviews"])


def test_decisions_that_cannot_apply_are_clear_errors(plan: ResearchPlan) -> None:
    with pytest.raises(CoScientistError, match="not waiting for review"):
        _apply(ReviewDecisions(decisions=[HumanDecision(id="H9", action="approve")]), plan)
    with pytest.raises(CoScientistError, match="does not exist"):
        _apply(ReviewDecisions(reviews=[HumanReviewNote(id="H9", text="x")]), plan)
    with pytest.raises(CoScientistError, match="H3"):
        _apply(ReviewDecisions(add=[HumanHypothesis(statement="s", families=["ridge"])]), plan)
    with pytest.raises(ValueError, match="changes nothing"):
        HumanDecision(id="H1", action="edit")


def test_decisions_file_and_early_checks(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("decisions:\n  - {id: H1, action: reject, reason: slow}\nothers: approve\n")
    decisions = load_decisions(path)
    assert decisions.decisions[0].reason == "slow"
    check_decisions(decisions, waiting=["H1"], known=["H1"], task="binary")
    path.write_text("decisions:\n  - {id: H1, action: maybe}\n")
    with pytest.raises(CoScientistError, match="action"):
        load_decisions(path)
    bad = ReviewDecisions(add=[HumanHypothesis(statement="s", families=["xgboost"])])
    with pytest.raises(CoScientistError, match="unknown model families"):
        check_decisions(bad, waiting=["H1"], known=["H1"], task="binary")
