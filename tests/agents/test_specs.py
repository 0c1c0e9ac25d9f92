"""Deterministic spec construction: shared run settings, predictions, evolution's operators."""

import pytest

from agents._messages import Budgets, Hypothesis, Prediction, ResearchPlan
from agents._specs import (
    build_spec,
    combined_spec,
    conform_spec,
    narrowed_spec,
    simplified_spec,
    untried_families,
)
from automl_backend import (
    ExperimentResult,
    ExperimentSpec,
    FloatDistribution,
    SpecError,
    TrialConfig,
)


@pytest.fixture
def plan() -> ResearchPlan:
    budgets = Budgets(
        rounds=1,
        hypotheses_per_round=2,
        children_per_round=1,
        trials_per_experiment=4,
        experiment_time_s=30,
        folds=3,
        seed=7,
    )
    return ResearchPlan(
        goal="g",
        task="binary",
        metric="balanced_accuracy",
        objective="o",
        dataset="d",
        budgets=budgets,
    )


def _hypothesis(hid: str, spec: ExperimentSpec, best: TrialConfig | None = None) -> Hypothesis:
    result = None
    if best is not None:
        result = ExperimentResult(
            status="ok",
            metric="balanced_accuracy",
            best_score=0.9,
            fold_scores=[0.9] * 3,
            best_config=best,
        )
    return Hypothesis(
        id=hid,
        round=1,
        origin="generation",
        statement="s",
        prediction=Prediction(direction="better", min_effect_points=1.0, control="c"),
        experiment=spec,
        result=result,
        status="tested" if result else "approved",
    )


def test_every_spec_shares_the_run_settings(plan: ResearchPlan) -> None:
    spec = build_spec(plan, ["logistic", "knn"], scaling="robust")
    assert (spec.task, spec.metric, spec.cv.folds, spec.seed) == (
        "binary",
        "balanced_accuracy",
        3,
        7,
    )
    assert spec.ensemble.enabled  # the kept model; matches use the best config's folds
    assert spec.preprocessing.scaling == ["robust"]
    # One fold plan: an explicit strategy, so the backend never switches to a holdout.
    assert spec.cv.strategy == "stratified"


def test_one_fold_plan_even_past_100000_rows(plan: ResearchPlan) -> None:
    from types import SimpleNamespace

    from automl_backend._splits import resolve_cv

    spec = build_spec(plan, ["logistic"])
    huge = SimpleNamespace(n_rows=250_000, n_features=60, task="binary")
    # With "auto" a big data set or a short budget would switch to one holdout split.
    assert resolve_cv(spec.cv, huge, 5.0) == ("stratified", 3)  # type: ignore[arg-type]
    auto = spec.cv.model_copy(update={"strategy": "auto", "folds": None})
    assert resolve_cv(auto, huge, 5.0)[0] == "holdout"  # type: ignore[arg-type]


def test_a_persons_spec_is_conformed_but_keeps_its_space(plan: ResearchPlan) -> None:
    own = ExperimentSpec.model_validate(
        {
            "models": [
                {"family": "svm", "params": {"C": {"type": "float", "low": 1.0, "high": 10.0}}}
            ],
            "cv": {"folds": 10},
            "seed": 99,
            "metric": "accuracy",
        }
    )
    spec = conform_spec(own, plan)
    assert (spec.cv.folds, spec.seed, spec.metric) == (3, 7, "balanced_accuracy")
    assert spec.models[0].params["C"] == FloatDistribution(low=1.0, high=10.0)


def test_invalid_family_for_the_task_is_a_spec_error(plan: ResearchPlan) -> None:
    with pytest.raises(SpecError):
        build_spec(plan, ["ridge"])  # regression only


def test_narrowing_uses_the_backend_helper_around_the_best_config(plan: ResearchPlan) -> None:
    best = TrialConfig(family="logistic", params={"C": 10.0})
    parent = _hypothesis("H1", build_spec(plan, ["logistic", "knn"]), best)
    child = narrowed_spec(parent, 0.25)
    assert child is not None
    assert [m.family for m in child.models] == ["logistic"]
    c_range = child.models[0].params["C"]
    assert c_range.low < 10.0 < c_range.high and c_range.high / c_range.low < 1e6**0.25 * 1.01
    assert child.warm_start == []  # the child may not start from its parent's best
    assert parent.experiment.models[0].params == {}  # the parent is untouched
    assert narrowed_spec(_hypothesis("H2", build_spec(plan, ["knn"])), 0.5) is None


def test_combine_and_simplify_and_untried(plan: ResearchPlan) -> None:
    a = _hypothesis("H1", build_spec(plan, ["logistic"]), TrialConfig(family="logistic"))
    b = _hypothesis("H2", build_spec(plan, ["knn", "svm"]))
    combined = combined_spec(a, b, plan)
    assert combined is not None and [m.family for m in combined.models] == [
        "logistic",
        "knn",
        "svm",
    ]
    assert combined_spec(a, a, plan) is None
    assert simplified_spec(a, plan) is None  # one family, plain preprocessing: nothing simpler
    two = _hypothesis("H3", build_spec(plan, ["knn", "svm"]), TrialConfig(family="svm"))
    simple = simplified_spec(two, plan)
    assert simple is not None and [m.family for m in simple.models] == ["svm"]
    free = untried_families(plan, [a, b])
    assert "logistic" not in free and "knn" not in free and free


def test_an_unusable_objective_is_replaced_by_a_plain_one() -> None:
    from types import SimpleNamespace

    from agents.nodes.planning import _objective

    assert _objective(SimpleNamespace(objective="precision+recall*score+"), "accuracy").startswith(
        "answer the question"
    )
    good = "Find which family detects malignant tumours most accurately"
    assert _objective(SimpleNamespace(objective=good), "accuracy") == good
    assert "accuracy" in _objective(None, "accuracy")
