"""The graph state: what the co-scientist knows, checkpointed after every step.

Run configuration (budgets, flags) is not here: it lives in :class:`agents.RunContext`
and is passed on every invocation. Reducers say how concurrent writes combine; the
experiment fan-out writes ``hypotheses`` from several tasks in one step, each task its
own id, so a merge by id is exact.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from agents._messages import (
    DatasetProfile,
    EloSnapshot,
    Hypothesis,
    Match,
    MetaReview,
    ResearchPlan,
    Review,
)
from automl_backend import ExperimentResult, TrialConfig


def merge_by_key(old: dict | None, new: dict | None) -> dict:
    """Dict reducer: entries in ``new`` replace those with the same key, others stay."""
    return {**(old or {}), **(new or {})}


def add_by_key(old: dict | None, new: dict | None) -> dict:
    """Dict reducer: values of the same key are summed."""
    merged = dict(old or {})
    for key, value in (new or {}).items():
        merged[key] = merged.get(key, 0) + value
    return merged


class ResearchState(TypedDict, total=False):
    """State of one co-scientist run."""

    goal: str
    """The research goal as the person wrote it."""
    profile: DatasetProfile
    """Meta-features of the data (for prompts and memory look-ups)."""
    plan: ResearchPlan
    """The supervisor's plan: task, metric, objective, warnings, budgets."""
    baseline: ExperimentResult | None
    """Unused since hypotheses carry their own control arm (kept for old checkpoints)."""
    round: int
    """Current round, from 1."""
    hypotheses: Annotated[dict[str, Hypothesis], merge_by_key]
    """Every hypothesis ever made, by id; evolution adds children, never edits parents."""
    reviews: Annotated[list[Review], operator.add]
    """All reviews: initial, observation and human, in order."""
    matches: Annotated[list[Match], operator.add]
    """All tournament matches, in order."""
    elo: Annotated[dict[str, float], merge_by_key]
    """Current rating of every hypothesis in the tournament."""
    elo_history: Annotated[list[EloSnapshot], operator.add]
    """Ratings after each ranking pass (for the Elo-over-rounds plot)."""
    embeddings: Annotated[dict[str, list[float]], merge_by_key]
    """Sentence embedding of each hypothesis (dedup and pairing)."""
    clusters: list[list[str]]
    """Proximity clusters of hypothesis ids from the last proximity pass."""
    meta_reviews: Annotated[list[MetaReview], operator.add]
    """One per round; the last one feeds the next round's prompts."""
    allocation: dict[str, int]
    """Trial limit of each hypothesis funded this round."""
    allocation_s: dict[str, float]
    """Time cap (seconds) of each hypothesis funded this round; in the last round of a
    time-budgeted run these share all the time left."""
    warm_starts: list[TrialConfig]
    """Best configurations on similar past data sets, fetched once per round."""
    llm_failure_streak: int
    """Unusable LLM answers in a row; the run stops when it reaches the context's limit."""
    llm_failures: Annotated[int, operator.add]
    """Unusable LLM answers in total (each replaced by a deterministic fallback)."""
    filtered_llm_texts: Annotated[list[str], operator.add]
    """LLM texts the sanity filter dropped ("where: reason"), counted in the report."""
    arms: Annotated[dict[str, ExperimentResult], merge_by_key]
    """Results of every arm run so far, by ``agents._signature.arm_key``: a control shared
    by several hypotheses (or a parent's treatment reused as its child's control) runs
    once."""
    spent_s: Annotated[float, operator.add]
    """Compute seconds spent so far (experiments and LLM), summed across resumes."""
    llm_s_by_round: Annotated[dict[int, float], add_by_key]
    """Seconds spent inside the LLM in each round; key 0 is the plan (with the loading of
    a local model). The supervisor prices further rounds and enforces the LLM share cap
    from these."""
    stop_reason: str | None
    """Why the run ended (rounds done, time budget, Elo stable); None while it runs."""
    holdout_scores: dict[str, float]
    """Scores on the untouched holdout of each tested arm's final model (``H3`` the
    treatment, ``H3-control`` the control), computed once at the end."""
    feature_importance: dict[str, float]
    """why questions: points of the metric the leader's model loses on the holdout when
    each column is shuffled (permutation importance), largest first."""
    overview: str | None
    """The final research overview."""
