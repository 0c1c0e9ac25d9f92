"""Hypotheses as interventions: the rule-built list, generation's choice from it, what the
meta-review's next actions do to the next round, and the text filter on the way in.

Generation is called directly with a stub toolbox and the scripted fake LLM (plumbing
only; the fake says nothing about a real model's choices).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from agents._context import RunContext
from agents._design import interventions
from agents._effects import measure_effect
from agents._messages import Budgets, Hypothesis, MetaReview, NextAction, ResearchPlan
from agents._signature import spec_signature
from agents.llm import ChatMessage
from agents.nodes import generation, meta_review
from automl_backend import ExperimentResult, TrialConfig, load_dataset, profile_dataset
from memory import LiteratureHit


@pytest.fixture(scope="module")
def wine_profile() -> Any:
    return profile_dataset(load_dataset("sklearn:wine"))


def _plan(
    question: str = "effect",
    factors: tuple[str, ...] = ("scaling", "family"),
    families: tuple[str, ...] = ("knn",),
    **extra: Any,
) -> ResearchPlan:
    budgets = Budgets(
        rounds=2,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=2,
        experiment_time_s=30,
        folds=3,
        seed=0,
    )
    return ResearchPlan(
        goal="Is feature scaling or model family the bigger lever for kNN-style models here?",
        task="multiclass",
        metric="accuracy",
        objective="o",
        question=question,  # type: ignore[arg-type]
        factors=list(factors),  # type: ignore[arg-type]
        focus_families=list(families),
        dataset="d",
        budgets=budgets,
        **extra,
    )


def test_the_question_s_factors_come_first_and_each_arm_pair_differs_in_one_factor(
    wine_profile: Any,
) -> None:
    items = interventions(_plan(), wine_profile)
    assert [i.factor for i in items[:2]] == ["scaling", "family"]
    assert items[0].key == "scaling:knn:none->standard"
    first = items[0]
    assert (
        [m.family for m in first.control.models]
        == ["knn"]
        == [m.family for m in first.treatment.models]
    )
    assert first.control.preprocessing.scaling == ["none"]
    assert first.treatment.preprocessing.scaling == ["standard"]
    # Same fold plan and seed on both arms, never "auto".
    for item in items:
        assert item.control.cv == item.treatment.cv or item.factor == "train_fraction"
        assert item.control.cv.strategy == "stratified" and item.control.seed == 0
        assert spec_signature(item.control) != spec_signature(item.treatment)
    factors = {i.factor for i in items}
    assert {
        "family",
        "scaling",
        "feature_selection",
        "class_weighting",
        "train_fraction",
    } <= factors


def test_a_constrained_question_compares_smaller_models_not_worse_within_tolerance(
    wine_profile: Any,
) -> None:
    plan = _plan("constrained", ("family",), (), tolerance_points=1.0, secondary="model_size")
    items = interventions(plan, wine_profile)
    first = items[0]
    assert first.key.startswith("smaller:hist_gradient_boosting->")
    family = [i for i in items if i.factor == "family"]
    assert family and all(i.direction == "not_worse" for i in family)
    assert first.direction == "not_worse" and first.secondary == "model_size"
    assert first.prediction().min_effect_points == 1.0


def test_class_weighting_and_learning_curve_arms_fix_exactly_their_factor(
    wine_profile: Any,
) -> None:
    every = interventions(_plan(families=()), wine_profile)
    items = {i.factor: i for i in reversed(every)}  # the first of each factor
    weighting = items["class_weighting"]
    smote = next(i for i in every if i.key.endswith("->smote"))
    assert smote.control.preprocessing.oversampling == ["none"]
    assert smote.treatment.preprocessing.oversampling == ["smote"]
    assert weighting.control.models[0].params["class_weight"].choices == [None]
    assert weighting.treatment.models[0].params["class_weight"].choices == ["balanced"]
    curve = items["train_fraction"]
    assert (curve.control.cv.train_fraction, curve.treatment.cv.train_fraction) == (0.5, 1.0)


class _StubTools:
    """FOR TESTS ONLY: literature keyed by the query's topic, no past runs."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search_literature(self, query: str, k: int) -> list[LiteratureHit]:
        self.queries.append(query)
        topic = "scaling" if "scaling" in query else "curves" if "learning" in query else "other"
        return [
            LiteratureHit(
                text=f"passage about {topic}",
                title=topic,
                source=f"corpus/{topic}.md",
                kind="corpus",
                distance=0.1,
            )
        ]

    def similar_runs(self, profile: Any, k: int) -> list[Any]:
        return []

    def feature_candidates(self, k: int = 4, kinds: Any = None) -> list[Any]:
        return []


