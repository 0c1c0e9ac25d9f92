"""Ranking: the Elo tournament.

Matches between two tested hypotheses are decided by their paired per-fold scores (a
draw unless the difference is significant). When a side is untested, the LLM judges: a
short multi-turn debate when a top-ranked hypothesis plays, one comparison otherwise.
The tournament runs twice per round: on the proposals before compute (LLM matches, which
steer the budget) and on the results after it (measured matches).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._elo import INITIAL_ELO, K_JUDGED, K_MEASURED, elo_update
from agents._guard import LLMGuard
from agents._messages import EloSnapshot, Hypothesis, Match
from agents._paired import compare_fold_scores
from agents._schedule import Pair, leaders, pair_key, schedule_matches
from agents._schemas import DebateTurn, MatchVerdict
from agents._similarity import pairwise_similarity
from agents._specs import margin_from_points
from agents._state import ResearchState
from agents.llm import ChatMessage, LLMClient
from agents.nodes._text import describe_spec, emit, evidence, reviews_text

_WINNER = {"A": "a", "B": "b", "draw": "draw"}
ROPE_POINTS = 0.2
"""Measured differences under 0.2 points of the metric are practically a draw."""


def _played(matches: list[Match]) -> dict[Pair, int]:
    counts: dict[Pair, int] = {}
    for m in matches:
        key = pair_key(m.a, m.b)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _case(state: ResearchState, a: Hypothesis, b: Hypothesis) -> dict[str, object]:
    plan = state["plan"]
    return {
        "goal": plan.goal,
        "dataset": plan.dataset,
        "metric": plan.metric,
        "a_id": a.id,
        "a_statement": a.statement,
        "a_experiment": describe_spec(a.experiment),
        "a_evidence": evidence(a, plan.metric),
        "b_id": b.id,
        "b_statement": b.statement,
        "b_experiment": describe_spec(b.experiment),
        "b_evidence": evidence(b, plan.metric),
        "reviews": reviews_text(state.get("reviews", []), {a.id, b.id}),
    }


def judge(
    guard: LLMGuard, state: ResearchState, a: Hypothesis, b: Hypothesis, *, debate: bool
) -> tuple[Literal["a", "b", "draw"], str, str]:
    """(winner, method, reason) of an LLM-judged match."""
    case = _case(state, a, b)
    if not debate:
        verdict = guard.ask("ranking", MatchVerdict, max_tokens=100, **case)
        if verdict is None:
            return "draw", "fallback", "LLM judgement unusable; scored as a draw"
        return _WINNER[verdict.winner], "single_turn", verdict.reason  # type: ignore[return-value]
    import prompts

    system, opening = prompts.render(
        "ranking_debate", transcript="(none yet)", instruction="Argue for hypothesis A.", **case
    )
    messages = [
        ChatMessage(role="system", content=system),
        ChatMessage(role="user", content=opening),
    ]
    transcript = []
    for side, next_instruction in (("A", "Now argue for hypothesis B."), ("B", None)):
        turn = guard.ask_messages("ranking", DebateTurn, messages, max_tokens=100)
        argument = turn.argument if turn else "(no usable argument)"
        transcript.append(f"For {side}: {argument}")
        messages.append(ChatMessage(role="assistant", content=argument))
        if next_instruction:
            messages.append(ChatMessage(role="user", content=next_instruction))
    messages.append(
        ChatMessage(
            role="user",
            content="As the judge, weigh both arguments and the evidence: which hypothesis is "
            "more likely to hold, A or B?",
        )
    )
    verdict = guard.ask_messages("ranking", MatchVerdict, messages, max_tokens=100)
    if verdict is None:
        return "draw", "fallback", "LLM judgement unusable after debate; scored as a draw"
    reason = f"{verdict.reason} (debate: {' | '.join(transcript)})"
    return _WINNER[verdict.winner], "debate", reason  # type: ignore[return-value]


def _play(
    pairs: list[Pair],
    state: ResearchState,
    runtime: Runtime[RunContext],
    guard: LLMGuard | None,
) -> tuple[list[Match], dict[str, float]]:
    hypotheses = state["hypotheses"]
    elo = dict(state.get("elo", {}))
    start = len(state.get("matches", []))
    top = set(leaders(elo, runtime.context.debate_top_k))
    baseline = state.get("baseline")
    rope = margin_from_points(
        ROPE_POINTS, state["plan"].metric, baseline.best_score if baseline else None
    )
    matches = []
    for offset, (ia, ib) in enumerate(pairs):
        a, b = hypotheses[ia], hypotheses[ib]
        mean_diff = prob_a = prob_b = None
        if a.tested and b.tested:
            assert a.result is not None and b.result is not None
            outcome = compare_fold_scores(a.result.fold_scores, b.result.fold_scores, rope=rope)
            winner, method, k = outcome.winner, "measured", K_MEASURED
            mean_diff, prob_a, prob_b = outcome.mean_diff, outcome.prob_a, outcome.prob_b
            reason = f"{a.id} - {b.id} = {outcome.mean_diff:+.4f} per fold; {outcome.rule}"
        else:
            assert guard is not None
            winner, method, reason = judge(guard, state, a, b, debate=bool(top & {ia, ib}))
            k = K_JUDGED
        before = (elo.get(ia, INITIAL_ELO), elo.get(ib, INITIAL_ELO))
        score_a = {"a": 1.0, "b": 0.0, "draw": 0.5}[winner]
        after = elo_update(*before, score_a, k=k)
        elo[ia], elo[ib] = after
        matches.append(
            Match(
                round=state.get("round", 1),
                index=start + offset,
                a=ia,
                b=ib,
                winner=winner,
                method=method,
                reason=reason,
                mean_diff=mean_diff,
                prob_a=prob_a,
                prob_b=prob_b,
                elo_before=before,
                elo_after=after,
            )
        )
        shown = {"a": ia, "b": ib, "draw": "draw"}[winner]
        emit(
            runtime,
            "elo",
            f"{ia} vs {ib}: {shown} ({method}); {ia} {before[0]:.0f}->"
            f"{after[0]:.0f}, {ib} {before[1]:.0f}->{after[1]:.0f}",
            agent="ranking",
        )
    return matches, elo


def _schedule(
    state: ResearchState, runtime: Runtime[RunContext], pairs: list[Pair], n: int, salt: int
) -> list[Pair]:
    ctx = runtime.context
    round_ = state.get("round", 1)
    new = {h.id for h in state["hypotheses"].values() if h.round == round_}
    return schedule_matches(
        pairs,
        n,
        elo=state.get("elo", {}),
        new_ids=new,
        similarity=pairwise_similarity(state.get("embeddings", {})),
        played=_played(state.get("matches", [])),
        seed=ctx.seed * 10_007 + round_ * 2 + salt,
        top_k=ctx.debate_top_k,
    )


def rank_proposals(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """LLM matches for untested hypotheses, before compute is allocated."""
    ctx = runtime.context
    hypotheses = state.get("hypotheses", {})
    active = sorted(h.id for h in hypotheses.values() if h.status in ("approved", "tested"))
    untested = [i for i in active if hypotheses[i].status == "approved"]
    pairs = [(a, b) for a in untested for b in active if a != b]
    chosen = _schedule(state, runtime, pairs, ctx.llm_matches_per_round, salt=0)
    if not chosen:
        return {}
    emit(runtime, "agent", f"judging {len(chosen)} matches of untested proposals", agent="ranking")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    matches, elo = _play(chosen, state, runtime, guard)
    snapshot = EloSnapshot(round=state.get("round", 1), phase="proposals", ratings=elo)
    return {"matches": matches, "elo": elo, "elo_history": [snapshot], **guard.updates()}


def rank_results(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Measured matches between tested hypotheses (no LLM involved).

    Two fixed results always give the same outcome, so each tested pair meets once.
    """
    ctx = runtime.context
    tested = sorted(h.id for h in state.get("hypotheses", {}).values() if h.tested)
    measured = {pair_key(m.a, m.b) for m in state.get("matches", []) if m.method == "measured"}
    pairs = [
        (a, b) for i, a in enumerate(tested) for b in tested[i + 1 :] if (a, b) not in measured
    ]
    chosen = _schedule(state, runtime, pairs, ctx.measured_matches_per_round, salt=1)
    matches, elo = _play(chosen, state, runtime, None)
    snapshot = EloSnapshot(round=state.get("round", 1), phase="results", ratings=elo)
    return {"matches": matches, "elo": elo, "elo_history": [snapshot]}
