"""What the language model is asked to fill in: small, flat models built from the registry.

A 135M model produces valid JSON under a grammar but poor judgement, so each schema
offers only closed choices (Literal enums of registered families, metrics, operators),
short bounded strings and clamped numbers. Deterministic code turns a draft into a full,
validated record (a Hypothesis with its ExperimentSpec, a Review, a Match...). Models are
cached per argument so their names and JSON schemas are stable: the replay log keys on
them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents._questions import FACTORS, QUESTION_KINDS
from automl_backend import PreprocessingConfig, family_names, metric_names

SCALING_CHOICES: tuple[str, ...] = get_args(PreprocessingConfig.model_fields["scaling"].annotation)
SELECTION_CHOICES: tuple[str, ...] = get_args(
    PreprocessingConfig.model_fields["feature_selection"].annotation
)
GAIN_POINTS = (1, 2, 3, 5)
"""Expected gain of a treatment over its control a hypothesis may register, in points."""
EVOLUTION_OPERATORS = ("narrow", "combine", "simplify", "out_of_box")
NARROWING_FACTORS = (0.25, 0.5, 0.75)
Score = Literal[1, 2, 3, 4, 5]
PLAN_METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "f1_macro", "rmse", "mae", "r2")
"""Primary metrics the supervisor model may pick from (those of the task among them)."""

_FLAT = ConfigDict(extra="ignore")


def _families(task: str) -> Any:
    return Literal[tuple(family_names(task))]  # type: ignore[valid-type]


@cache
def plan_draft_model(task: str) -> type[BaseModel]:
    """The supervisor's draft: the question kind, its factors, a metric, an objective."""
    return create_model(
        "PlanDraft",
        __config__=_FLAT,
        goal_asks_for=(
            Literal["classification", "regression", "unclear"],
            Field(description="the kind of prediction the goal asks for"),
        ),
        question=(
            Literal[QUESTION_KINDS],  # type: ignore[valid-type]
            Field(description="best, effect (does X help), constrained (smallest within), why"),
        ),
        factors=(list[Literal[FACTORS]], Field(max_length=3)),  # type: ignore[valid-type]
        metric=(Literal[tuple(m for m in PLAN_METRICS if m in metric_names(task))], ...),  # type: ignore[valid-type]
        objective=(str, Field(min_length=5, max_length=160)),
        focus_families=(list[_families(task)], Field(max_length=3)),
    )


@cache
def hypothesis_draft_model(
    keys: tuple[str, ...], cite_ids: tuple[str, ...] = ()
) -> type[BaseModel]:
    """One new hypothesis: which of the offered interventions to test, and why."""
    fields: dict[str, Any] = {
        "intervention": (Literal[keys], ...),  # type: ignore[valid-type]
        "rationale": (str, Field(min_length=5, max_length=200)),
        "expected_gain_points": (Literal[GAIN_POINTS], ...),  # type: ignore[valid-type]
    }
    if cite_ids:
        fields["cites"] = (
            list[Literal[cite_ids]],  # type: ignore[valid-type]
            Field(default_factory=list, max_length=2),
        )
    return create_model("HypothesisDraft", __config__=_FLAT, **fields)


class ReviewDraft(BaseModel):
    """The LLM half of an initial review (the deterministic checks are the other half)."""

    model_config = _FLAT
    correctness: Score
    novelty: Score
    feasibility: Score
    critique: str = Field(min_length=5, max_length=200)


class MatchVerdict(BaseModel):
    """Which of two untested hypotheses is more likely to hold, and why."""

    model_config = _FLAT
    winner: Literal["A", "B", "draw"]
    reason: str = Field(min_length=5, max_length=200)


class DebateTurn(BaseModel):
    """One argument in a debate between two hypotheses."""

    model_config = _FLAT
    argument: str = Field(min_length=5, max_length=200)


@cache
def evolution_draft_model(task: str) -> type[BaseModel]:
    """How to derive a child from a top hypothesis; code builds the child's spec."""
    return create_model(
        "EvolutionDraft",
        __config__=_FLAT,
        operator=(Literal[EVOLUTION_OPERATORS], ...),  # type: ignore[valid-type]
        narrowing=(Literal[NARROWING_FACTORS], ...),  # type: ignore[valid-type]
        new_family=(_families(task), Field(description="used by out_of_box")),
        statement=(str, Field(min_length=10, max_length=180)),
        rationale=(str, Field(min_length=5, max_length=200)),
    )


class MetaReviewDraft(BaseModel):
    """Recurring strengths and failures the LLM reads off the round's facts."""

    model_config = _FLAT
    strengths: list[Annotated[str, Field(max_length=120)]] = Field(max_length=3)
    weaknesses: list[Annotated[str, Field(max_length=120)]] = Field(max_length=3)
    advice: str = Field(min_length=5, max_length=200)


class OverviewDraft(BaseModel):
    """The closing paragraph of the research overview."""

    model_config = _FLAT
    summary: str = Field(min_length=20, max_length=400)
