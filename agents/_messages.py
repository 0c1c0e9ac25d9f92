"""The messages agents exchange: one pydantic model each, checkpointed as they are.

``ResearchPlan``, ``Hypothesis``, ``Review``, ``Match`` and ``MetaReview`` are the domain
records kept in the graph state and written to results.json. What a language model is
asked to fill in is smaller and lives in ``agents/_schemas.py``; deterministic code turns
those drafts into the records below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from automl_backend import DatasetProfile, ExperimentResult, ExperimentSpec, TrialConfig

HypothesisStatus = Literal["proposed", "approved", "rejected", "tested", "failed"]
"""proposed: waiting for review; approved: may receive compute; rejected: by a guard or a
person (see ``status_reason``); tested: has an ok result; failed: its experiment crashed."""
Origin = Literal["generation", "evolution", "human", "fallback"]
"""fallback: made by deterministic code because the LLM's answer was unusable."""
TaskName = Literal["binary", "multiclass", "regression"]


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
    """The supervisor's reading of the goal against the data."""

    model_config = ConfigDict(extra="forbid")
    goal: str
    task: TaskName
    """What the data supports (inferred from the target), whatever the goal says."""
    metric: str
    """Primary metric, higher-is-better as the backend reports it."""
    objective: str
    """The goal restated as a measurable objective."""
    focus_families: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """Where the goal and the data disagree (e.g. a regression goal on a class target)."""
    dataset: str
    """One-paragraph description of the data set (DatasetProfile.describe)."""
    budgets: Budgets


class Prediction(BaseModel):
    """Registered before any experiment: how the hypothesis will compare to the baseline.

    ``margin`` is in score units (higher-is-better); for bounded metrics one point is 0.01.
    """

    model_config = ConfigDict(extra="forbid")
    comparator: Literal["better", "not_worse"]
    """better: beats the baseline by at least ``margin``; not_worse: within ``margin``."""
    margin: float = Field(ge=0)
    baseline: str
    """What the baseline is, in words."""

    def describe(self, metric: str) -> str:
        if self.comparator == "better":
            return f"beats {self.baseline} by >= {self.margin:.4g} {metric}"
        return f"stays within {self.margin:.4g} {metric} of {self.baseline}"


class Hypothesis(BaseModel):
    """A falsifiable claim, the experiment that tests it, and what happened to it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    """H1, H2, ... in creation order (stable, so replays line up)."""
    round: int = Field(ge=1)
    origin: Origin
    statement: str = Field(min_length=1)
    rationale: str = ""
    prediction: Prediction
    experiment: ExperimentSpec
    """Validated against the backend registry; its budget is set when compute is allocated."""
    cited_memory_ids: list[str] = Field(default_factory=list)
    parent_ids: list[str] = Field(default_factory=list)
    operator: str | None = None
    """How evolution made it (narrow, combine, simplify, out_of_box)."""
    status: HypothesisStatus = "proposed"
    status_reason: str | None = None
    edited_by_human: bool = False
    result: ExperimentResult | None = None
    trials_allocated: int = 0
    prediction_held: bool | None = None
    """Observation review: did the measured result confirm the registered prediction?"""

    @property
    def families(self) -> list[str]:
        return [m.family for m in self.experiment.models]

    @property
    def tested(self) -> bool:
        return self.status == "tested" and self.result is not None and self.result.ok

    def signature(self) -> str:
        """What the experiment searches, for exact-duplicate checks and embeddings."""
        pre = self.experiment.preprocessing
        return (
            f"families={','.join(sorted(self.families))}; scaling={','.join(pre.scaling)}; "
            f"selection={','.join(pre.feature_selection)}; "
            f"params={sorted((m.family, sorted(m.params)) for m in self.experiment.models)}"
        )


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


class MetaReview(BaseModel):
    """What the round taught: fed to the next round's prompts, and the final overview."""

    model_config = ConfigDict(extra="forbid")
    round: int = Field(ge=1)
    facts: list[str] = Field(default_factory=list)
    """Computed from results and matches, not written by the LLM."""
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    advice: str = ""
    human_reviews: list[str] = Field(default_factory=list)

    def as_prompt(self) -> str:
        lines = [f"Round {self.round} findings:"]
        lines += [f"- {fact}" for fact in self.facts]
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
    """The hypothesis's experiment with its allocated budget."""
    warm_start: list[TrialConfig] = Field(default_factory=list)
    profile: DatasetProfile
