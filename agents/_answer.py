"""The answer to the run's question, built from measured facts only.

report.md and results.json open with it: the question kind, one sentence assembled from
the measured effects and their intervals (never from the LLM's prose), the outcome, and
the evidence table. "No credible difference" and "inconclusive" are answers in their own
right and are said plainly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents._effects import credible_difference
from agents._messages import Hypothesis, ResearchPlan

Outcome = Literal["answered", "no_credible_difference", "inconclusive", "nothing_tested"]


class EvidenceRow(BaseModel):
    """One measured claim: treatment vs control on the run's paired folds."""

    model_config = ConfigDict(extra="forbid")
    hypothesis_id: str
    factor: str
    chosen_by: str
    direction: str
    """The registered prediction: better, or not_worse (within a tolerance)."""
    control: str
    treatment: str
    control_cv: float | None
    treatment_cv: float | None
    effect_points: float
    low: float
    high: float
    difference: Literal["better", "worse", "none", "unclear"]
    """What the interval says against the ROPE, whatever was predicted."""
    verdict: str | None
    """The registered prediction's verdict."""
    control_holdout: float | None = None
    treatment_holdout: float | None = None
    control_size_kb: float | None = None
    treatment_size_kb: float | None = None
    control_ms_per_1000: float | None = None
    treatment_ms_per_1000: float | None = None

    def effect_text(self) -> str:
        return f"{self.effect_points:+.1f} points [{self.low:+.1f}, {self.high:+.1f}]"


class Answer(BaseModel):
    """The run's answer: what was asked, what was found, and the evidence."""

    model_config = ConfigDict(extra="forbid")
    question: str
    sentence: str
    outcome: Outcome
    lever: str | None = None
    """effect: the factor with the largest credible effect (None: none credible)."""
    best: str | None = None
    """best: the treatment (or control) judged best, when one is credibly ahead."""
    smallest: str | None = None
    """constrained: the smallest model credibly within the tolerance of the best."""
    more_data_helps: bool | None = None
    """why: True credibly helps, False inside the ROPE, None unclear or untested."""
    evidence: list[EvidenceRow] = Field(default_factory=list)
    inconclusive_share: float | None = None
    """Share of the measured claims whose verdict is inconclusive."""
    drivers: dict[str, float] = Field(default_factory=dict)
    """why: points the leader loses on the holdout when each column is shuffled (top 5)."""


def evidence_rows(
    hypotheses: Mapping[str, Hypothesis], holdout: Mapping[str, float] | None = None
) -> list[EvidenceRow]:
    """Every tested hypothesis with a measured effect, in creation order."""
    holdout = holdout or {}
    rows = []
    for h in sorted(hypotheses.values(), key=lambda h: int(h.id[1:])):
        if h.effect is None or h.result is None:
            continue
        rows.append(
            EvidenceRow(
                hypothesis_id=h.id,
                factor=h.factor,
                chosen_by=h.chosen_by,
                direction=h.prediction.direction,
                control=h.control_label,
                treatment=h.treatment_label,
                control_cv=h.control_result.best_score if h.control_result else None,
                treatment_cv=h.result.best_score,
                effect_points=h.effect.points,
                low=h.effect.low,
                high=h.effect.high,
                difference=credible_difference(h.effect),
                verdict=h.verdict,
                control_holdout=holdout.get(f"{h.id}-control"),
                treatment_holdout=holdout.get(h.id),
                control_size_kb=h.control_cost.size_kb if h.control_cost else None,
                treatment_size_kb=h.treatment_cost.size_kb if h.treatment_cost else None,
                control_ms_per_1000=(
                    h.control_cost.latency_ms_per_1000_rows if h.control_cost else None
                ),
                treatment_ms_per_1000=(
                    h.treatment_cost.latency_ms_per_1000_rows if h.treatment_cost else None
                ),
            )
        )
    return rows


def _strongest(rows: list[EvidenceRow]) -> EvidenceRow:
    """The row with the largest credible effect (credible ones first, then by size)."""
    return max(rows, key=lambda r: (r.difference in ("better", "worse"), abs(r.effect_points)))


