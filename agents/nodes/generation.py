"""Generation: new hypotheses from the plan, literature, similar past runs and feedback."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents._context import RunContext
from agents._guard import LLMGuard
from agents._messages import Hypothesis, ResearchPlan
from agents._schemas import hypothesis_draft_model
from agents._specs import (
    BASELINE_TEXT,
    build_spec,
    make_prediction,
    names_its_experiment,
    rule_statement,
    untried_families,
)
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import bullet_list, emit, hypothesis_line
from automl_backend import BackendError
from tools import Toolbox


def next_id(taken: int) -> str:
    """Ids are H1, H2, ... in creation order."""
    return f"H{taken + 1}"


def baseline_text(state: ResearchState) -> str:
    baseline = state.get("baseline")
    if baseline is None or baseline.best_score is None:
        return f"{BASELINE_TEXT} (not measured)"
    return f"{BASELINE_TEXT}, mean {baseline.metric} {baseline.best_score:.4f}"


def feedback_text(state: ResearchState) -> str:
    reviews = state.get("meta_reviews", [])
    return f"Feedback from the last round:\n{reviews[-1].as_prompt()}" if reviews else ""


def from_draft(
    draft: BaseModel,
    *,
    hid: str,
    round_: int,
    plan: ResearchPlan,
    baseline_score: float | None,
    citations: dict[str, str],
) -> Hypothesis | None:
    """A Hypothesis from the model's draft, or None if its experiment does not validate."""
    try:
        spec = build_spec(
            plan,
            list(draft.families),  # type: ignore[attr-defined]
            scaling=draft.scaling,  # type: ignore[attr-defined]
            feature_selection=draft.feature_selection,  # type: ignore[attr-defined]
            name=hid,
        )
    except BackendError:
        return None
    cites = [citations[c] for c in getattr(draft, "cites", []) if c in citations]
    statement = draft.statement.strip()  # type: ignore[attr-defined]
    rationale = draft.rationale.strip()  # type: ignore[attr-defined]
    families = [m.family for m in spec.models]
    if not names_its_experiment(statement, families):
        # Keep the model's words as rationale; the claim must say what is tested.
        rationale = f"{statement} {rationale}".strip()
        statement = rule_statement(families, draft.expected_gain_points, plan.metric)  # type: ignore[attr-defined]
    return Hypothesis(
        id=hid,
        round=round_,
        origin="generation",
        statement=statement,
        rationale=rationale,
        prediction=make_prediction(draft.expected_gain_points, plan.metric, baseline_score),  # type: ignore[attr-defined]
        experiment=spec,
        cited_memory_ids=list(dict.fromkeys(cites)),
        status="proposed",
    )


def fallback_hypothesis(
    *,
    hid: str,
    round_: int,
    plan: ResearchPlan,
    baseline_score: float | None,
    existing: list[Hypothesis],
    why: str,
) -> Hypothesis | None:
    """A deterministic hypothesis on a family nobody has tried; None when all were tried."""
    free = untried_families(plan, existing)
    if not free:
        return None
    family = free[0]
    return Hypothesis(
        id=hid,
        round=round_,
        origin="fallback",
        statement=rule_statement([family], 1, plan.metric),
        rationale=f"Made by rule because {why}; {family} has not been tested in this run.",
        prediction=make_prediction(1, plan.metric, baseline_score),
        experiment=build_spec(plan, [family], name=hid),
        status="proposed",
    )


def generate(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient, tools: Toolbox
) -> dict[str, Any]:
    """Propose this round's new hypotheses (one LLM call each, guarded)."""
    ctx = runtime.context
    plan = state["plan"]
    round_ = state.get("round", 1)
    hypotheses = dict(state.get("hypotheses", {}))
    wanted = ctx.hypotheses_per_round
    if round_ > 1:
        wanted = max(1, ctx.hypotheses_per_round - ctx.children_per_round)
    emit(runtime, "agent", f"proposing {wanted} hypotheses", agent="generation")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    literature = tools.search_literature(f"{plan.goal} {plan.objective}", ctx.literature_hits)
    citations = {f"L{i + 1}": hit.citation for i, hit in enumerate(literature)}
    similar = tools.similar_runs(state["profile"], ctx.warm_start_configs)
    baseline = state.get("baseline")
    baseline_score = baseline.best_score if baseline else None
    schema = hypothesis_draft_model(plan.task, tuple(citations))
    new: dict[str, Hypothesis] = {}
    for number in range(1, wanted + 1):
        existing = [*hypotheses.values(), *new.values()]
        hid = next_id(len(existing))
        draft = guard.ask(
            "generation",
            schema,
            max_tokens=240,
            goal=plan.goal,
            objective=plan.objective,
            dataset=plan.dataset,
            metric=plan.metric,
            baseline=baseline_text(state),
            existing=bullet_list(hypothesis_line(h) for h in existing),
            literature=bullet_list(
                f"[{key}] {hit.title}: {hit.text[:200]}"
                for key, hit in zip(citations, literature, strict=True)
            ),
            similar=bullet_list(
                f"{s.record.profile.name}: {s.record.metric} {s.best_score:.4f} with "
                f"{s.best_config.family if s.best_config else '?'}"
                for s in similar
            ),
            feedback=feedback_text(state),
            number=number,
        )
        made = None
        why = "the model's answer was unusable"
        if draft is not None:
            made = from_draft(
                draft,
                hid=hid,
                round_=round_,
                plan=plan,
                baseline_score=baseline_score,
                citations=citations,
            )
            signatures = {h.signature() for h in existing}
            if made is not None and made.signature() in signatures:
                made, why = None, "the model repeated an existing experiment"
        if made is None:
            made = fallback_hypothesis(
                hid=hid,
                round_=round_,
                plan=plan,
                baseline_score=baseline_score,
                existing=existing,
                why=why,
            )
        if made is None:
            emit(runtime, "warning", "no new experiment left to propose", agent="generation")
            break
        new[made.id] = made
        emit(runtime, "hypothesis", made.statement, agent="generation", hypothesis_id=made.id)
    return {"hypotheses": new, **guard.updates()}
