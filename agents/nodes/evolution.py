"""Evolution: new children of top hypotheses. Parents are never changed; children compete.

The LLM picks an operator (narrow, combine, simplify, out_of_box), a narrowing factor and a
family, and writes the child's claim; code builds the child's experiment. When the chosen
operator gives nothing new (an untested parent cannot be narrowed, a combination adds no
family, the result repeats an existing experiment), the next operator in a fixed order is
tried, and the claim is then written by rule.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents._context import RunContext
from agents._guard import LLMGuard
from agents._messages import Hypothesis, ResearchPlan
from agents._schedule import leader_order
from agents._schemas import EVOLUTION_OPERATORS, evolution_draft_model
from agents._specs import (
    build_spec,
    combined_spec,
    make_prediction,
    names_its_experiment,
    narrowed_spec,
    simplified_spec,
    untried_families,
)
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import emit, evidence
from agents.nodes.generation import feedback_text, next_id
from automl_backend import ExperimentSpec


def families_of(spec: ExperimentSpec) -> list[str]:
    return [m.family for m in spec.models]


def _gain_points(parent: Hypothesis, baseline: float | None) -> float:
    """The parent's measured gain over the baseline, in points (at least 0)."""
    if parent.result is None or parent.result.best_score is None or baseline is None:
        return 1.0
    return max(0.0, round((parent.result.best_score - baseline) * 100.0, 1))


def _child_spec(
    op: str,
    parent: Hypothesis,
    other: Hypothesis | None,
    plan: ResearchPlan,
    factor: float,
    family: str | None,
    taken: list[Hypothesis],
) -> tuple[ExperimentSpec | None, str]:
    """The child's experiment for operator ``op`` and a claim written by rule."""
    if op == "narrow":
        spec = narrowed_spec(parent, factor)
        fam = spec.models[0].family if spec else ""
        return spec, (
            f"Searching {fam} closer to {parent.id}'s best configuration "
            f"({factor:.0%} of each range) scores higher than {parent.id}."
        )
    if op == "combine":
        if other is None:
            return None, ""
        spec = combined_spec(parent, other, plan)
        return spec, f"Searching the families of {parent.id} and {other.id} together beats both."
    if op == "simplify":
        spec = simplified_spec(parent, plan)
        fam = spec.models[0].family if spec else ""
        return spec, f"{fam} alone with plain preprocessing does as well as {parent.id}."
    free = untried_families(plan, taken)
    chosen = family if family in free else (free[0] if free else None)
    if chosen is None:
        return None, ""
    return build_spec(plan, [chosen]), f"An untried family, {chosen}, beats {parent.id}."


def make_child(
    draft: BaseModel | None,
    *,
    hid: str,
    round_: int,
    parent: Hypothesis,
    other: Hypothesis | None,
    plan: ResearchPlan,
    baseline_score: float | None,
    taken: list[Hypothesis],
) -> Hypothesis | None:
    """A new hypothesis derived from ``parent`` (and ``other`` for combine), or None."""
    wanted = getattr(draft, "operator", None)
    order = [wanted] if wanted else []
    order += [op for op in EVOLUTION_OPERATORS if op != wanted]
    factor = float(getattr(draft, "narrowing", 0.5))
    family = getattr(draft, "new_family", None)
    signatures = {h.signature() for h in taken}
    for op in order:
        spec, rule_statement = _child_spec(op, parent, other, plan, factor, family, taken)
        if spec is None:
            continue
        spec = spec.model_copy(update={"name": hid})
        parents = [parent.id] + ([other.id] if op == "combine" and other else [])
        points = _gain_points(parent, baseline_score)
        statement, rationale = rule_statement, f"{op} of {' and '.join(parents)} by rule"
        written = getattr(draft, "statement", "").strip()
        if draft is not None and op == wanted and names_its_experiment(written, families_of(spec)):
            statement = written
            rationale = draft.rationale.strip()  # type: ignore[attr-defined]
        elif draft is not None and op == wanted:
            rationale = f"{rationale}; the model wrote: {written}"
        child = Hypothesis(
            id=hid,
            round=round_,
            origin="evolution",
            statement=statement,
            rationale=rationale,
            prediction=make_prediction(
                0 if op == "simplify" else max(points, 1.0), plan.metric, baseline_score
            ),
            experiment=spec,
            parent_ids=parents,
            operator=op,
            status="proposed",
        )
        if child.signature() not in signatures:
            return child
    return None


def evolve(state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient) -> dict[str, Any]:
    """Derive ``children_per_round`` children from the top of the tournament."""
    ctx = runtime.context
    hypotheses = state.get("hypotheses", {})
    elo = state.get("elo", {})
    tested = [hypotheses[h] for h in leader_order(hypotheses, elo)]
    if ctx.children_per_round == 0 or not tested:
        return {}
    plan = state["plan"]
    round_ = state.get("round", 1)
    baseline = state.get("baseline")
    baseline_score = baseline.best_score if baseline else None
    cluster_of = {hid: i for i, members in enumerate(state.get("clusters", [])) for hid in members}
    emit(runtime, "agent", f"evolving {ctx.children_per_round} children", agent="evolution")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    schema = evolution_draft_model(plan.task)
    new: dict[str, Hypothesis] = {}
    for i in range(ctx.children_per_round):
        parent = tested[i % len(tested)]
        others = [h for h in tested if h.id != parent.id]
        other = next(
            (h for h in others if cluster_of.get(h.id, -1) != cluster_of.get(parent.id, -2)),
            others[0] if others else None,
        )
        best = parent.result.best_config if parent.result else None
        draft = guard.ask(
            "evolution",
            schema,
            max_tokens=240,
            goal=plan.goal,
            metric=plan.metric,
            id=parent.id,
            elo=f"{elo.get(parent.id, 0.0):.0f}",
            statement=parent.statement,
            evidence=evidence(parent, plan.metric),
            best_config=best.model_dump_json() if best else "(none)",
            other_id=other.id if other else "none",
            other_statement=other.statement if other else "(none)",
            feedback=feedback_text(state),
        )
        taken = [*hypotheses.values(), *new.values()]
        child = make_child(
            draft,
            hid=next_id(len(taken)),
            round_=round_,
            parent=parent,
            other=other,
            plan=plan,
            baseline_score=baseline_score,
            taken=taken,
        )
        if child is None:
            continue
        new[child.id] = child
        emit(
            runtime,
            "hypothesis",
            f"{child.operator} of {', '.join(child.parent_ids)}: {child.statement}",
            agent="evolution",
            hypothesis_id=child.id,
        )
    return {"hypotheses": new, **guard.updates()}
