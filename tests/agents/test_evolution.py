"""Evolution that can lose: a child's claim is against its parent, a reproduction of the
parent gains nothing, and a child repeating an existing arm is rejected before compute."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agents._messages import Budgets, Hypothesis, Prediction, ResearchPlan
from agents._specs import build_spec
from agents.nodes import reflection
from agents.nodes.evolution import make_child
from automl_backend import ExperimentResult, TrialConfig


def _plan() -> ResearchPlan:
    budgets = Budgets(
        rounds=2,
        hypotheses_per_round=2,
        children_per_round=1,
        trials_per_experiment=2,
        experiment_time_s=30,
        folds=3,
        seed=0,
    )
    return ResearchPlan(
        goal="g", task="binary", metric="accuracy", objective="o", dataset="d", budgets=budgets
    )


def _result(config: TrialConfig, folds: list[float]) -> ExperimentResult:
    return ExperimentResult(
        status="ok",
        metric="accuracy",
        best_score=sum(folds) / len(folds),
        fold_scores=folds,
        best_config=config,
    )


def _parent(plan: ResearchPlan) -> Hypothesis:
    best = TrialConfig(family="logistic", params={"C": 3.0})
    return Hypothesis(
        id="H1",
        round=1,
        origin="generation",
        statement="s",
        treatment_label="a tuned logistic",
        control_label="a tuned hist_gradient_boosting",
        prediction=Prediction(direction="better", min_effect_points=1.0, control="c"),
        experiment=build_spec(plan, ["logistic"], name="H1"),
        control=build_spec(plan, ["hist_gradient_boosting"], name="H1-control"),
        status="tested",
        result=_result(best, [0.90, 0.92, 0.91]),
    )


def test_a_child_is_tested_against_its_parent_not_a_baseline() -> None:
    plan = _plan()
    parent = _parent(plan)
    draft = SimpleNamespace(operator="narrow", narrowing=0.5, new_family="knn", rationale="r")
    child = make_child(
        draft, hid="H2", round_=2, parent=parent, other=None, plan=plan, taken=[parent]
    )
    assert child is not None and child.parent_ids == ["H1"]
    assert child.control is not None
    assert child.control.model_dump(exclude={"name"}) == parent.experiment.model_dump(
        exclude={"name"}
    )
    assert "H1" in child.prediction.control and "H1" in child.statement
    assert child.experiment.warm_start == []  # not started from the parent's best config


def test_a_child_reproducing_its_parent_gains_nothing() -> None:
    plan = _plan()
    parent = _parent(plan)
    draft = SimpleNamespace(operator="narrow", narrowing=0.5, new_family="knn", rationale="r")
    child = make_child(
        draft, hid="H2", round_=2, parent=parent, other=None, plan=plan, taken=[parent]
    )
    assert child is not None and parent.result is not None
    # The child's search found exactly the parent's configuration again; fold scores
    # that happen to be higher must not count as an effect.
    same = parent.result.best_config
    assert same is not None
    child = child.model_copy(
        update={
            "status": "tested",
            "result": _result(same, [0.93, 0.95, 0.94]),
            "control_result": parent.result,
        }
    )
    state: dict[str, Any] = {"plan": plan, "hypotheses": {"H2": child}, "reviews": []}
    updates = reflection.observe(state, SimpleNamespace(context=None))  # type: ignore[arg-type]
    judged = updates["hypotheses"]["H2"]
    assert judged.effect.reproduced and judged.effect.points == 0.0
    assert judged.verdict == "refuted" and judged.prediction_held is False


def test_a_child_repeating_an_existing_arm_is_rejected_before_compute() -> None:
    from agents._signature import spec_signature
    from agents._specs import narrowed_spec

    plan = _plan()
    parent = _parent(plan)
    narrowed = narrowed_spec(parent, 0.5)
    assert narrowed is not None
    # Someone already runs exactly the narrowed search (as an arm of another hypothesis).
    other = parent.model_copy(update={"id": "H2", "experiment": narrowed, "status": "approved"})
    draft = SimpleNamespace(operator="narrow", narrowing=0.5, new_family="knn", rationale="r")
    child = make_child(
        draft, hid="H3", round_=2, parent=parent, other=None, plan=plan, taken=[parent, other]
    )
    # The narrow child would repeat H2's arm: it is not made; another operator is used.
    assert child is None or child.operator != "narrow"
    if child is not None:
        assert spec_signature(child.experiment) not in {
            spec_signature(parent.experiment),
            spec_signature(narrowed),
        }


def test_equal_configurations_on_different_data_handling_are_no_reproduction() -> None:
    """A feature transform or a training share is not part of a trial's configuration:
    the same configuration there fits a different model, and its effect counts."""
    plan = _plan()
    control_spec = build_spec(plan, ["logistic"], name="H1-control")
    data = control_spec.model_dump(mode="json")
    data["cv"]["train_fraction"] = 0.5
    from automl_backend import parse_spec

    half = parse_spec(data)
    same = TrialConfig(family="logistic", params={"C": 1.0})
    h = Hypothesis(
        id="H1",
        round=1,
        origin="generation",
        statement="s",
        factor="train_fraction",
        treatment_label="all rows",
        control_label="half the rows",
        prediction=Prediction(direction="better", min_effect_points=1.0, control="c"),
        experiment=control_spec.model_copy(update={"name": "H1"}),
        control=half,
        status="tested",
        result=_result(same, [0.95, 0.96, 0.97]),
        control_result=_result(same, [0.85, 0.86, 0.84]),
    )
    state: dict[str, Any] = {"plan": plan, "hypotheses": {"H1": h}, "reviews": []}
    judged = reflection.observe(state, SimpleNamespace(context=None))["hypotheses"]["H1"]  # type: ignore[arg-type]
    assert not judged.effect.reproduced and judged.effect.points > 9
    assert judged.verdict == "confirmed"
