"""A co-scientist run's results as data: the ranking, the LLM's usage and everything
report.md shows, derived from the run's checkpointed state and its LLM call log."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents import (
    Answer,
    EloSnapshot,
    Hypothesis,
    Match,
    MetaReview,
    ResearchPlan,
    ResearchRun,
    Review,
    build_answer,
    leader_order,
)
from cosci._best_model import BestModel, read_best_model


class RankedHypothesis(BaseModel):
    """One row of the final ranking."""

    rank: int | None
    """Position among hypotheses in the tournament; equal Elo shares a rank (None:
    rejected or failed)."""
    tied: bool = False
    """Shares its rank with another tested hypothesis (no decisive measured match)."""
    id: str
    elo: float | None
    status: str
    origin: str
    statement: str
    factor: str
    chosen_by: str
    families: list[str]
    score: float | None
    score_sd: float | None
    holdout: float | None = None
    """Score of the treatment arm's final model on the untouched holdout."""
    n_trials: int
    prediction: str
    verdict: str | None
    effect: str | None
    """Treatment vs control: "+D points [a, b]"."""
    parents: list[str]
    wins: int
    draws: int
    losses: int
    """W-D-L of measured matches only."""
    judged: str = "0-0-0"
    """W-D-L of LLM-judged matches (opinions before compute), listed apart."""


class LLMUsage(BaseModel):
    """What the run spent in the LLM, from its call log (all sessions, resumes included)."""

    calls: int = 0
    failed_calls: int = 0
    seconds: float = 0.0
    per_role_seconds: dict[str, float] = Field(default_factory=dict)


class RunResults(BaseModel):
    """Everything report.md shows, as data. ``answer`` comes first."""

    answer: Answer | None
    """The question, the answer in one sentence built from measured facts, the evidence."""
    goal: str
    data: str
    run_dir: str
    status: str
    stop_reason: str | None
    plan: ResearchPlan | None
    decisive_matches: int = 0
    """Measured matches won by one side; 0 means no credible difference between any two
    tested hypotheses, and the ranking shows ties instead of positions."""
    holdout_scores: dict[str, float] = Field(default_factory=dict)
    best_model_holdout: float | None = None
    """best_model/ scored once on the untouched holdout."""
    filtered_llm_texts: list[str] = Field(default_factory=list)
    """LLM texts the sanity filter dropped ("where: reason")."""
    ranking: list[RankedHypothesis]
    best_hypothesis: str | None
    """The tournament leader (highest Elo among tested hypotheses)."""
    best_model_dir: str | None
    best_model: BestModel | None = None
    """What best_model_dir holds: the ensemble's members and weights, or the leader's copy."""
    overview: str | None
    hypotheses: list[Hypothesis]
    reviews: list[Review]
    matches: list[Match]
    elo_history: list[EloSnapshot]
    meta_reviews: list[MetaReview]
    llm: LLMUsage
    experiment_seconds: float
    compute_seconds: float


def _record(h: Hypothesis, matches: list[Match]) -> tuple[int, int, int]:
    wins = draws = losses = 0
    for m in matches:
        if h.id not in (m.a, m.b):
            continue
        if m.winner == "draw":
            draws += 1
        elif (m.winner == "a") == (m.a == h.id):
            wins += 1
        else:
            losses += 1
    return wins, draws, losses


