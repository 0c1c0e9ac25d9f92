"""Meta-review: what the round taught (fed to the next round) and the final overview.

The facts are computed from results, reviews and matches; the LLM only reads them and
names recurring strengths, failures and advice, so a weak model cannot invent a result.
"""

from __future__ import annotations

import statistics
from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._guard import LLMGuard
from agents._messages import Hypothesis, MetaReview
from agents._schedule import leader_order
from agents._schemas import MetaReviewDraft, OverviewDraft
from agents._specs import untried_families
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import bullet_list, emit


def leader(state: ResearchState) -> Hypothesis | None:
    """The tested hypothesis with the highest Elo (ties: higher score, then earlier id)."""
    hypotheses = state.get("hypotheses", {})
    order = leader_order(hypotheses, state.get("elo", {}))
    return hypotheses[order[0]] if order else None


def round_facts(state: ResearchState, round_: int | None) -> list[str]:
    """Measured facts of one round (or of the whole run when ``round_`` is None)."""
    plan = state["plan"]
    metric = plan.metric
    elo = state.get("elo", {})
    hypotheses = state.get("hypotheses", {}).values()
    scoped = [
        h for h in hypotheses if h.result is not None and (round_ is None or h.round == round_)
    ]
    tested = [h for h in scoped if h.tested]
    confirmed = [h.id for h in tested if h.prediction_held is True]
    refuted = [h.id for h in tested if h.prediction_held is False]
    facts = [
        f"{len(tested)} hypotheses tested; predictions confirmed: {', '.join(confirmed) or 'none'}; "
        f"refuted: {', '.join(refuted) or 'none'}."
    ]
    baseline = state.get("baseline")
    if baseline is not None and baseline.best_score is not None:
        facts.append(
            f"Baseline (default hist_gradient_boosting): {metric} {baseline.best_score:.4f}."
        )
    by_family: dict[str, list[float]] = {}
    for h in tested:
        if h.result and h.result.best_config and h.result.best_score is not None:
            by_family.setdefault(h.result.best_config.family, []).append(h.result.best_score)
    if by_family:
        ranked = sorted(by_family.items(), key=lambda kv: -statistics.mean(kv[1]))
        facts.append(
            "Best family per result: "
            + ", ".join(f"{f} {statistics.mean(s):.4f}" for f, s in ranked)
            + "."
        )
    top = leader(state)
    if top is not None and top.result is not None and top.result.best_score is not None:
        facts.append(
            f"Tournament leader: {top.id} ({', '.join(top.families)}), Elo "
            f"{elo.get(top.id, 0.0):.0f}, {metric} {top.result.best_score:.4f}."
        )
    for h in scoped:
        if h.result is not None and not h.result.ok:
            facts.append(f"{h.id} failed: {h.result.reason}.")
    rejected = [
        h.id for h in hypotheses if h.status == "rejected" and (round_ is None or h.round == round_)
    ]
    if rejected:
        facts.append(f"Rejected before compute: {', '.join(rejected)}.")
    free = untried_families(plan, hypotheses)
    if free:
        facts.append(f"Families not tried yet: {', '.join(free)}.")
    return facts


def meta_review(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """Summarise the round for the next one."""
    ctx = runtime.context
    round_ = state.get("round", 1)
    facts = round_facts(state, round_)
    human = [
        f"{r.hypothesis_id}: {r.text}"
        for r in state.get("reviews", [])
        if r.author == "human" and r.round == round_
    ]
    plan = state["plan"]
    emit(runtime, "agent", "summarising the round", agent="meta_review")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    draft = guard.ask(
        "meta_review",
        MetaReviewDraft,
        max_tokens=200,
        goal=plan.goal,
        metric=plan.metric,
        round=round_,
        facts=bullet_list(facts),
        reviews=bullet_list(human),
    )
    review = MetaReview(
        round=round_,
        facts=facts,
        strengths=list(draft.strengths) if draft else [],
        weaknesses=list(draft.weaknesses) if draft else [],
        advice=draft.advice if draft else "",
        human_reviews=human,
    )
    return {"meta_reviews": [review], **guard.updates()}


def overview(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """The research overview: what was tested, what held, what was refuted, the best model."""
    ctx = runtime.context
    plan = state["plan"]
    facts = round_facts(state, None)
    top = leader(state)
    if top is not None:
        facts.append(
            f"Tournament leader: {top.id}; reproduce its experiment with its spec "
            f"(experiments/{top.id}/) and seed {plan.budgets.seed}. The shipped best_model/ "
            "combines the tested hypotheses' models (see the report's Best model section)."
        )
    emit(runtime, "agent", "writing the research overview", agent="meta_review")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    draft = guard.ask(
        "overview",
        OverviewDraft,
        max_tokens=220,
        goal=plan.goal,
        metric=plan.metric,
        facts=bullet_list(facts),
    )
    text = " ".join(facts)
    if draft is not None:
        text += f"\n\nSummary (written by the LLM from the facts above): {draft.summary}"
    return {"overview": text, **guard.updates()}
