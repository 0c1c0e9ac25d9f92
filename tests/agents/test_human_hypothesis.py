"""A person's full hypothesis: factor, levels, both arms, and the registered prediction."""

from __future__ import annotations

import pytest

from agents import CoScientistError, HumanHypothesis, ReviewDecisions
from agents._human import apply_decisions, check_decisions
from agents._messages import Budgets, ResearchPlan
from agents._specs import build_spec


@pytest.fixture
def plan() -> ResearchPlan:
    budgets = Budgets(rounds=1, hypotheses_per_round=1, children_per_round=0,
                      trials_per_experiment=2, experiment_time_s=30, folds=3, seed=1)  # fmt: skip
    return ResearchPlan(
        goal="g", task="binary", metric="accuracy", objective="o", dataset="d", budgets=budgets
    )


def _add(plan: ResearchPlan, own: HumanHypothesis) -> dict:
    return apply_decisions(
        ReviewDecisions(add=[own]), hypotheses={}, waiting=[], plan=plan, round_=1,
        embed=lambda hs: [[1.0] for _ in hs],
    )  # fmt: skip


def test_a_scaling_hypothesis_with_both_arms_and_a_not_worse_prediction(
    plan: ResearchPlan,
) -> None:
    control = build_spec(plan, ["knn"]).model_copy(deep=True)
    control.preprocessing.scaling = ["none"]
    treatment = build_spec(plan, ["knn"]).model_copy(deep=True)
    treatment.preprocessing.scaling = ["standard"]
    own = HumanHypothesis(
        statement="Standard scaling does not hurt kNN.", factor="scaling",
        spec=treatment, control_spec=control, control_label="no scaling",
        treatment_label="standard scaling", direction="not_worse", expected_gain_points=0.5,
    )  # fmt: skip
    added = _add(plan, own)["hypotheses"]["H1"]
    assert added.factor == "scaling" and added.chosen_by == "person" and added.origin == "human"
    assert added.control_label == "no scaling" and added.treatment_label == "standard scaling"
    assert added.control is not None and added.control.preprocessing.scaling == ["none"]
    assert added.experiment.preprocessing.scaling == ["standard"]
    # A tolerance below the run's ROPE is raised to it: narrower cannot be told from noise.
    assert added.prediction.direction == "not_worse"
    assert added.prediction.min_effect_points == plan.rope_points
    assert added.prediction.control == "no scaling"


def test_family_arms_by_name_and_the_default_control(plan: ResearchPlan) -> None:
    named = _add(plan, HumanHypothesis(statement="SVM beats kNN.", families=["svm"],
                                       control_families=["knn"], expected_gain_points=2))  # fmt: skip
    h = named["hypotheses"]["H1"]
    assert h.families == ["svm"] and [m.family for m in h.control.models] == ["knn"]
    assert h.control_label == "knn" and h.prediction.direction == "better"
    assert h.prediction.min_effect_points == 2
    default = _add(plan, HumanHypothesis(statement="SVM wins.", families=["svm"]))
    assert default["hypotheses"]["H1"].control_label == f"a tuned {plan.reference_family}"


def test_arms_that_cannot_make_a_hypothesis_are_refused(plan: ResearchPlan) -> None:
    with pytest.raises(CoScientistError, match="same experiment"):
        _add(plan, HumanHypothesis(statement="s", families=["knn"], control_families=["knn"]))
    with pytest.raises(ValueError, match="not both"):
        HumanHypothesis(statement="s", families=["knn"], control_families=["svm"],
                        control_spec=build_spec(plan, ["svm"]))  # fmt: skip
    bad = ReviewDecisions(add=[HumanHypothesis(statement="s", families=["knn"],
                                               control_families=["xgboost"])])  # fmt: skip
    with pytest.raises(CoScientistError, match="unknown model families"):
        check_decisions(bad, waiting=[], known=[], task="binary")
