"""The messages agents exchange: one pydantic model each, checkpointed as they are.

``ResearchPlan``, ``Hypothesis``, ``Review``, ``Match`` and ``MetaReview`` are the domain
records kept in the graph state and written to results.json. What a language model is
asked to fill in is smaller and lives in ``agents/_schemas.py``; deterministic code turns
those drafts into the records below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents._effects import Effect, Verdict
from agents._questions import Factor, QuestionKind
from agents._signature import spec_signature
from automl_backend import DatasetProfile, ExperimentResult, ExperimentSpec, TrialConfig

HypothesisStatus = Literal["proposed", "approved", "rejected", "tested", "failed"]
"""proposed: waiting for review; approved: may receive compute; rejected: by a guard or a
person (see ``status_reason``); tested: has an ok result; failed: its experiment crashed."""
Origin = Literal["generation", "evolution", "human", "fallback"]
"""fallback: made by deterministic code because the LLM's answer was unusable."""
TaskName = Literal["binary", "multiclass", "regression"]
ChosenBy = Literal["model", "rule", "person"]
"""Who chose a hypothesis's factor and levels: the LLM (from the closed list of
interventions), a deterministic rule, or a person."""
Secondary = Literal["model_size", "latency"]


class Budgets(BaseModel):
    """How much a run may spend; fixed by the person, never by the LLM."""

    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(ge=1, le=50)
    hypotheses_per_round: int = Field(ge=1, le=50)
    children_per_round: int = Field(ge=0, le=20)
    trials_per_experiment: int = Field(ge=1, le=10_000)
    """Average Optuna trials per experiment; a round's total is spread by priority."""
    experiment_time_s: float = Field(gt=0)
    """Time cap of an average experiment (scaled with its share of the trials)."""
    time_budget_s: float | None = Field(default=None, gt=0)
    """Total compute time of the run (experiments plus LLM), or None for no limit."""
    folds: int = Field(ge=2, le=20)
    seed: int = Field(ge=0)


class ResearchPlan(BaseModel):
    """The supervisor's reading of the goal against the data: the question, its factors."""

    model_config = ConfigDict(extra="forbid")
    goal: str
    task: TaskName
    """What the data supports (inferred from the target), whatever the goal says."""
    metric: str
    """Primary metric, higher-is-better as the backend reports it."""
    objective: str
    """The goal restated as a measurable objective."""
    question: QuestionKind = "best"
    """best / effect / constrained / why (see DESIGN.md, Research questions)."""
    question_source: Literal["model", "rule"] = "rule"
    """Whether the LLM's pick from the closed list or the rules on the goal's wording
    chose the question kind."""
    factors: list[Factor] = Field(default_factory=list)
    """The factors the question is about; the experiments must include them."""
    focus_families: list[str] = Field(default_factory=list)
    """Model families the question is restricted to (e.g. kNN-style models)."""
    focus_transforms: list[str] = Field(default_factory=list)
    """Feature-transform kinds the question names (e.g. ``ratio``); feature hypotheses
    then test only transforms of these kinds."""
    reference_family: str = "hist_gradient_boosting"
    """The control family of family interventions."""
    tolerance_points: float | None = None
    """constrained: how far below the best a smaller model may score, in points."""
    secondary: Secondary | None = None
    """constrained: the secondary objective (model size or predict latency)."""
    rope_points: float = Field(default=1.0, ge=0)
    """Differences within this many points are practically nil (verdicts)."""
    holdout_fraction: float = Field(default=0.0, ge=0, lt=1)
    """Share of the rows set aside before anything saw the data, scored once at the end."""
    constraints: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """Where the goal and the data disagree (e.g. a regression goal on a class target)."""
    dataset: str
    """One-paragraph description of the data set (DatasetProfile.describe)."""
    budgets: Budgets


