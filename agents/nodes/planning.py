"""The supervisor's first step, the plan: what the goal asks (the question, its factors,
the metric) read against the data's profile, with the fixed rules of the run's design."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._guard import CoScientistError, LLMGuard
from agents._messages import ResearchPlan
from agents._questions import Factor, QuestionKind, read_goal, transforms_from_goal
from agents._schemas import plan_draft_model
from agents._specs import REFERENCE_FAMILY
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import emit
from automl_backend import family_names, metric_names
from tools import Toolbox

_REGRESSION_WORDS = re.compile(
    r"\bregress|\brmse\b|\bmae\b|mean (squared|absolute) error|\br2\b|r\^2|r-squared|"
    r"continuous (target|value|outcome)",
    re.IGNORECASE,
)
_CLASSIFICATION_WORDS = re.compile(
    r"\bclassif|\baccuracy\b|\bauc\b|\bf1\b|\bmcc\b|\bwhich class|\bdetect", re.IGNORECASE
)
_METRIC_WORDS: tuple[tuple[str, str], ...] = (
    (r"balanced[ _-]accuracy", "balanced_accuracy"),
    (r"\broc[ _-]?auc\b|\bauc\b", "roc_auc"),
    (r"\bf1\b", "f1_macro"),
    (r"\bmcc\b|matthews", "mcc"),
    (r"log[ _-]?loss|cross[ -]entropy", "log_loss"),
    (r"\baccuracy\b", "accuracy"),
    (r"\brmse\b|root mean squared", "rmse"),
    (r"\bmae\b|mean absolute", "mae"),
    (r"\br2\b|r\^2|r-squared", "r2"),
)
DEFAULT_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "rmse"}
PLAN_ROUND = 0
"""``llm_s_by_round`` key of the plan's LLM time: spent, but not the size of a round."""


def goal_warnings(goal: str, task: str, target: str, llm_reading: str | None) -> list[str]:
    """Where the goal asks for a kind of prediction the data cannot give."""
    asks_regression = bool(_REGRESSION_WORDS.search(goal))
    asks_classification = bool(_CLASSIFICATION_WORDS.search(goal))
    data_kind = "regression" if task == "regression" else "classification"
    asked = None
    if asks_regression != asks_classification:
        asked = "regression" if asks_regression else "classification"
    if asked is not None and asked != data_kind:
        return [
            f"The goal asks a {asked} question, but target '{target}' supports only "
            f"{data_kind} ({task}); the data cannot answer the goal as stated, so this run "
            f"studies the {data_kind} question instead."
        ]
    if (
        asked is None
        and llm_reading in ("classification", "regression")
        and llm_reading != data_kind
    ):
        return [
            f"Possible mismatch (the supervisor model read the goal as {llm_reading}, not "
            f"confirmed by its wording): target '{target}' supports only {data_kind}."
        ]
    return []


def metric_named_in(goal: str, task: str) -> str | None:
    """A metric the goal names explicitly, if it applies to the task."""
    valid = set(metric_names(task))
    for pattern, metric in _METRIC_WORDS:
        if re.search(pattern, goal, re.IGNORECASE):
            if metric == "f1_macro" and task == "binary":
                metric = "f1"
            if metric in valid:
                return metric
    return None


def _objective(draft: Any, metric: str) -> str:
    """The model's objective if it reads like one (a few words), else a plain one."""
    written = draft.objective.strip() if draft is not None else ""
    if len(re.findall(r"[A-Za-z]{2,}", written)) >= 4 and "http" not in written.lower():
        return written
    return f"answer the question with paired, cross-validated {metric} comparisons"


_BEST_WORDS = re.compile(
    r"\bbest\b|\bwhich (model|family|algorithm|classifier|regressor)|\btop\b|most accurate|"
    r"outperform|strongest",
    re.IGNORECASE,
)
DEFAULT_FACTORS: dict[str, list[Factor]] = {
    "best": ["family"],
    "effect": ["family", "scaling"],
    "constrained": ["family"],
    "why": ["train_fraction", "feature_selection"],
}


