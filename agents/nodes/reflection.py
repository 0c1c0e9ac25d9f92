"""Reflection: deterministic checks plus an LLM review before compute, and an observation
review after it: the paired effect of treatment over control and the verdict on the
registered prediction (confirmed / refuted / inconclusive, from its interval and the
ROPE; see ``agents._effects``).

A proposal whose LLM review scores below :data:`FLAG_BELOW` (mean of correctness, novelty
and feasibility) is flagged: a person sees the flag at review, and under --auto-approve
it is funded after the unflagged ones.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._effects import judge_prediction, measure_effect, points_scale
from agents._guard import LLMGuard
from agents._messages import Hypothesis, ResearchPlan, Review
from agents._schemas import ReviewDraft
from agents._similarity import nearest_duplicate
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes._text import bullet_list, describe_spec, embedding_text, emit, hypothesis_line
from automl_backend import DatasetProfile, metric_is_loss
from tools import Toolbox

FLAG_BELOW = 2.5
"""Mean review score (1-5) under which a proposal is flagged."""
_BASE_SECONDS = {1: 0.05, 2: 0.2, 3: 0.5, 4: 1.0, 5: 0.3}
"""Rough seconds per fit on 1000 rows x 50 features by registry cost rank (SVMs also
grow with the square of the rows, below). Only hopeless experiments are rejected."""


def estimated_trial_seconds(h: Hypothesis, profile: DatasetProfile, folds: int) -> float:
    """A deliberately crude upper-bound guess of one trial's cost (all folds)."""
    from automl_backend import family_info

    k_rows = max(profile.n_rows, 1) / 1000.0
    width = 1.0 + profile.n_features / 50.0
    worst = 0.0
    for family in h.families:
        cost = family_info(family).relative_cost
        seconds = _BASE_SECONDS.get(cost, 1.0) * k_rows * width
        if family == "svm":
            seconds *= k_rows
        worst = max(worst, seconds)
    return worst * folds


def deterministic_checks(
    h: Hypothesis,
    *,
    plan: ResearchPlan,
    profile: DatasetProfile,
    earlier: list[Hypothesis],
    vectors: dict[str, list[float]],
    vector: list[float] | None,
    experiment_time_s: float,
) -> list[str]:
    """Failed checks: spec validity for the task, duplicates (exact and by embedding), budget."""
    failed = []
    problem = h.experiment.task_problem(plan.task)
    if problem:
        failed.append(f"spec: {problem}")
    same = [o.id for o in earlier if o.signature() == h.signature()]
    if same:
        failed.append(f"duplicate: runs the same experiment as {same[0]}")
    elif vector is not None:
        near = nearest_duplicate(vector, {o.id: vectors[o.id] for o in earlier if o.id in vectors})
        if near is not None:
            failed.append(f"duplicate: near-duplicate of {near[0]} (cosine {near[1]:.2f})")
    seconds = estimated_trial_seconds(h, profile, plan.budgets.folds)
    if seconds > experiment_time_s:
        failed.append(
            f"budget: one trial needs roughly {seconds:.0f} s, more than the "
            f"{experiment_time_s:g} s an experiment may take"
        )
    return failed


