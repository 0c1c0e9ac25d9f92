"""Generation: new hypotheses, each an intervention with a control, chosen from a closed list.

Rules build every intervention that applies to the plan and the data (``agents._design``):
one factor changed between a control and a treatment arm, with the prediction registered
before compute. The LLM sees the options for the factor the question needs next, with the
literature retrieved for that factor, and picks one by key; when its answer is unusable a
rule picks the first. The meta-review's next actions reorder the options, so what the last
round found steers what is tested next. The claim is written by rule from the two arms;
the model's rationale is kept only if it passes the sanity filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._design import Intervention, interventions
from agents._guard import LLMGuard
from agents._messages import ChosenBy, Hypothesis, MetaReview, Prediction, ResearchPlan
from agents._schemas import hypothesis_draft_model
from agents._signature import spec_signature
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import bullet_list, emit, hypothesis_line
from tools import Toolbox

MAX_OPTIONS = 6
"""Interventions offered to the LLM per hypothesis (a short enum suits a small model)."""
FACTOR_TOPICS: dict[str, str] = {
    "family": "choosing a model family for tabular data: tree ensembles, linear models, kNN",
    "scaling": "feature scaling for distance-based models such as kNN and SVM",
    "encoding": "categorical encoding: one-hot versus ordinal and target encoding",
    "feature_selection": "feature selection: filter methods and k-best",
    "class_weighting": "class imbalance: class weighting and resampling",
    "train_fraction": "would more training data help: learning curves",
    "search_region": "hyperparameter search regions and narrowing around good configurations",
    "ensembling": "ensembling: bagging, boosting, stacking and ensemble selection",
    "features": "feature engineering: ratios, products and log transforms of columns",
}
QUESTION_TOPICS: dict[str, str] = {
    "best": "which model is best",
    "effect": "does a factor help, which lever matters most",
    "constrained": "model size and compression: the smallest model within a tolerance",
    "why": "what drives the score, would more data help",
}


def next_id(taken: int) -> str:
    """Ids are H1, H2, ... in creation order."""
    return f"H{taken + 1}"


def feedback_text(state: ResearchState) -> str:
    reviews = state.get("meta_reviews", [])
    return f"Feedback from the last round:\n{reviews[-1].as_prompt()}" if reviews else ""


def literature_query(factor: str, question: str) -> str:
    """The memory query of one hypothesis: its factor's topic and the question's kind."""
    return f"{FACTOR_TOPICS.get(factor, factor)}; {QUESTION_TOPICS.get(question, question)}"


def intervention_signature(item: Intervention) -> str:
    return (
        f"{item.factor}|control {spec_signature(item.control)}|treatment "
        f"{spec_signature(item.treatment)}"
    )


def steer(options: list[Intervention], review: MetaReview | None) -> list[Intervention]:
    """``options`` reordered by the last meta-review's next actions: factors to expand or
    still open first (in the actions' order), dropped interventions removed."""
    if review is None or not review.next_actions:
        return options
    dropped = {a.key for a in review.next_actions if a.action == "drop" and a.key}
    wanted = [a.factor for a in review.next_actions if a.action in ("expand", "open")]
    kept = [o for o in options if o.key not in dropped]
    rank = {factor: i for i, factor in reversed(list(enumerate(wanted)))}
    return sorted(kept, key=lambda o: rank.get(o.factor, len(rank)))


def offered(
    options: Sequence[Intervention], plan: ResearchPlan, existing: Sequence[Hypothesis]
) -> tuple[str, list[Intervention]]:
    """(factor, options): the first of the plan's factors no hypothesis covers yet (so one
    round tests each of them), else the factor of the best remaining option."""
    covered = {h.factor for h in existing}
    for factor in plan.factors:
        if factor not in covered:
            mine = [o for o in options if o.factor == factor]
            if mine:
                return factor, mine[:MAX_OPTIONS]
    if not options:
        return "", []
    factor = options[0].factor
    return factor, [o for o in options if o.factor == factor][:MAX_OPTIONS]


def from_intervention(
    item: Intervention,
    *,
    hid: str,
    round_: int,
    plan: ResearchPlan,
    chosen_by: ChosenBy,
    rationale: str,
    gain_points: float | None,
    citations: Sequence[str] = (),
    passages: Sequence[str] = (),
    origin: str = "generation",
) -> Hypothesis:
    """A Hypothesis testing ``item``; the claim is written by rule from its two arms."""
    if gain_points is not None and item.direction == "better":
        item = replace(item, min_effect_points=float(gain_points))
    prediction: Prediction = item.prediction()
    return Hypothesis(
        id=hid,
        round=round_,
        origin=origin,  # type: ignore[arg-type]
        statement=item.statement(plan.metric),
        rationale=rationale,
        factor=item.factor,
        design_key=item.key,
        chosen_by=chosen_by,
        control_label=item.control_label,
        treatment_label=item.treatment_label,
        prediction=prediction,
        experiment=item.treatment.model_copy(update={"name": hid}),
        control=item.control.model_copy(update={"name": f"{hid}-control"}),
        cited_memory_ids=list(dict.fromkeys(citations)),
        cited_passages=list(dict.fromkeys(passages)),
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
    similar = tools.similar_runs(state["profile"], ctx.warm_start_configs)
    reviews = state.get("meta_reviews", [])
    candidates = steer(
        interventions(
            plan,
            state["profile"],
            feature_candidates=tools.feature_candidates(kinds=plan.focus_transforms or None),
        ),
        reviews[-1] if reviews else None,
    )
    new: dict[str, Hypothesis] = {}
    for number in range(1, wanted + 1):
        existing = [*hypotheses.values(), *new.values()]
        taken = {h.signature() for h in existing}
        options = [c for c in candidates if intervention_signature(c) not in taken]
        factor, choices = offered(options, plan, existing)
        if not choices:
            emit(runtime, "warning", "no new intervention left to propose", agent="generation")
            break
        hid = next_id(len(existing))
        literature = tools.search_literature(
            literature_query(factor, plan.question), ctx.literature_hits
        )
        citations = {f"L{i + 1}": hit for i, hit in enumerate(literature)}
        schema = hypothesis_draft_model(tuple(c.key for c in choices), tuple(citations))
        draft = guard.ask(
            "generation",
            schema,
            max_tokens=200,
            goal=plan.goal,
            question=f"{plan.question} ({QUESTION_TOPICS[plan.question]}); factors: "
            f"{', '.join(plan.factors)}",
            dataset=plan.dataset,
            metric=plan.metric,
            existing=bullet_list(hypothesis_line(h) for h in existing),
            options=bullet_list(
                f"{c.key}: {c.treatment_label} vs {c.control_label}" for c in choices
            ),
            topic=FACTOR_TOPICS.get(factor, factor),
            literature=bullet_list(
                f"[{key}] {hit.title}: {hit.text[:200]}" for key, hit in citations.items()
            ),
            similar=bullet_list(
                f"{s.record.profile.name}: {s.record.metric} {s.best_score:.4f} with "
                f"{s.best_config.family if s.best_config else '?'}"
                for s in similar
            ),
            feedback=feedback_text(state),
            number=number,
        )
        by_key = {c.key: c for c in choices}
        chosen_by: ChosenBy = "rule"
        item = choices[0]
        rationale = f"chosen by rule: the first {factor} option the question needs"
        gain: float | None = None
        cited_keys: list[str] = []
        if draft is not None and draft.intervention in by_key:  # type: ignore[attr-defined]
            item, chosen_by = by_key[draft.intervention], "model"  # type: ignore[attr-defined]
            gain = float(draft.expected_gain_points)  # type: ignore[attr-defined]
            written = guard.text("generation rationale", draft.rationale)  # type: ignore[attr-defined]
            rationale = written or "(the model's rationale was dropped by the text filter)"
            cited_keys = [c for c in getattr(draft, "cites", []) if c in citations]
        used = [citations[k] for k in cited_keys] or list(citations.values())
        made = from_intervention(
            item,
            hid=hid,
            round_=round_,
            plan=plan,
            chosen_by=chosen_by,
            rationale=rationale,
            gain_points=gain,
            citations=[hit.citation for hit in used],
            passages=[f"{hit.title}: {hit.text[:240]}" for hit in used],
        )
        new[made.id] = made
        emit(
            runtime,
            "hypothesis",
            f"{made.statement} ({made.factor}, chosen by {chosen_by})",
            agent="generation",
            hypothesis_id=made.id,
        )
    return {"hypotheses": new, **guard.updates()}