def _factor_words(factor: str) -> str:
    return {
        "family": "changing the model family",
        "scaling": "feature scaling",
        "encoding": "the categorical encoding",
        "feature_selection": "feature selection",
        "class_weighting": "class weighting",
        "train_fraction": "more training data",
        "search_region": "narrowing the search region",
        "ensembling": "ensembling",
        "features": "a new feature",
    }.get(factor, factor)


def _effect_answer(plan: ResearchPlan, rows: list[EvidenceRow]) -> dict[str, Any]:
    asked = [f for f in plan.factors if any(r.factor == f for r in rows)] or sorted(
        {r.factor for r in rows}
    )
    by_factor = {f: _strongest([r for r in rows if r.factor == f]) for f in asked}
    credible = {f: r for f, r in by_factor.items() if r.difference in ("better", "worse")}
    r_pts = plan.rope_points
    if credible:
        lever = max(credible, key=lambda f: abs(credible[f].effect_points))
        top = credible[lever]
        others = [
            f"{by_factor[f].effect_text()} for {_factor_words(f)}" for f in asked if f != lever
        ]
        subject = f" for {', '.join(plan.focus_families)}" if plan.focus_families else ""
        if len(asked) > 1:
            sentence = (
                f"{_factor_words(lever).capitalize()} is the bigger lever{subject}: "
                f"{top.effect_text()} ({top.treatment} vs {top.control}) against "
                f"{'; '.join(others)}."
            )
        else:
            verb = "helps" if top.difference == "better" else "hurts"
            sentence = (
                f"Yes: {_factor_words(lever)} {verb}{subject}: {top.effect_text()} "
                f"({top.treatment} vs {top.control})."
            )
        return {"outcome": "answered", "lever": lever, "sentence": sentence}
    if all(r.difference == "none" for r in by_factor.values()):
        listed = "; ".join(f"{_factor_words(f)} {r.effect_text()}" for f, r in by_factor.items())
        return {
            "outcome": "no_credible_difference",
            "sentence": f"No credible difference: no factor tested changed {plan.metric} by more "
            f"than {r_pts:g} points ({listed}).",
        }
    listed = "; ".join(f"{_factor_words(f)} {r.effect_text()}" for f, r in by_factor.items())
    return {
        "outcome": "inconclusive",
        "sentence": f"Inconclusive: the intervals are too wide to tell whether any factor "
        f"matters by more than {r_pts:g} points ({listed}).",
    }


def _best_answer(plan: ResearchPlan, rows: list[EvidenceRow]) -> dict[str, Any]:
    family_rows = [r for r in rows if r.factor == "family"] or rows
    better = [r for r in family_rows if r.difference == "better"]
    if better:
        top = max(better, key=lambda r: r.effect_points)
        also = [r.treatment for r in better if r is not top]
        tail = f"; also credibly better: {', '.join(also)}" if also else ""
        return {
            "outcome": "answered",
            "best": top.treatment,
            "sentence": f"{top.treatment} is the best tested: {top.effect_text()} over "
            f"{top.control}{tail}.",
        }
    if family_rows and all(r.difference == "worse" for r in family_rows):
        control = family_rows[0].control
        return {
            "outcome": "answered",
            "best": control,
            "sentence": f"{control} is the best tested: every alternative scored credibly lower "
            f"({'; '.join(f'{r.treatment} {r.effect_text()}' for r in family_rows)}).",
        }
    if family_rows and all(r.difference in ("none", "worse") for r in family_rows):
        return {
            "outcome": "no_credible_difference",
            "sentence": "No credible difference among the best families tested: "
            + "; ".join(f"{r.treatment} vs {r.control} {r.effect_text()}" for r in family_rows)
            + f" (ROPE +-{plan.rope_points:g} points).",
        }
    return {
        "outcome": "inconclusive",
        "sentence": "Inconclusive: no model is credibly better than the others; "
        + "; ".join(f"{r.treatment} vs {r.control} {r.effect_text()}" for r in family_rows)
        + ".",
    }