class _CapturingLLM:
    """FOR TESTS ONLY: wraps the scripted fake and keeps every generation prompt."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.prompts: list[str] = []

    def complete(self, messages: list[ChatMessage], schema: Any = None, **kw: Any) -> Any:
        if schema is not None and schema.__name__ == "HypothesisDraft":
            self.prompts.append("\n".join(m.content for m in messages))
        return self.inner.complete(messages, schema, **kw)


def _generate(
    fakes: Any,
    profile: Any,
    plan: ResearchPlan,
    llm: Any,
    state: dict | None = None,
    tools: Any = None,
) -> tuple[dict[str, Any], Any]:
    tools = tools or _StubTools()
    state = {"plan": plan, "profile": profile, "round": 1, "hypotheses": {}, **(state or {})}
    runtime = SimpleNamespace(context=RunContext(hypotheses_per_round=2, children_per_round=0))
    return generation.generate(state, runtime, llm=llm, tools=tools), tools  # type: ignore[arg-type]


def test_hypotheses_on_different_factors_retrieve_different_passages(
    fakes: Any, wine_profile: Any
) -> None:
    plan = _plan("why", ("scaling", "train_fraction"), ("knn",))
    updates, tools = _generate(fakes, wine_profile, plan, fakes.ScriptedFakeLLM())
    h1, h2 = updates["hypotheses"]["H1"], updates["hypotheses"]["H2"]
    assert (h1.factor, h2.factor) == ("scaling", "train_fraction")
    assert tools.queries[0] != tools.queries[1]
    assert h1.cited_passages and h2.cited_passages
    assert h1.cited_passages != h2.cited_passages
    assert "scaling" in h1.cited_passages[0] and "curves" in h2.cited_passages[0]


def test_llm_text_with_a_url_is_filtered_and_counted(fakes: Any, wine_profile: Any) -> None:
    def spam(messages: Any, schema: Any) -> dict[str, Any]:
        keys = schema.model_json_schema()["properties"]["intervention"]["enum"]
        return {
            "intervention": keys[0],
            "rationale": "Visit https://cheap-pills.example/now for details",
            "expected_gain_points": 2,
        }

    llm = fakes.ScriptedFakeLLM(answers={"HypothesisDraft": spam})
    updates, _ = _generate(fakes, wine_profile, _plan(), llm)
    for h in updates["hypotheses"].values():
        assert "http" not in h.rationale and "cheap-pills" not in h.rationale
        assert h.chosen_by == "model"  # the closed choice itself was usable
    assert updates["filtered_llm_texts"] == ["generation rationale: url"] * 2


def _tested(hid: str, factor: str, key: str, treatment: float, control: float) -> Hypothesis:
    plan = _plan()
    spec = interventions(plan, profile_dataset(load_dataset("sklearn:wine")))[0].treatment
    folds = [0.01, -0.01, 0.0]
    return Hypothesis(
        id=hid,
        round=1,
        origin="generation",
        statement="s",
        factor=factor,  # type: ignore[arg-type]
        design_key=key,
        treatment_label=key,
        control_label="c",
        prediction={"direction": "better", "min_effect_points": 1.0, "control": "c"},  # type: ignore[arg-type]
        experiment=spec,
        control=spec,
        status="tested",
        result=ExperimentResult(
            status="ok",
            metric="accuracy",
            best_score=treatment,
            fold_scores=[treatment + f for f in folds],
            best_config=TrialConfig(family="knn"),
        ),
        effect=measure_effect(
            [treatment + f for f in folds], [control + f * 0.95 for f in folds], scale=0.01
        ),
    )


def test_next_actions_come_from_measured_effects_and_reach_the_next_prompt(
    fakes: Any, wine_profile: Any
) -> None:
    plan = _plan()
    measured = {
        "H1": _tested("H1", "scaling", "scaling:knn:none->standard", 0.95, 0.75),
        "H2": _tested("H2", "family", "family:knn->logistic", 0.95, 0.95),
    }
    actions = meta_review.next_actions({"plan": plan, "hypotheses": measured})  # type: ignore[arg-type]
    assert [(a.action, a.factor) for a in actions] == [("expand", "scaling"), ("drop", "family")]
    assert actions[1].key == "family:knn->logistic"
    review = MetaReview(round=1, facts=["f"], next_actions=actions)
    llm = _CapturingLLM(fakes.ScriptedFakeLLM())
    state = {"round": 2, "hypotheses": measured, "meta_reviews": [review]}
    updates, _ = _generate(fakes, wine_profile, plan, llm, state)
    # The next actions are in the prompt the model reads ...
    assert all("Next actions" in p and "expand scaling" in p for p in llm.prompts)
    # ... and steer what is offered: scaling first, the dropped intervention never again.
    made = list(updates["hypotheses"].values())
    assert made[0].factor == "scaling"
    assert all(h.design_key != "family:knn->logistic" for h in made)


def test_steer_orders_by_actions_and_removes_dropped(wine_profile: Any) -> None:
    items = interventions(_plan(), wine_profile)
    review = MetaReview(
        round=1,
        next_actions=[
            NextAction(action="open", factor="train_fraction", text="untested"),
            NextAction(action="drop", factor="scaling", text="x", key=items[0].key),
        ],
    )
    steered = generation.steer(items, review)
    assert steered[0].factor == "train_fraction"
    assert items[0].key not in {i.key for i in steered}
    assert json.dumps([i.key for i in steered])  # all keys are plain strings


def test_a_feature_question_tests_each_candidate_transform_with_and_without(
    wine_profile: Any,
) -> None:
    from automl_backend import candidate_features, load_dataset

    candidates = candidate_features(load_dataset("sklearn:wine"), 2)
    assert candidates
    plan = _plan("effect", ("features",), ())
    items = interventions(plan, wine_profile, feature_candidates=candidates)
    first = items[0]
    assert first.factor == "features" and first.control.features == []
    assert first.treatment.features == [candidates[0]]
    assert first.control.models == first.treatment.models  # only the transform differs


def test_a_question_naming_a_transform_kind_tests_only_that_kind(wine_profile: Any) -> None:
    from automl_backend import candidate_features, load_dataset

    wine = load_dataset("sklearn:wine")
    ratios = candidate_features(wine, 4, kinds=["ratio"])
    assert len(ratios) == 4 and {t.kind for t in ratios} == {"ratio"}
    mixed = candidate_features(wine, 12) + ratios
    plan = _plan("effect", ("features",), ()).model_copy(update={"focus_transforms": ["ratio"]})
    items = interventions(plan, wine_profile, feature_candidates=mixed)
    features = [i for i in items if i.factor == "features"]
    assert features and all(i.treatment.features[0].kind == "ratio" for i in features)
    assert items[0].factor == "features"
