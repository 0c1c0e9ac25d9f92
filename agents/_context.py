"""Run configuration: passed to every invocation as LangGraph's runtime context.

Kept out of the state on purpose: these are the person's settings, not what the run
learned. The CLI saves them in the run directory so ``cosci resume`` passes the same.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents._messages import Budgets


class RunContext(BaseModel):
    """Budgets and switches of one co-scientist run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rounds: int = Field(default=3, ge=1, le=50)
    hypotheses_per_round: int = Field(default=4, ge=1, le=50)
    """New hypotheses from generation per round (the first round uses this many)."""
    children_per_round: int = Field(default=2, ge=0, le=20)
    """Evolved children per round."""
    trials_per_experiment: int = Field(default=8, ge=2, le=10_000)
    experiment_time_s: float = Field(default=60.0, gt=0)
    time_budget_s: float | None = Field(default=600.0, gt=0)
    """Total compute seconds (experiments plus LLM); None: rounds and Elo stability end
    the run. With a budget, the last round's experiments share all the time left."""
    fill_time_budget: bool = True
    """With a time budget, let time end the last round's experiments: their trial limits
    are raised (see ``agents._budget.LAST_ROUND_TRIAL_FACTOR``) so a fast search keeps
    going until its share of the time left is spent. False: the budget is only a ceiling
    and the allocated trials end them (e.g. for small runs that must replay exactly)."""
    llm_share: float | None = Field(default=0.25, gt=0, le=1)
    """Most of ``time_budget_s`` the LLM may take: a round opens only if the LLM seconds
    so far plus those a round is expected to take (and the closing overview) stay within
    ``llm_share * time_budget_s``. The first round always runs. None: no cap; ignored
    without a time budget."""
    planned_rounds: int = Field(default=1, ge=1, le=50)
    """With a time budget, rounds before this one get an equal part of the time left each
    (2: round 1 gets at most half) instead of all they could use, so later rounds (with
    evolution) still fit. 1 (default): a round takes all it can use. Off by default: on
    2026-12-02, 300 s runs with the embedded model held round 1 back, then the LLM share
    cap stopped them with half the budget unused."""
    max_experiments_per_round: int | None = Field(default=None, ge=1)
    """None: every approved hypothesis is tested in the round it is approved."""
    rope_points: float = Field(default=1.0, ge=0, le=50)
    """Region of practical equivalence of verdicts, in points of the metric."""
    holdout: float = Field(default=0.2, ge=0, le=0.5)
    """Share of the rows set aside (stratified, seeded) before anything sees the data;
    0 turns the holdout off."""
    folds: int = Field(default=3, ge=2, le=20)
    seed: int = Field(default=0, ge=0)
    metric: str | None = None
    """Override the plan's metric (validated against the task)."""
    auto_approve: bool = False
    """Skip the human review pause."""
    llm_matches_per_round: int = Field(default=2, ge=0, le=100)
    """Matches judged by the LLM when a side is untested (before compute is spent)."""
    debate_top_k: int = Field(default=2, ge=0)
    """LLM matches involving one of the top-k get a short multi-turn debate."""
    measured_matches_per_round: int = Field(default=30, ge=0)
    elo_stable_delta: float = Field(default=10.0, ge=0)
    """Stop early when no tested rating moved more than this in a round and the leader held."""
    max_llm_failures_in_a_row: int = Field(default=8, ge=1)
    literature_hits: int = Field(default=3, ge=0, le=20)
    warm_start_configs: int = Field(default=3, ge=0, le=20)

    def budgets(self) -> Budgets:
        return Budgets(
            rounds=self.rounds,
            hypotheses_per_round=self.hypotheses_per_round,
            children_per_round=self.children_per_round,
            trials_per_experiment=self.trials_per_experiment,
            experiment_time_s=self.experiment_time_s,
            time_budget_s=self.time_budget_s,
            folds=self.folds,
            seed=self.seed,
        )
