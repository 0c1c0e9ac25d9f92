"""Meta-review: what the round taught (fed to the next round), the final evaluation on the
holdout, and the closing overview.

The facts and the next actions are computed from the measured effects, reviews and
matches; the LLM only reads them and names recurring strengths, failures and advice, so
a weak model cannot invent a result. Its prose passes the text filter, and the overview's
closing summary is dropped when it names a family or factor the facts never mention.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents._answer import build_answer
from agents._context import RunContext
from agents._effects import credible_difference, points_scale
from agents._guard import LLMGuard
from agents._messages import Hypothesis, MetaReview, NextAction
from agents._questions import FACTORS
from agents._sanitize import unsupported_claims
from agents._schedule import leader_order
from agents._schemas import MetaReviewDraft, OverviewDraft
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import bullet_list, emit
from automl_backend import family_names, metric_is_loss
from tools import Toolbox


def leader(state: ResearchState) -> Hypothesis | None:
    """The tested hypothesis with the highest Elo (ties: higher score, then earlier id)."""
    hypotheses = state.get("hypotheses", {})
    order = leader_order(hypotheses, state.get("elo", {}))
    return hypotheses[order[0]] if order else None


def round_facts(state: ResearchState, round_: int | None) -> list[str]:
    """Measured facts of one round (or of the whole run when ``round_`` is None)."""
    plan = state["plan"]
    hypotheses = state.get("hypotheses", {}).values()
    scoped = [
        h for h in hypotheses if h.result is not None and (round_ is None or h.round == round_)
    ]
    verdicts: dict[str, list[str]] = {"confirmed": [], "refuted": [], "inconclusive": []}
    for h in scoped:
        if h.verdict in verdicts:
            verdicts[h.verdict].append(h.id)
    facts = [
        f"{sum(h.tested for h in scoped)} hypotheses tested; "
        + "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in verdicts.items())
        + "."
    ]
    for h in sorted(scoped, key=lambda h: int(h.id[1:])):
        if h.effect is not None:
            facts.append(
                f"{h.id} [{h.factor}] {h.treatment_label} vs {h.control_label}: "
                f"{h.effect.describe()} ({h.verdict})."
            )
        elif h.result is not None and not h.result.ok:
            facts.append(f"{h.id} failed: {h.result.reason}.")
    top = leader(state)
    decisive = [
        m for m in state.get("matches", []) if m.method == "measured" and m.winner != "draw"
    ]
    if top is not None and top.result is not None and top.result.best_score is not None:
        if decisive:
            facts.append(
                f"Tournament leader: {top.id} ({', '.join(top.families)}), {plan.metric} "
                f"{top.result.best_score:.4f}; {len(decisive)} measured matches were decisive."
            )
        else:
            facts.append(
                "No measured match was decisive: the tested hypotheses show no credible "
                "difference between each other."
            )
    rejected = [
        h.id for h in hypotheses if h.status == "rejected" and (round_ is None or h.round == round_)
    ]
    if rejected:
        facts.append(f"Rejected before compute: {', '.join(rejected)}.")
    return facts


def next_actions(state: ResearchState) -> list[NextAction]:
    """What the next round must address, from the measured effects so far.

    expand: a factor with a credible effect (try its other levels); drop: an intervention
    that made no credible difference or was worse; open: a factor of the question that is
    untested or whose every test is inconclusive.
    """
    plan = state["plan"]
    measured = [h for h in state.get("hypotheses", {}).values() if h.effect is not None]
    actions: list[NextAction] = []
    for factor in dict.fromkeys([*plan.factors, *(h.factor for h in measured)]):
        mine = [h for h in measured if h.factor == factor]
        kinds = {h.id: credible_difference(h.effect) for h in mine if h.effect is not None}
        if any(k == "better" for k in kinds.values()):
            best = max((h for h in mine if kinds[h.id] == "better"), key=lambda h: h.effect.points)  # type: ignore[union-attr]
            actions.append(
                NextAction(
                    action="expand",
                    factor=factor,
                    text=f"{best.id} showed a credible effect ({best.effect.describe()}); "  # type: ignore[union-attr]
                    f"test other levels of {factor}",
                )
            )
        for h in mine:
            if kinds[h.id] in ("none", "worse"):
                actions.append(
                    NextAction(
                        action="drop",
                        factor=factor,
                        text=f"{h.treatment_label} made no credible gain ({h.effect.describe()})",  # type: ignore[union-attr]
                        key=h.design_key,
                    )
                )
        if factor in plan.factors and (not mine or all(k == "unclear" for k in kinds.values())):
            actions.append(
                NextAction(
                    action="open",
                    factor=factor,
                    text="still untested" if not mine else "every test so far is inconclusive",
                )
            )
    return actions


def meta_review(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """Summarise the round for the next one."""
    ctx = runtime.context
    round_ = state.get("round", 1)
    facts = round_facts(state, round_)
    actions = next_actions(state)
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
        facts=bullet_list([*facts, *(f"next: {a.action} {a.factor}: {a.text}" for a in actions)]),
        reviews=bullet_list(human),
    )

    def kept(where: str, items: list[str]) -> list[str]:
        return [t for t in (guard.text(where, item) for item in items) if t]

    review = MetaReview(
        round=round_,
        facts=facts,
        next_actions=actions,
        strengths=kept("meta-review strength", list(draft.strengths)) if draft else [],
        weaknesses=kept("meta-review weakness", list(draft.weaknesses)) if draft else [],
        advice=(guard.text("meta-review advice", draft.advice) or "") if draft else "",
        human_reviews=human,
    )
    return {"meta_reviews": [review], **guard.updates()}


def final_evaluation(
    state: ResearchState, runtime: Runtime[RunContext], *, tools: Toolbox
) -> dict[str, Any]:
    """Score every tested arm's final model once on the untouched holdout."""
    plan = state["plan"]
    if not plan.holdout_fraction or getattr(tools, "holdout", None) is None:
        return {}
    emit(runtime, "agent", "scoring the tested arms on the untouched holdout", agent="supervisor")
    scores: dict[str, float] = {}
    for h in state.get("hypotheses", {}).values():
        if not h.tested:
            continue
        for name, result in ((h.id, h.result), (f"{h.id}-control", h.control_result)):
            if result is None or not result.ok:
                continue
            value = tools.score_on_holdout(result.run_dir, plan.metric)
            if value is not None:
                scores[name] = value
    updates: dict[str, Any] = {"holdout_scores": scores}
    top = leader(state)
    if plan.question == "why" and top is not None and top.result is not None:
        lost = tools.permutation_importance(top.result.run_dir, plan.metric)
        scale = points_scale(metric_is_loss(plan.metric), top.result.best_score)
        updates["feature_importance"] = {
            column: round(value / scale, 2)
            for column, value in sorted(lost.items(), key=lambda kv: -kv[1])
        }
    return updates


def overview(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """The research overview: the answer first, then what was tested and what held."""
    ctx = runtime.context
    plan = state["plan"]
    answer = build_answer(
        plan,
        state.get("hypotheses", {}),
        state.get("holdout_scores", {}),
        state.get("feature_importance"),
    )
    facts = [f"Answer ({plan.question}): {answer.sentence}", *round_facts(state, None)]
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
    summary = guard.text("overview summary", draft.summary) if draft else None
    if summary:
        vocabulary = [*family_names(plan.task), *FACTORS]
        claims = unsupported_claims(summary, " ".join(facts), vocabulary)
        if claims:
            guard.dropped.append(
                f"overview summary: names {', '.join(claims)}, which no measured fact mentions"
            )
        else:
            text += (
                f"\n\nSummary in the model's words (not a finding; the facts above are): {summary}"
            )
    return {"overview": text, **guard.updates()}
