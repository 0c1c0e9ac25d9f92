"""Supervisor: the compute allocation of each round, the routing of experiments, and when
to stop (the plan, its first step, is agents/nodes/planning.py)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents._budget import (
    LAST_ROUND_TRIAL_FACTOR,
    MAX_TRIALS,
    MIN_EXPERIMENT_S,
    LLMOutlook,
    allocate_trials,
    llm_outlook,
    next_round_blocker,
    share_seconds,
)
from agents._clock import END_RESERVE_S
from agents._context import RunContext
from agents._messages import ExperimentTask
from agents._schedule import measured_scores, standings
from agents._signature import arm_key
from agents._specs import with_budget
from agents._state import ResearchState
from agents.nodes._text import emit
from automl_backend import ExperimentSpec, TrialConfig
from tools import Toolbox


def _fits(config: TrialConfig, spec: ExperimentSpec) -> bool:
    """Whether a warm-start configuration lies inside the spec's search space, its
    preprocessing included (a warm start must not change an arm's fixed factor)."""
    spaces = {m.family: m for m in spec.models}
    space = spaces.get(config.family)
    if space is None:
        return False
    pre, allowed = config.preprocessing, spec.preprocessing
    if (
        pre.scaling not in allowed.scaling
        or pre.encoding not in allowed.encoding
        or pre.imputation not in allowed.imputation
        or pre.feature_selection not in allowed.feature_selection
    ):
        return False
    resolved = space.resolved(spec.task)
    return all(name in resolved and resolved[name].contains(v) for name, v in config.params.items())


def expected_llm_calls(ctx: RunContext) -> int:
    """Nominal LLM calls of a round: one to write and one to review each new hypothesis or
    child, one per judged match, the meta-review. Rule-made hypotheses skip a review and a
    debate takes three calls, so the true count varies; counting debates as one call makes
    the per-call estimate err high, which keeps the end-of-run reserve on the safe side."""
    later = max(1, ctx.hypotheses_per_round - ctx.children_per_round) + ctx.children_per_round
    made = max(ctx.hypotheses_per_round, later)
    return 2 * made + ctx.llm_matches_per_round + 1


def outlook(state: ResearchState, ctx: RunContext, *, round_done: bool) -> LLMOutlook:
    """The run's LLM cost so far and expected, from the state alone (so a resumed run
    decides as the original would have)."""
    return llm_outlook(
        state.get("llm_s_by_round", {}),
        current_round=state.get("round", 1),
        round_done=round_done,
        calls_per_round=expected_llm_calls(ctx),
    )


SPLIT_MARGIN = 1.5
"""A round is held back for the next one only if that round's LLM work would fit the LLM
share cap even at this many times its estimate (a 300 s phoneme run on 2026-12-02 held
round 1 back, then the share cap stopped the run with half its budget unused)."""


def spent_fraction(state: ResearchState, trials: dict[str, int]) -> float:
    """The share of the funded hypotheses' seconds that their arms will actually run.

    Each hypothesis's seconds pay for its two arms, half each. A control arm identical to
    one that already ran (an earlier round's, or another hypothesis's of this round) is
    not run again, so its half is not spent: with four hypotheses sharing one control the
    round runs five arms, not eight, and its caps can be raised to use the time."""
    hypotheses = state.get("hypotheses") or {}
    arms = state.get("arms") or {}
    ran = 0.0
    seen: set[str] = set()
    for hid, n in trials.items():
        control = getattr(hypotheses.get(hid), "control", None)
        if control is None:
            ran += 1.0
            continue
        key = arm_key(with_budget(control, n, 1.0))
        cached = arms.get(key)
        ran += 1.0 if key not in seen and (cached is None or not cached.ok) else 0.5
        seen.add(key)
    return ran / len(trials) if trials else 1.0


def round_time(
    state: ResearchState, ctx: RunContext, trials: dict[str, int]
) -> tuple[dict[str, int], dict[str, float], str | None]:
    """(trial limits, time caps, why this round is the last or None) for a round's funded
    hypotheses, from the state alone.

    Without a time budget: the trials as given, each with the time cap of an average
    experiment scaled by its share (``experiment_time_s * n / trials_per_experiment``).
    With one, those caps are first cut to the time left after the end-of-run LLM reserve
    (meta-review and overview), and before round ``ctx.planned_rounds`` to an equal part of
    it per round still planned (round 1 of 2 gets at most half). If no round can follow
    this one (the rounds limit, the
    LLM share cap, or too little time left after it for another round's LLM work), this
    is the last round: the experiments share all the time left less that reserve, in
    proportion to their trials, and (with ``fill_time_budget``) their trial limits are
    multiplied by :data:`LAST_ROUND_TRIAL_FACTOR` so that time, not trials, ends them.
    """
    usual = {h: ctx.experiment_time_s * n / ctx.trials_per_experiment for h, n in trials.items()}
    if ctx.time_budget_s is None or not trials:
        return trials, {h: max(MIN_EXPERIMENT_S, t) for h, t in usual.items()}, None
    cost = outlook(state, ctx, round_done=False)
    spent = state.get("spent_s", 0.0)
    available = max(ctx.time_budget_s - spent - cost.end_reserve_s, 0.0)
    # The hypotheses' seconds are scaled up by what their shared controls leave unspent.
    fraction = spent_fraction(state, trials)
    shares = share_seconds(trials, available / fraction)
    current = state.get("round", 1)
    # Until ctx.planned_rounds rounds have run, a round's experiments share only its part of
    # the time left, so that the next round (evolution's children) still fits after them.
    # Only where the next round's LLM work fits the share cap with a margin: a round held
    # back for a next round that then does not come would leave its time unused.
    wanted = min(ctx.rounds, ctx.planned_rounds)
    own = shares
    if current < wanted and (
        ctx.llm_share is None
        or cost.spent_s + 2 * cost.call_s + SPLIT_MARGIN * cost.round_s
        <= ctx.llm_share * ctx.time_budget_s
    ):
        own = share_seconds(trials, available / (wanted - current + 1) / fraction)
    capped = {h: max(MIN_EXPERIMENT_S, min(usual[h], own[h])) for h in trials}
    if current >= ctx.rounds:
        last: str | None = f"round {current} of {ctx.rounds}"
    else:
        last = next_round_blocker(
            time_budget_s=ctx.time_budget_s,
            llm_share=ctx.llm_share,
            llm_spent_s=cost.spent_s + cost.call_s,
            left_s=ctx.time_budget_s - spent - cost.call_s - fraction * sum(capped.values()),
            outlook=cost,
        )
    if last is None:
        return trials, capped, None
    if ctx.fill_time_budget:
        trials = {h: min(MAX_TRIALS, n * LAST_ROUND_TRIAL_FACTOR) for h, n in trials.items()}
        # More trials: an earlier round's control no longer matches, and runs again.
        shares = share_seconds(trials, available / spent_fraction(state, trials))
    return trials, shares, last


def allocate(
    state: ResearchState, runtime: Runtime[RunContext], *, tools: Toolbox
) -> dict[str, Any]:
    """Fund the round's approved, untested hypotheses (promising and uncertain ones first
    when not all fit), each with the same trials per arm and a time cap (all the time
    left in the last round), and fetch warm starts from other runs on similar data."""
    ctx = runtime.context
    hypotheses = state.get("hypotheses", {})
    waiting = sorted(h.id for h in hypotheses.values() if h.status == "approved")
    nothing: dict[str, Any] = {"allocation": {}, "allocation_s": {}, "warm_starts": []}
    if ctx.auto_approve:
        # Without a person to look at reflection's flags, flagged proposals wait: they are
        # funded after every unflagged one.
        waiting = [h for h in waiting if not hypotheses[h].flag] + [
            h for h in waiting if hypotheses[h].flag
        ]
    n_funded = len(waiting)
    if ctx.max_experiments_per_round is not None:
        n_funded = min(n_funded, ctx.max_experiments_per_round)
    if ctx.time_budget_s is not None:
        reserve = outlook(state, ctx, round_done=False).end_reserve_s
        available = ctx.time_budget_s - state.get("spent_s", 0.0) - reserve
        clock = getattr(tools, "clock", None)
        wall = clock.remaining() if clock is not None else None
        if wall is not None:
            available = min(available, wall - max(reserve, END_RESERVE_S))
        # The first round is always tested: a run that measured nothing has answered nothing.
        if available < MIN_EXPERIMENT_S and state.get("round", 1) > 1:
            emit(runtime, "warning", "time budget spent: no more experiments", agent="supervisor")
            return nothing
        n_funded = min(n_funded, max(1, int(available // MIN_EXPERIMENT_S)))
    played: dict[str, int] = {}
    for match in state.get("matches", []):
        played[match.a] = played.get(match.a, 0) + 1
        played[match.b] = played.get(match.b, 0) + 1
    waiting = waiting[:n_funded]
    trials = allocate_trials(
        waiting,
        ctx.trials_per_experiment * n_funded,
        elo=state.get("elo", {}),
        n_matches=played,
        max_experiments=n_funded,
        min_trials=2,
    )
    if not trials:
        return nothing
    # Priority decides which hypotheses are funded when not all can be; every funded one
    # gets the same trials per arm, so arms of different hypotheses stay comparable and a
    # control shared by several hypotheses runs once.
    trials = dict.fromkeys(trials, ctx.trials_per_experiment)
    trials, seconds, last = round_time(state, ctx, trials)
    similar = tools.similar_runs(state["profile"], ctx.warm_start_configs)
    # Only other runs warm-start an arm: this run's own results would let a child
    # re-run its parent's best configuration and call the reproduction a gain.
    own = f"{getattr(tools, 'run_name', '')}/"
    warm = [
        s.best_config
        for s in similar
        if s.best_config is not None and not s.record.run_id.startswith(own)
    ]
    if last is not None:
        left = f"{sum(seconds.values()):.0f} s"
        how = (
            f"share the remaining {left}, trial limits x{LAST_ROUND_TRIAL_FACTOR} so time ends them"
            if ctx.fill_time_budget
            else f"may use up to the remaining {left}; their trial limits still end them"
        )
        emit(runtime, "agent", f"last round ({last}): the experiments {how}", agent="supervisor")
    summary = ", ".join(f"{h}: {n} trials, {seconds[h]:.0f} s" for h, n in sorted(trials.items()))
    emit(runtime, "agent", f"budget: {summary}", agent="supervisor")
    return {"allocation": trials, "allocation_s": seconds, "warm_starts": warm}


def route_experiments(state: ResearchState, runtime: Runtime[RunContext]) -> list[Send] | str:
    """One Send per funded hypothesis, so each finished experiment is saved on its own."""
    allocation = state.get("allocation", {})
    if not allocation:
        return "observe"
    seconds = state.get("allocation_s") or {}
    if set(seconds) != set(allocation):
        # A checkpoint written before time caps were kept in the state.
        seconds = round_time(state, runtime.context, allocation)[1]
    sends = []
    arms = state.get("arms", {})
    plan = state.get("plan")
    measure_cost = plan is not None and plan.question == "constrained"
    for hid in sorted(allocation, key=lambda h: int(h.lstrip("H") or 0)):
        h = state["hypotheses"][hid]
        # A hypothesis's time is shared by its two arms: the same trials and time cap each.
        arm_s = seconds[hid] / 2 if h.control is not None else seconds[hid]
        spec = with_budget(h.experiment, allocation[hid], arm_s)
        control = with_budget(h.control, allocation[hid], arm_s) if h.control is not None else None
        cached = arms.get(arm_key(control)) if control is not None else None
        # Both arms get the same warm starts, or none: equal treatment of the arms.
        warm = [
            c
            for c in state.get("warm_starts", [])
            if _fits(c, spec) and (control is None or _fits(c, control))
        ]
        sends.append(
            Send(
                "experiment",
                ExperimentTask(
                    hypothesis=h,
                    spec=spec,
                    control=control,
                    control_result=cached if cached is not None and cached.ok else None,
                    warm_start=warm,
                    measure_cost=measure_cost,
                    profile=state["profile"],
                ),
            )
        )
    return sends


def stop_reason(state: ResearchState, ctx: RunContext) -> str | None:
    """Why the run should end now, or None to go on.

    In order: the time budget spent; no room for another round (the LLM share cap, or too
    little time left for a round's LLM work and as much again for experiments; see
    :func:`agents._budget.next_round_blocker`, the same test :func:`round_time` applies
    when it funds a round); the rounds done; Elo ratings stable with the same leader.
    """
    current = state.get("round", 1)
    if ctx.time_budget_s is not None:
        left = ctx.time_budget_s - state.get("spent_s", 0.0)
        if left <= 0:
            return f"time budget of {ctx.time_budget_s:g} s spent"
        if current < ctx.rounds:
            cost = outlook(state, ctx, round_done=True)
            blocker = next_round_blocker(
                time_budget_s=ctx.time_budget_s,
                llm_share=ctx.llm_share,
                llm_spent_s=cost.spent_s,
                left_s=left,
                outlook=cost,
            )
            if blocker is not None:
                return blocker
    if current >= ctx.rounds:
        return f"completed {current} round(s)"
    snapshots = [s for s in state.get("elo_history", []) if s.phase == "results"]
    if current >= 2 and len(snapshots) >= 2:
        before, after = snapshots[-2].ratings, snapshots[-1].ratings
        tested = [h.id for h in state.get("hypotheses", {}).values() if h.tested]
        common = [h for h in tested if h in before and h in after]
        waiting = any(h.status == "approved" for h in state["hypotheses"].values())
        if common and not waiting:
            moved = max(abs(after[h] - before[h]) for h in common)
            scores = measured_scores(state["hypotheses"])
            leader_before = standings({h: before[h] for h in common}, scores)[0]
            leader_after = standings({h: after[h] for h in common}, scores)[0]
            if moved < ctx.elo_stable_delta and leader_before == leader_after:
                return f"Elo ratings stable (largest change {moved:.1f} < {ctx.elo_stable_delta:g})"
    return None


def supervise(
    state: ResearchState, runtime: Runtime[RunContext], *, tools: Toolbox | None = None
) -> dict[str, Any]:
    """Between rounds: stop, or open the next round."""
    clock = getattr(tools, "clock", None)
    reason = stop_reason(state, runtime.context)
    if reason is None and clock is not None and clock.expired(END_RESERVE_S):
        reason = (
            f"wall-clock time budget of {runtime.context.time_budget_s:g} s reached "
            "(the run closes with what it finished)"
        )
    if reason is not None:
        emit(runtime, "agent", f"stopping: {reason}", agent="supervisor")
        return {"stop_reason": reason}
    next_round = state.get("round", 1) + 1
    emit(runtime, "round", f"round {next_round}", agent="supervisor")
    return {"round": next_round}


def route_after_supervisor(state: ResearchState) -> str:
    return "final_evaluation" if state.get("stop_reason") else "evolution"