def reflect(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient, tools: Toolbox
) -> dict[str, Any]:
    """Review every proposal not reviewed yet; guards decide, the LLM critiques."""
    ctx = runtime.context
    plan, profile = state["plan"], state["profile"]
    hypotheses = state.get("hypotheses", {})
    reviewed = {r.hypothesis_id for r in state.get("reviews", []) if r.kind == "initial"}
    pending = sorted(
        (h for h in hypotheses.values() if h.status == "proposed" and h.id not in reviewed),
        key=lambda h: int(h.id[1:]),
    )
    if not pending:
        return {}
    emit(runtime, "agent", f"reviewing {len(pending)} proposals", agent="reflection")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    vectors = dict(state.get("embeddings", {}))
    new_vectors = dict(
        zip([h.id for h in pending], tools.embed([embedding_text(h) for h in pending]), strict=True)
    )
    similar = tools.similar_runs(profile, ctx.warm_start_configs)
    similar_text = bullet_list(
        f"{s.record.hypothesis or s.record.profile.name}: {s.record.metric} {s.best_score:.4f}"
        for s in similar
    )
    updated: dict[str, Hypothesis] = {}
    decided: dict[str, Review] = {}
    cases: dict[str, dict[str, object]] = {}
    round_ = state.get("round", 1)
    # First every deterministic check (they alone decide rejections, which later proposals'
    # duplicate checks see), then one batch of LLM reviews for the proposals that passed.
    for h in pending:
        earlier = [
            o
            for o in [*hypotheses.values(), *updated.values()]
            if o.id != h.id and o.status != "rejected" and int(o.id[1:]) < int(h.id[1:])
        ]
        earlier = list({o.id: o for o in earlier}.values())
        failed = deterministic_checks(
            h,
            plan=plan,
            profile=profile,
            earlier=earlier,
            vectors=vectors,
            vector=new_vectors.get(h.id),
            experiment_time_s=ctx.experiment_time_s,
        )
        if failed:
            text = "; ".join(failed)
            decided[h.id] = _initial_review(
                h, round_, verdict="reject", failed_checks=failed, text=text
            )
            updated[h.id] = h.model_copy(update={"status": "rejected", "status_reason": text})
            emit(runtime, "hypothesis", f"rejected: {text}", agent="reflection", hypothesis_id=h.id)
            continue
        vectors[h.id] = new_vectors[h.id]
        if h.origin == "fallback":
            # Made by rule from what no one has tried: an LLM critique adds nothing but cost.
            decided[h.id] = _initial_review(
                h, round_, verdict="accept", text="made by rule; deterministic checks passed"
            )
            continue
        cases[h.id] = {
            "goal": plan.goal,
            "dataset": plan.dataset,
            "id": h.id,
            "statement": h.statement,
            "rationale": h.rationale or "(none)",
            "experiment": describe_spec(h.experiment),
            "prediction": h.prediction.describe(plan.metric),
            "others": bullet_list([hypothesis_line(o) for o in earlier][-8:]),
            "similar": similar_text,
            "trials": ctx.trials_per_experiment,
        }
    answers = guard.ask_each("reflection", ReviewDraft, list(cases.values()), max_tokens=120)
    drafts = dict(zip(cases, answers, strict=True))
    reviews: list[Review] = []
    for h in pending:
        if h.id in decided:
            reviews.append(decided[h.id])
            continue
        draft = drafts[h.id]
        critique = guard.text("review critique", draft.critique) if draft else None
        text = critique or (
            "checks passed (the LLM review was unusable)"
            if draft is None
            else "checks passed (the LLM critique was dropped by the text filter)"
        )
        if draft is not None:
            mean = (draft.correctness + draft.novelty + draft.feasibility) / 3
            if mean < FLAG_BELOW:
                flag = f"reflection scored it {mean:.1f} of 5 (below {FLAG_BELOW:g})"
                updated[h.id] = h.model_copy(update={"flag": flag})
                text = f"{text} [flagged: {flag}]"
        reviews.append(
            _initial_review(
                h,
                round_,
                verdict="accept",
                correctness=draft.correctness if draft else None,
                novelty=draft.novelty if draft else None,
                feasibility=draft.feasibility if draft else None,
                text=text,
            )
        )
    return {
        "hypotheses": updated,
        "reviews": reviews,
        "embeddings": new_vectors,
        **guard.updates(),
    }


def _initial_review(h: Hypothesis, round_: int, **fields: Any) -> Review:
    """Reflection's review of a proposal before compute."""
    return Review(hypothesis_id=h.id, round=round_, kind="initial", author="reflection", **fields)


def reproduces_control(h: Hypothesis, result: Any, control: Any) -> bool:
    """Whether the treatment's best trial is the control's own: the same configuration
    (family, hyperparameters, preprocessing) on the same data handling. Arms that differ
    in what a configuration does not hold (feature transforms, the training share) fit
    different models from the same configuration, so equal configurations there are no
    reproduction."""
    if result.best_config is None or result.best_config != control.best_config:
        return False
    if h.control is None:
        return True
    treatment, baseline = h.experiment, h.control
    return (
        treatment.features == baseline.features
        and treatment.cv.train_fraction == baseline.cv.train_fraction
    )


def observe(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """After the experiments: the paired effect of each hypothesis and its verdict."""
    plan = state["plan"]
    observed = {r.hypothesis_id for r in state.get("reviews", []) if r.kind == "observation"}
    round_ = state.get("round", 1)
    updated: dict[str, Hypothesis] = {}
    reviews: list[Review] = []
    for h in sorted(state.get("hypotheses", {}).values(), key=lambda h: int(h.id[1:])):
        if h.id in observed or h.result is None:
            continue
        changes: dict[str, Any] = {}
        result, control = h.result, h.control_result
        if not result.ok or (control is not None and not control.ok):
            verdict, text = "inconclusive", f"experiment failed: {h.status_reason or result.reason}"
        elif control is None:
            verdict, text = "inconclusive", "no control arm was measured; no effect to report"
        else:
            reproduced = reproduces_control(h, result, control)
            try:
                effect = measure_effect(
                    result.fold_scores,
                    control.fold_scores,
                    scale=points_scale(metric_is_loss(plan.metric), control.best_score),
                    rope_points=plan.rope_points,
                    reproduced=reproduced,
                )
            except ValueError as exc:
                verdict, text = "inconclusive", f"arms not comparable: {exc}"
            else:
                verdict = judge_prediction(
                    effect, h.prediction.direction, h.prediction.min_effect_points
                )
                changes["effect"] = effect
                text = (
                    f"{h.treatment_label} vs {h.control_label}: {effect.describe()}; ROPE "
                    f"+-{effect.rope_points:g}; predicted: {h.prediction.describe(plan.metric)}"
                )
        changes["verdict"] = verdict
        changes["prediction_held"] = {"confirmed": True, "refuted": False}.get(verdict)
        reviews.append(
            Review(
                hypothesis_id=h.id,
                round=round_,
                kind="observation",
                author="reflection",
                verdict=verdict,  # type: ignore[arg-type]
                text=text,
            )
        )
        updated[h.id] = h.model_copy(update=changes)
        emit(runtime, "hypothesis", f"{verdict}: {text}", agent="reflection", hypothesis_id=h.id)
    return {"hypotheses": updated, "reviews": reviews}