def rank_hypotheses(state: dict[str, Any]) -> list[RankedHypothesis]:
    """Tested hypotheses by Elo, then untested ones in play, then failed and rejected.

    Equal Elo among tested hypotheses (every measured match between them a draw) is a
    shared rank, not an order: the report says the differences are not credible.
    """
    elo: dict[str, float] = state.get("elo", {})
    matches: list[Match] = state.get("matches", [])
    measured = [m for m in matches if m.method == "measured"]
    judged = [m for m in matches if m.method != "measured"]
    holdout: dict[str, float] = state.get("holdout_scores", {})
    metric = state["plan"].metric if state.get("plan") else ""
    group = {"tested": 0, "approved": 1, "proposed": 2, "failed": 3, "rejected": 4}

    def score(h: Hypothesis) -> float:
        ok = h.result is not None and h.result.ok and h.result.best_score is not None
        return h.result.best_score if ok else float("-inf")  # type: ignore[union-attr,return-value]

    hypotheses = state.get("hypotheses", {})
    position = {hid: i for i, hid in enumerate(leader_order(hypotheses, elo))}
    ordered = sorted(
        hypotheses.values(),
        key=lambda h: (
            group[h.status],
            position.get(h.id, 0),
            -elo.get(h.id, 0.0),
            -score(h),
            int(h.id[1:]),
        ),
    )
    tested_elo = [round(elo.get(h.id, 0.0), 6) for h in ordered if h.status == "tested"]
    rows, rank, previous = [], 0, None
    for count, h in enumerate(ordered, 1):
        in_play = h.status in ("tested", "approved")
        rating = round(elo.get(h.id, 0.0), 6)
        if h.status == "tested":
            # Competition ranking: equal ratings share the rank of the first of them.
            if rating != previous:
                rank = count
            previous = rating
        elif in_play:
            rank = count
        result = h.result if h.result is not None and h.result.ok else None
        scores = result.fold_scores if result else []
        wins, draws, losses = _record(h, measured)
        jw, jd, jl = _record(h, judged)
        rows.append(
            RankedHypothesis(
                rank=rank if in_play else None,
                tied=h.status == "tested" and tested_elo.count(rating) > 1,
                id=h.id,
                elo=round(elo[h.id], 1) if h.id in elo else None,
                status=h.status,
                origin=h.origin,
                statement=h.statement,
                factor=h.factor,
                chosen_by=h.chosen_by,
                families=h.families,
                score=result.best_score if result else None,
                score_sd=statistics.stdev(scores) if len(scores) > 1 else None,
                holdout=holdout.get(h.id),
                n_trials=h.result.n_trials if h.result else 0,
                prediction=h.prediction.describe(metric),
                verdict=h.verdict,
                effect=(
                    f"{h.effect.points:+.1f} [{h.effect.low:+.1f}, {h.effect.high:+.1f}]"
                    if h.effect
                    else None
                ),
                parents=h.parent_ids,
                wins=wins,
                draws=draws,
                losses=losses,
                judged=f"{jw}-{jd}-{jl}",
            )
        )
    return rows


def llm_usage(log: Path) -> LLMUsage:
    from agents.llm import LLMError, read_call_log

    usage = LLMUsage()
    try:
        entries = read_call_log(log) if log.is_file() else []
    except LLMError:
        return usage
    for entry in entries:
        seconds = float(entry.get("latency_s") or 0.0)
        usage.calls += 1
        usage.failed_calls += bool(entry.get("error"))
        usage.seconds += seconds
        role = str(entry.get("role", "default"))
        usage.per_role_seconds[role] = usage.per_role_seconds.get(role, 0.0) + seconds
    usage.seconds = round(usage.seconds, 3)
    usage.per_role_seconds = {k: round(v, 3) for k, v in sorted(usage.per_role_seconds.items())}
    return usage


def build_results(run: ResearchRun) -> RunResults:
    state = run.state()
    ranking = rank_hypotheses(state)
    best = next((r.id for r in ranking if r.status == "tested"), None)
    hypotheses = sorted(state.get("hypotheses", {}).values(), key=lambda h: int(h.id[1:]))
    # An arm shared by several hypotheses (one control, or a parent's treatment reused as
    # its child's control) ran once: count each run directory once.
    arms = {
        str(r.run_dir or f"{h.id}-{name}"): r.fit_time_s
        for h in hypotheses
        for name, r in (("treatment", h.result), ("control", h.control_result))
        if r is not None
    }
    experiment_s = sum(arms.values())
    plan = state.get("plan")
    holdout = state.get("holdout_scores", {})
    matches = state.get("matches", [])
    return RunResults(
        answer=(
            build_answer(
                plan, state.get("hypotheses", {}), holdout, state.get("feature_importance")
            )
            if plan
            else None
        ),
        goal=run.config.goal,
        data=run.config.data,
        run_dir=str(run.dir),
        status=run.status(),
        stop_reason=state.get("stop_reason"),
        plan=plan,
        decisive_matches=sum(m.method == "measured" and m.winner != "draw" for m in matches),
        holdout_scores=holdout,
        filtered_llm_texts=state.get("filtered_llm_texts", []),
        ranking=ranking,
        best_hypothesis=best,
        best_model_dir=str(run.dir / "best_model") if best else None,
        best_model=read_best_model(run.dir, best),
        overview=state.get("overview"),
        hypotheses=hypotheses,
        reviews=state.get("reviews", []),
        matches=matches,
        elo_history=state.get("elo_history", []),
        meta_reviews=state.get("meta_reviews", []),
        llm=llm_usage(run.llm_log),
        experiment_seconds=round(experiment_s, 3),
        compute_seconds=round(state.get("spent_s", 0.0), 3),
    )