class Prediction(BaseModel):
    """Registered before any experiment: how the treatment arm will compare to the control.

    Effects are in points of the metric: 0.01 of a bounded metric, 1 % of the control's
    loss for rmse, mae and log_loss.
    """

    model_config = ConfigDict(extra="forbid")
    direction: Literal["better", "not_worse"]
    """better: the treatment beats the control by at least ``min_effect_points``;
    not_worse: it stays within ``min_effect_points`` (a tolerance) of the control."""
    min_effect_points: float = Field(ge=0)
    control: str
    """What the control arm is, in words."""
    secondary: Secondary | None = None
    """constrained questions: the treatment is also smaller / faster (measured)."""

    def describe(self, metric: str) -> str:
        what = {"model_size": "smaller", "latency": "faster to predict"}
        extra = f", and is {what[self.secondary]}" if self.secondary else ""
        if self.direction == "better":
            return (
                f"beats {self.control} by >= {self.min_effect_points:g} points of {metric}{extra}"
            )
        return (
            f"stays within {self.min_effect_points:g} points of {self.control} on {metric}{extra}"
        )


class ArmCost(BaseModel):
    """Measured cost of an arm's final model: size on disk and predict latency."""

    model_config = ConfigDict(extra="forbid")
    size_kb: float
    latency_ms_per_1000_rows: float


class Hypothesis(BaseModel):
    """An intervention with a control: a falsifiable claim about one factor, the two
    experiments that test it, and what happened to it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    """H1, H2, ... in creation order (stable, so replays line up)."""
    round: int = Field(ge=1)
    origin: Origin
    statement: str = Field(min_length=1)
    rationale: str = ""
    factor: Factor = "family"
    """The one factor in which the two arms differ."""
    design_key: str | None = None
    """The key of the rule-built intervention it tests (``agents._design``), if any."""
    chosen_by: ChosenBy = "rule"
    """Who chose the factor and its levels (the LLM, a rule or a person)."""
    control_label: str = ""
    treatment_label: str = ""
    prediction: Prediction
    experiment: ExperimentSpec
    """The treatment arm. Validated against the backend registry; its budget is set when
    compute is allocated."""
    control: ExperimentSpec | None = None
    """The control arm: the same experiment but for the factor (same folds, seed, budget)."""
    cited_memory_ids: list[str] = Field(default_factory=list)
    cited_passages: list[str] = Field(default_factory=list)
    """The literature passages retrieved for this hypothesis's factor and shown to the
    model (title: excerpt)."""
    parent_ids: list[str] = Field(default_factory=list)
    operator: str | None = None
    """How evolution made it (narrow, combine, simplify, out_of_box)."""
    status: HypothesisStatus = "proposed"
    status_reason: str | None = None
    flag: str | None = None
    """Why reflection flagged it (a low review score); flagged proposals are funded last
    under --auto-approve."""
    edited_by_human: bool = False
    result: ExperimentResult | None = None
    """The treatment arm's result."""
    control_result: ExperimentResult | None = None
    treatment_cost: ArmCost | None = None
    control_cost: ArmCost | None = None
    trials_allocated: int = 0
    effect: Effect | None = None
    """Treatment minus control on the paired folds, with its 95 % interval."""
    verdict: Verdict | None = None
    """The registered prediction judged on ``effect`` (interval and ROPE)."""
    prediction_held: bool | None = None
    """confirmed: True, refuted: False, inconclusive or untested: None."""

    @property
    def families(self) -> list[str]:
        return [m.family for m in self.experiment.models]

    @property
    def tested(self) -> bool:
        return self.status == "tested" and self.result is not None and self.result.ok

    def signature(self) -> str:
        """What the two arms run, for exact-duplicate checks."""
        control = spec_signature(self.control) if self.control is not None else "-"
        return f"{self.factor}|control {control}|treatment {spec_signature(self.experiment)}"


class Review(BaseModel):
    """A critique of one hypothesis: before compute (initial), after it (observation),
    or from a person (human)."""

    model_config = ConfigDict(extra="forbid")
    hypothesis_id: str
    round: int = Field(ge=0)
    kind: Literal["initial", "observation", "human"]
    author: Literal["reflection", "human"]
    verdict: Literal["accept", "reject", "confirmed", "refuted", "inconclusive", "comment"]
    failed_checks: list[str] = Field(default_factory=list)
    """Deterministic checks that failed (spec, duplicate, budget)."""
    correctness: int | None = Field(default=None, ge=1, le=5)
    novelty: int | None = Field(default=None, ge=1, le=5)
    feasibility: int | None = Field(default=None, ge=1, le=5)
    text: str = ""