def _constrained_answer(plan: ResearchPlan, rows: list[EvidenceRow]) -> dict[str, Any]:
    tolerance = plan.tolerance_points if plan.tolerance_points is not None else 1.0
    within = [r for r in rows if r.low >= -max(tolerance, plan.rope_points) and r.verdict]
    within = [r for r in within if r.verdict == "confirmed"]
    if within:
        sized = [r for r in within if r.treatment_size_kb is not None]
        pick = min(sized, key=lambda r: r.treatment_size_kb or 0.0) if sized else within[0]
        size = f", {pick.treatment_size_kb:.1f} KB," if pick.treatment_size_kb else ""
        ref = f", {pick.control_size_kb:.1f} KB" if pick.control_size_kb else ""
        relation = (
            f"scores as well as {pick.control}{ref}"
            if pick.effect_points >= 0
            else f"is within {-pick.effect_points:.1f} points of {pick.control}{ref}"
        )
        return {
            "outcome": "answered",
            "smallest": pick.treatment,
            "sentence": f"{pick.treatment}{size} {relation} (effect {pick.effect_text()}; "
            f"tolerance {tolerance:g} points).",
        }
    refuted = [r for r in rows if r.verdict == "refuted"]
    if rows and len(refuted) == len(rows):
        return {
            "outcome": "answered",
            "sentence": f"No smaller model tested is within {tolerance:g} points of the best: "
            + "; ".join(f"{r.treatment} {r.effect_text()}" for r in rows)
            + ".",
        }
    return {
        "outcome": "inconclusive",
        "sentence": f"Inconclusive: no smaller model is credibly within {tolerance:g} points "
        "of the best, nor credibly outside it: "
        + "; ".join(f"{r.treatment} {r.effect_text()}" for r in rows)
        + ".",
    }


def _why_answer(plan: ResearchPlan, rows: list[EvidenceRow]) -> dict[str, Any]:
    curve = [r for r in rows if r.factor == "train_fraction"]
    extra = [r for r in rows if r.factor != "train_fraction"]
    tail = ""
    if extra:
        strongest = [
            _strongest([r for r in extra if r.factor == f])
            for f in dict.fromkeys(r.factor for r in extra)
        ]
        tail = " Other factors (largest effect each): " + "; ".join(
            f"{_factor_words(r.factor)} {r.effect_text()}" for r in strongest
        ) + "."  # fmt: skip
    if not curve:
        return _effect_answer(plan, rows)
    r = _strongest(curve)
    if r.difference == "better":
        return {
            "outcome": "answered",
            "more_data_helps": True,
            "sentence": f"More data helps: {r.treatment} vs {r.control}: {r.effect_text()}." + tail,
        }
    if r.difference in ("none", "worse"):
        return {
            "outcome": "answered",
            "more_data_helps": False,
            "sentence": f"More data is unlikely to help: doubling the training rows changed "
            f"{plan.metric} by {r.effect_text()}, inside the ROPE of "
            f"+-{plan.rope_points:g} points." + tail,
        }
    return {
        "outcome": "inconclusive",
        "sentence": f"Inconclusive whether more data helps: {r.effect_text()}." + tail,
    }


def build_answer(
    plan: ResearchPlan,
    hypotheses: Mapping[str, Hypothesis],
    holdout: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
) -> Answer:
    """The answer to ``plan.question`` from the measured effects of ``hypotheses`` (and,
    for why questions, the leader's permutation importance on the holdout)."""
    rows = evidence_rows(hypotheses, holdout)
    drivers = dict(list((importance or {}).items())[:5])
    if not rows:
        return Answer(
            question=plan.question,
            outcome="nothing_tested",
            sentence="No hypothesis was measured against its control, so the question has no "
            "answer yet.",
        )
    if plan.question == "constrained":
        pick = [r for r in rows if r.direction == "not_worse" and r.factor == "family"]
        fields = _constrained_answer(plan, pick or rows)
    elif plan.question == "why":
        fields = _why_answer(plan, rows)
    elif plan.question == "effect":
        fields = _effect_answer(plan, rows)
    else:
        fields = _best_answer(plan, rows)
    judged = [r for r in rows if r.verdict is not None]
    share = sum(r.verdict == "inconclusive" for r in judged) / len(judged) if judged else None
    if plan.question == "why" and drivers:
        listed = ", ".join(f"{c} {v:.1f}" for c, v in drivers.items())
        fields["sentence"] += (
            f" The features the leader leans on most (points lost on the holdout when one "
            f"is shuffled): {listed}."
        )
    return Answer(
        drivers=drivers,
        question=plan.question,
        evidence=rows,
        inconclusive_share=round(share, 3) if share is not None else None,
        **fields,
    )


__all__ = ["Answer", "EvidenceRow", "build_answer", "evidence_rows"]
