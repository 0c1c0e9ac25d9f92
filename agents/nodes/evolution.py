"""Evolution: new children of top hypotheses. Parents are never changed; children compete.

A child is an intervention on its parent: its control arm is the parent's treatment (the
same spec, so the measured arm is reused when the budgets match) and its claim is
against the parent, not against any baseline, so a child can lose. The LLM picks an
operator (narrow, combine, simplify, out_of_box), a narrowing factor and a family; code
builds the child's experiment and writes its claim. When the chosen operator gives
nothing new (an untested parent cannot be narrowed, a combination adds no family, the
result repeats an existing arm), the next operator in a fixed order is tried. A child
whose experiment equals any arm already in the run is rejected before compute.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents._context import RunContext
from agents._guard import LLMGuard
from agents._messages import Hypothesis, Prediction, ResearchPlan
from agents._schedule import leader_order
from agents._schemas import EVOLUTION_OPERATORS, evolution_draft_model
from agents._signature import spec_signature
from agents._specs import (
    build_spec,
    combined_spec,
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


_FACTOR_OF = {"narrow": "search_region", "combine": "family", "simplify": "family",
              "out_of_box": "family"}  # fmt: skip


def _child_spec(
    op: str,
    parent: Hypothesis,
    other: Hypothesis | None,
    plan: ResearchPlan,
    factor: float,
    family: str | None,
    taken: list[Hypothesis],
) -> tuple[ExperimentSpec | None, str]:
    """The child's treatment arm for operator ``op`` and its label."""
    if op == "narrow":
        spec = narrowed_spec(parent, factor)
        return spec, f"{parent.id}'s search narrowed to {factor:.0%} of each range around its best"
    if op == "combine":
        if other is None:
            return None, ""
        spec = combined_spec(parent, other, plan)
        names = ", ".join(m.family for m in spec.models) if spec else ""
        return spec, f"the families of {parent.id} and {other.id} searched together ({names})"
    if op == "simplify":
        spec = simplified_spec(parent, plan)
        fam = spec.models[0].family if spec else ""
        return spec, f"{fam} alone with plain preprocessing"
    free = untried_families(plan, taken)
    chosen = family if family in free else (free[0] if free else None)
    if chosen is None:
        return None, ""
    return build_spec(plan, [chosen]), f"an untried family, {chosen}"


def _arm_signatures(hypotheses: list[Hypothesis]) -> set[str]:
    out = set()
    for h in hypotheses:
        out.add(spec_signature(h.experiment))
        if h.control is not None:
            out.add(spec_signature(h.control))
    return out


def make_child(
    draft: BaseModel | None,
    *,
    hid: str,
    round_: int,
    parent: Hypothesis,
    other: Hypothesis | None,
    plan: ResearchPlan,
    taken: list[Hypothesis],
    guard: LLMGuard | None = None,
) -> Hypothesis | None:
    """A new hypothesis derived from ``parent`` (and ``other`` for combine), or None."""
    wanted = getattr(draft, "operator", None)
    order = [wanted] if wanted else []
    order += [op for op in EVOLUTION_OPERATORS if op != wanted]
    factor = float(getattr(draft, "narrowing", 0.5))
    family = getattr(draft, "new_family", None)
    existing = _arm_signatures(taken)
    for op in order:
        spec, label = _child_spec(op, parent, other, plan, factor, family, taken)
        if spec is None or spec_signature(spec) in existing:
            continue
        spec = spec.model_copy(update={"name": hid})
        parents = [parent.id] + ([other.id] if op == "combine" and other else [])
        control_label = f"{parent.id} ({parent.treatment_label or ', '.join(parent.families)})"
        direction = "not_worse" if op == "simplify" else "better"
        points = plan.rope_points if op == "simplify" else max(1.0, plan.rope_points)
        prediction = Prediction(
            direction=direction, min_effect_points=points, control=control_label
        )
        label = label[0].upper() + label[1:]
        if direction == "better":
            statement = (
                f"{label} beats {control_label} by at least {points:g} points of {plan.metric}."
            )
        else:
            statement = (
                f"{label} scores within {points:g} points of {control_label} on {plan.metric}."
            )
        rationale = f"{op} of {' and '.join(parents)} by rule"
        if draft is not None and op == wanted:
            written = guard.text("evolution rationale", draft.rationale) if guard else None  # type: ignore[attr-defined]
            if written:
                rationale = written
        return Hypothesis(
            id=hid,
            round=round_,
            origin="evolution",
            statement=statement,
            rationale=rationale,
            factor=_FACTOR_OF[op],  # type: ignore[arg-type]
            chosen_by="model" if draft is not None and op == wanted else "rule",
            control_label=control_label,
            treatment_label=label,
            prediction=prediction,
            experiment=spec,
            control=parent.experiment.model_copy(update={"name": f"{hid}-control"}),
            parent_ids=parents,
            operator=op,
            status="proposed",
        )
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
    cluster_of = {hid: i for i, members in enumerate(state.get("clusters", [])) for hid in members}
    emit(runtime, "agent", f"evolving {ctx.children_per_round} children", agent="evolution")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    schema = evolution_draft_model(plan.task)
    pairs: list[tuple[Hypothesis, Hypothesis | None]] = []
    cases: list[dict[str, object]] = []
    for i in range(ctx.children_per_round):
        parent = tested[i % len(tested)]
        others = [h for h in tested if h.id != parent.id]
        other = next(
            (h for h in others if cluster_of.get(h.id, -1) != cluster_of.get(parent.id, -2)),
            others[0] if others else None,
        )
        best = parent.result.best_config if parent.result else None
        pairs.append((parent, other))
        cases.append(
            {
                "goal": plan.goal,
                "metric": plan.metric,
                "id": parent.id,
                "elo": f"{elo.get(parent.id, 0.0):.0f}",
                "statement": parent.statement,
                "evidence": evidence(parent, plan.metric),
                "best_config": best.model_dump_json() if best else "(none)",
                "other_id": other.id if other else "none",
                "other_statement": other.statement if other else "(none)",
                "feedback": feedback_text(state),
            }
        )
    # The drafts are independent (one batch); turning them into children is not: each
    # child must differ from those made before it.
    drafts = guard.ask_each("evolution", schema, cases, max_tokens=240)
    new: dict[str, Hypothesis] = {}
    for (parent, other), draft in zip(pairs, drafts, strict=True):
        taken = [*hypotheses.values(), *new.values()]
        child = make_child(
            draft,
            hid=next_id(len(taken)),
            round_=round_,
            parent=parent,
            other=other,
            plan=plan,
            taken=taken,
            guard=guard,
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