class Match(BaseModel):
    """One tournament game and why it ended as it did."""

    model_config = ConfigDict(extra="forbid")
    round: int = Field(ge=1)
    index: int = Field(ge=0)
    """Position in the run's sequence of matches."""
    a: str
    b: str
    winner: Literal["a", "b", "draw"]
    method: Literal["measured", "debate", "single_turn", "fallback"]
    """measured: per-fold scores; debate/single_turn: LLM; fallback: LLM answer unusable."""
    reason: str
    mean_diff: float | None = None
    """Measured: mean per-fold score of a minus b."""
    prob_a: float | None = None
    """Measured: posterior probability that a is better by more than the rope."""
    prob_b: float | None = None
    elo_before: tuple[float, float]
    elo_after: tuple[float, float]
    anchor: str | None = None
    """LLM-judged: the side that was already tested, whose rating the judgement left as it
    was (measurements overrule opinions); None when both sides moved."""


class EloSnapshot(BaseModel):
    """Every rating at one point of the run (after a ranking pass)."""

    model_config = ConfigDict(extra="forbid")
    round: int = Field(ge=0)
    phase: Literal["proposals", "results"]
    ratings: dict[str, float]
    superseded: dict[str, float] = Field(default_factory=dict)
    """Pre-test, LLM-derived ratings that this pass replaced by ratings rebuilt from
    measured matches alone (hypotheses that became tested since the last pass)."""


class NextAction(BaseModel):
    """What the next round must do, computed from the measured effects (not by the LLM)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["expand", "drop", "open"]
    """expand: a factor with a credible effect, try its other levels; drop: a level that
    made no credible difference or was worse; open: a factor of the question that is
    untested or inconclusive."""
    factor: Factor
    text: str
    key: str | None = None
    """The intervention the action is about (drop), if one."""


class MetaReview(BaseModel):
    """What the round taught: fed to the next round's prompts, and the final overview."""

    model_config = ConfigDict(extra="forbid")
    round: int = Field(ge=1)
    facts: list[str] = Field(default_factory=list)
    """Computed from results and matches, not written by the LLM."""
    next_actions: list[NextAction] = Field(default_factory=list)
    """Computed from the facts; the next generation addresses them first."""
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    advice: str = ""
    human_reviews: list[str] = Field(default_factory=list)

    def as_prompt(self) -> str:
        lines = [f"Round {self.round} findings:"]
        lines += [f"- {fact}" for fact in self.facts]
        if self.next_actions:
            lines.append("Next actions (the next hypotheses must address these):")
            lines += [f"- {a.action} {a.factor}: {a.text}" for a in self.next_actions]
        lines += [f"- worked: {s}" for s in self.strengths]
        lines += [f"- failed: {w}" for w in self.weaknesses]
        lines += [f"- human review: {h}" for h in self.human_reviews]
        if self.advice:
            lines.append(f"Advice: {self.advice}")
        return "\n".join(lines)


class ProgressEvent(BaseModel):
    """Streamed to the CLI while a run works (LangGraph custom stream)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["round", "agent", "hypothesis", "trial", "experiment", "elo", "warning"]
    agent: str = ""
    message: str = ""
    hypothesis_id: str | None = None
    done: int | None = None
    total: int | None = None
    best: float | None = None


class ExperimentTask(BaseModel):
    """What one experiment task receives through ``Send``: the hypothesis and its share."""

    model_config = ConfigDict(extra="forbid")
    hypothesis: Hypothesis
    spec: ExperimentSpec
    """The treatment arm with its allocated budget."""
    control: ExperimentSpec | None = None
    """The control arm with the same budget and seed (None: nothing to run for it)."""
    control_result: ExperimentResult | None = None
    """The control arm's result when an identical arm already ran in this run."""
    warm_start: list[TrialConfig] = Field(default_factory=list)
    """Configurations from other runs tried first, in both arms alike."""
    measure_cost: bool = False
    """Measure each arm's model size and predict latency (constrained questions)."""
    profile: DatasetProfile
