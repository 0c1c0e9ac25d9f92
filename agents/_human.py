"""What a person decides at the review pause, and how it changes the run.

The CLI collects a :class:`ReviewDecisions` (interactively, from flags, or from a YAML or
JSON file) and resumes the graph with it; the human-review node applies it with
:func:`apply_decisions`. People's hypotheses compete like any other; their reviews are
shown to the ranking and meta-review agents.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents._elo import INITIAL_ELO
from agents._guard import CoScientistError
from agents._messages import Hypothesis, Prediction, ResearchPlan, Review
from agents._questions import Factor
from agents._specs import build_spec, conform_spec
from automl_backend import BackendError, ExperimentSpec, family_names


class ReviewRequest(BaseModel):
    """The interrupt payload: which proposals wait for a person."""

    model_config = ConfigDict(extra="forbid")
    round: int
    hypothesis_ids: list[str]


class HumanDecision(BaseModel):
    """Approve, reject (with a reason) or edit (statement and/or experiment) one proposal."""

    model_config = ConfigDict(extra="forbid")
    id: str
    action: Literal["approve", "reject", "edit"]
    reason: str | None = None
    statement: str | None = Field(default=None, min_length=1, max_length=500)
    families: list[str] | None = None
    """Edit shortcut: search the default spaces of these families."""
    spec: ExperimentSpec | None = None
    """Edit: a full experiment (its task, metric, folds and seed are set to the run's)."""

    @model_validator(mode="after")
    def _edit_changes_something(self) -> HumanDecision:
        if self.action == "edit" and not (self.statement or self.families or self.spec):
            raise ValueError(f"edit of {self.id} changes nothing: give statement, families or spec")
        if self.families is not None and self.spec is not None:
            raise ValueError(f"edit of {self.id}: give families or spec, not both")
        return self


class HumanHypothesis(BaseModel):
    """A person's own hypothesis: an intervention with a control, like any other.

    The treatment arm is ``families`` or ``spec``; the control arm is
    ``control_families`` or ``control_spec`` (neither: a tuned reference family, the
    control of a family question). ``factor`` names what the two arms differ in, and
    ``control_label`` / ``treatment_label`` its two levels in words. The prediction is
    registered from ``expected_gain_points`` and ``direction`` (``better`` when the gain
    is positive unless given).
    """

    model_config = ConfigDict(extra="forbid")
    statement: str = Field(min_length=1, max_length=500)
    rationale: str = ""
    factor: Factor = "family"
    families: list[str] | None = None
    spec: ExperimentSpec | None = None
    control_families: list[str] | None = None
    control_spec: ExperimentSpec | None = None
    control_label: str | None = Field(default=None, max_length=200)
    treatment_label: str | None = Field(default=None, max_length=200)
    direction: Literal["better", "not_worse"] | None = None
    expected_gain_points: float = Field(default=1.0, ge=-100, le=100)

    @model_validator(mode="after")
    def _one_experiment(self) -> HumanHypothesis:
        if (self.families is None) == (self.spec is None):
            raise ValueError("a hypothesis needs exactly one of families or spec")
        if self.control_families is not None and self.control_spec is not None:
            raise ValueError("the control is control_families or control_spec, not both")
        return self

    def prediction(self, control_label: str, rope_points: float) -> Prediction:
        """The registered prediction: beat the control by the gain, or stay within it."""
        gain = self.expected_gain_points
        direction = self.direction or ("better" if gain > 0 else "not_worse")
        points = abs(gain) if direction == "better" else max(abs(gain), rope_points)
        return Prediction(direction=direction, min_effect_points=points, control=control_label)


class HumanReviewNote(BaseModel):
    """A person's review of any hypothesis of the run."""

    model_config = ConfigDict(extra="forbid")
    id: str
    text: str = Field(min_length=1, max_length=1000)


class ReviewDecisions(BaseModel):
    """Everything decided at one pause. Proposals not mentioned get ``others``."""

    model_config = ConfigDict(extra="forbid")
    decisions: list[HumanDecision] = Field(default_factory=list)
    add: list[HumanHypothesis] = Field(default_factory=list)
    reviews: list[HumanReviewNote] = Field(default_factory=list)
    others: Literal["approve", "reject"] = "approve"


def load_decisions(path: Path) -> ReviewDecisions:
    """Read decisions from a YAML or JSON file; problems become one-line errors."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CoScientistError(f"cannot read decisions file {path}: {exc}") from None
    try:
        return ReviewDecisions.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CoScientistError(f"{path}: {where}: {first['msg']}") from None


def check_compute(spec: ExperimentSpec, where: str, cores: int | None = None) -> None:
    """Refuse a person's spec that asks for more parallel threads than the machine has cores.

    A spec allows up to 256 x 256; run as asked, such an experiment would swamp the
    machine and starve the rest of the run. ``cores`` defaults to ``os.cpu_count()``.
    """
    cores = cores or os.cpu_count() or 1
    jobs, threads = spec.budget.n_jobs, spec.budget.threads_per_trial
    if jobs * threads > cores:
        raise CoScientistError(
            f"{where}: the spec asks for budget.n_jobs {jobs} x budget.threads_per_trial "
            f"{threads} = {jobs * threads} threads, but this machine has {cores} cores: "
            f"lower them so that their product is at most {cores}"
        )


def check_decisions(
    decisions: ReviewDecisions, *, waiting: Sequence[str], known: Iterable[str], task: str
) -> None:
    """Fail now, in one line, on decisions that the resumed run would reject."""
    unknown = sorted({d.id for d in decisions.decisions} - set(waiting))
    if unknown:
        raise CoScientistError(
            f"{', '.join(unknown)} not waiting for review; waiting: {', '.join(waiting)}"
        )
    valid = set(family_names(task))
    named = [d.families for d in decisions.decisions] + [a.families for a in decisions.add]
    for families in named + [a.control_families for a in decisions.add]:
        bad = sorted(set(families or []) - valid)
        if bad:
            raise CoScientistError(
                f"unknown model families {bad} for {task}; valid: {', '.join(sorted(valid))}"
            )
    known_ids = set(known)
    missing = sorted({n.id for n in decisions.reviews} - known_ids)
    if missing:
        raise CoScientistError(f"reviews for unknown hypotheses {', '.join(missing)}")
    for d in decisions.decisions:
        if d.spec is not None:
            check_compute(d.spec, d.id)
    for n, own in enumerate(decisions.add, start=1):
        for spec in (own.spec, own.control_spec):
            if spec is not None:
                check_compute(spec, f"your hypothesis {n}")


def _experiment(
    plan: ResearchPlan, hid: str, families: list[str] | None, spec: ExperimentSpec | None
) -> ExperimentSpec:
    try:
        if spec is not None:
            check_compute(spec, hid)
            return conform_spec(spec.model_copy(update={"name": hid}), plan)
        return build_spec(plan, families or [], name=hid)
    except BackendError as exc:
        raise CoScientistError(f"{hid}: {exc}") from None


def _same_experiment(a: ExperimentSpec, b: ExperimentSpec) -> bool:
    """Whether two arms would run the same search (their names aside)."""
    return a.model_dump(exclude={"name"}) == b.model_dump(exclude={"name"})


def apply_decisions(
    decisions: ReviewDecisions,
    *,
    hypotheses: dict[str, Hypothesis],
    waiting: Sequence[str],
    plan: ResearchPlan,
    round_: int,
    embed: Callable[[list[Hypothesis]], list[list[float]]],
) -> dict[str, Any]:
    """State updates for ``decisions``; a CoScientistError names anything that cannot apply."""
    by_id = {d.id: d for d in decisions.decisions}
    unknown = sorted(set(by_id) - set(waiting))
    if unknown:
        raise CoScientistError(
            f"decisions for {', '.join(unknown)}, which are not waiting for review; "
            f"waiting: {', '.join(waiting) or 'none'}"
        )
    updated: dict[str, Hypothesis] = {}
    reviews: list[Review] = []
    elo: dict[str, float] = {}

    def note(hid: str, verdict: str, text: str) -> None:
        reviews.append(
            Review(
                hypothesis_id=hid,
                round=round_,
                kind="human",
                author="human",
                verdict=verdict,
                text=text,
            )  # type: ignore[arg-type]
        )

    for hid in waiting:
        h = hypotheses[hid]
        decision = by_id.get(hid) or HumanDecision(id=hid, action=decisions.others)
        if decision.action == "reject":
            reason = decision.reason or "rejected by a person"
            updated[hid] = h.model_copy(update={"status": "rejected", "status_reason": reason})
            note(hid, "reject", reason)
            continue
        changes: dict[str, Any] = {"status": "approved"}
        if decision.action == "edit":
            edits = []
            if decision.statement:
                changes["statement"] = decision.statement
                edits.append(f"statement was: {h.statement}")
            if decision.families or decision.spec:
                changes["experiment"] = _experiment(plan, hid, decision.families, decision.spec)
                edits.append("experiment replaced")
            changes["edited_by_human"] = True
            note(hid, "comment", "edited by a person (" + "; ".join(edits) + ")")
        updated[hid] = h.model_copy(update=changes)
        elo[hid] = INITIAL_ELO

    added: list[Hypothesis] = []
    for offset, own in enumerate(decisions.add):
        hid = f"H{len(hypotheses) + offset + 1}"
        treatment = _experiment(plan, hid, own.families, own.spec)
        if own.control_families is None and own.control_spec is None:
            control = _experiment(plan, f"{hid}-control", [plan.reference_family], None)
            default_label = f"a tuned {plan.reference_family}"
        else:
            control = _experiment(plan, f"{hid}-control", own.control_families, own.control_spec)
            default_label = ", ".join(m.family for m in control.models)
        if _same_experiment(treatment, control):
            raise CoScientistError(
                f"{hid}: the control and the treatment are the same experiment; change the "
                f"{own.factor} of one of them"
            )
        control_label = own.control_label or default_label
        added.append(
            Hypothesis(
                id=hid,
                round=round_,
                origin="human",
                statement=own.statement,
                rationale=own.rationale,
                factor=own.factor,
                chosen_by="person",
                control_label=control_label,
                treatment_label=own.treatment_label
                or ", ".join(m.family for m in treatment.models),
                prediction=own.prediction(control_label, plan.rope_points),
                experiment=treatment,
                control=control,
                status="approved",
            )
        )
        elo[hid] = INITIAL_ELO
    known = set(hypotheses) | {h.id for h in added}
    for review in decisions.reviews:
        if review.id not in known:
            raise CoScientistError(
                f"review for {review.id}, which does not exist; known: {', '.join(sorted(known))}"
            )
        note(review.id, "comment", review.text)
    embeddings = dict(
        zip(
            [h.id for h in added],
            embed(added) if added else [],
            strict=True,
        )
    )
    return {
        "hypotheses": {**updated, **{h.id: h for h in added}},
        "reviews": reviews,
        "elo": elo,
        "embeddings": embeddings,
    }