def read_question(
    goal: str, task: str, draft: Any
) -> tuple[QuestionKind, str, list[Factor], list[str], float | None, Any]:
    """(kind, source, factors, focus families, tolerance, secondary) of the question.

    The LLM picks the kind from a closed list; where the goal's wording names a kind
    (rules on the goal text find a cue) the rule's reading is kept, since a weak model's
    pick is noise next to an explicit cue. Factors and families come from the goal's
    words, then the model's list, then the kind's defaults.
    """
    reading = read_goal(goal, family_names(task))
    cue = reading.kind != "best" or bool(_BEST_WORDS.search(goal))
    kind: QuestionKind = reading.kind
    source = "rule"
    if not cue and draft is not None and getattr(draft, "question", None):
        kind, source = draft.question, "model"
    factors: list[Factor] = list(reading.factors)
    if not factors and source == "model" and draft is not None:
        factors = list(dict.fromkeys(draft.factors))
    if kind == "constrained" and "family" not in factors:
        factors.insert(0, "family")
    if not factors:
        factors = list(DEFAULT_FACTORS[kind])
    if kind == "why" and "train_fraction" not in factors:
        factors.append("train_fraction")
    return kind, source, factors, list(reading.families), reading.tolerance, reading.secondary


def plan(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient, tools: Toolbox
) -> dict[str, Any]:
    """Read the goal against the data: the question, its factors, the metric, budgets."""
    ctx = runtime.context
    goal = state.get("goal", "").strip()
    if not goal:
        raise CoScientistError("the research goal is empty; say what you want to find out")
    emit(runtime, "agent", "profiling the data and writing the plan", agent="supervisor")
    profile = tools.profile_dataset()
    task = profile.task
    if ctx.metric is not None and ctx.metric not in metric_names(task):
        raise CoScientistError(
            f"metric {ctx.metric!r} does not apply to {task} data; valid: "
            f"{', '.join(metric_names(task))}"
        )
    # Booked as round 0: the first call also loads a local model, which no later round
    # pays again, so it must not inflate the supervisor's estimate of a round's LLM cost.
    guard = LLMGuard(
        llm,
        streak=state.get("llm_failure_streak", 0),
        limit=ctx.max_llm_failures_in_a_row,
        round_=PLAN_ROUND,
    )
    draft = guard.ask(
        "supervisor",
        plan_draft_model(task),
        goal=goal,
        dataset=profile.describe(),
        task="regression" if task == "regression" else "classification",
    )
    metric = ctx.metric or metric_named_in(goal, task)
    metric = metric or (draft.metric if draft else DEFAULT_METRIC[task])
    kind, source, factors, families, tolerance, secondary = read_question(goal, task, draft)
    holdout = getattr(tools, "holdout_fraction", 0.0)
    research_plan = ResearchPlan(
        goal=goal,
        task=task,
        metric=metric,
        objective=_objective(draft, metric),
        question=kind,
        question_source=source,  # type: ignore[arg-type]
        factors=factors,
        focus_families=families,
        focus_transforms=transforms_from_goal(goal),
        reference_family=REFERENCE_FAMILY,
        tolerance_points=tolerance,
        secondary=secondary,
        rope_points=ctx.rope_points,
        holdout_fraction=holdout,
        constraints=[
            f"one fold plan: {ctx.folds}-fold cross-validation, seed {ctx.seed}, the same "
            "folds for every arm of every hypothesis",
            f"both arms of a hypothesis get the same trials (about {ctx.trials_per_experiment})"
            " and seed",
            f"verdicts: 95 % interval of the paired effect against a ROPE of "
            f"{ctx.rope_points:g} points",
            *([f"{holdout:.0%} of the rows held out, scored once at the end"] if holdout else []),
            *_time_constraints(ctx),
        ],
        warnings=goal_warnings(goal, task, profile.target, draft.goal_asks_for if draft else None),
        dataset=profile.describe(),
        budgets=ctx.budgets(),
    )
    for warning in research_plan.warnings:
        emit(runtime, "warning", warning, agent="supervisor")
    emit(
        runtime,
        "agent",
        f"question: {kind} (chosen by {source}); factors: {', '.join(factors)}"
        + (f"; families: {', '.join(families)}" if families else ""),
        agent="supervisor",
    )
    updates = guard.updates()
    updates.update(plan=research_plan, profile=profile, baseline=None, round=1)
    return updates


def _time_constraints(ctx: RunContext) -> list[str]:
    if ctx.time_budget_s is None:
        return []
    rest = "use the rest" if ctx.fill_time_budget else "may use the rest within their trials"
    out = [f"{ctx.time_budget_s:g} s of compute in all; the last round's experiments {rest}"]
    if ctx.llm_share is not None:
        out.append(f"LLM time at most {ctx.llm_share:.0%} of it")
    return out
