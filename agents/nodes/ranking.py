"""Ranking: the Elo tournament.

Matches between two tested hypotheses are decided by their paired per-fold scores (a
draw unless the difference is significant). When a side is untested, the LLM judges: a
short multi-turn debate when a top-ranked hypothesis plays, one comparison otherwise.
The tournament runs twice per round: on the proposals before compute (LLM matches, which
steer the budget) and on the results after it (measured matches).

Measurements overrule opinions (see ``agents._elo``). The LLM rates a hypothesis only
while it is untested: in a judged match against a tested hypothesis only the untested
side moves, and the match records the tested side as its ``anchor``. The ratings of
tested hypotheses are always fitted to all the measured matches between them at once
(``measured_ratings``: order-independent, unlike replaying online Elo updates; each
match still records its own online update); when a hypothesis becomes tested, its pre-test LLM rating is
superseded, which the ranking pass reports and notes in its Elo snapshot. Everything is
derived from the checkpointed matches, so a resumed or replayed run rates alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._effects import points_scale
from agents._elo import (
    INITIAL_ELO,
    K_JUDGED,
    K_MEASURED,
    elo_update,
    fit_ratings,
    update_against_anchor,
)
from agents._guard import LLMGuard
from agents._messages import EloSnapshot, Hypothesis, Match
from agents._paired import compare_fold_scores
from agents._schedule import Pair, leaders, measured_scores, pair_key, schedule_matches
from agents._schemas import DebateTurn, MatchVerdict
from agents._similarity import pairwise_similarity
from agents._state import ResearchState
from agents.llm import ChatMessage, LLMClient
from agents.nodes._text import describe_spec, emit, evidence, reviews_text
from automl_backend import metric_is_loss

_WINNER = {"A": "a", "B": "b", "draw": "draw"}
_SCORE_A = {"a": 1.0, "b": 0.0, "draw": 0.5}
ROPE_POINTS = 0.2
"""Measured differences under 0.2 points of the metric are practically a draw."""


def measured_ratings(matches: Iterable[Match], tested: Iterable[str]) -> dict[str, float]:
    """Ratings of the tested hypotheses from their measured matches alone.

    The fit of Elo's model to every measured match (``agents._elo.fit_ratings``); a
    tested hypothesis with no measured match yet sits at 1200. LLM-judged matches play
    no part, and neither does the order in which the measured matches were played.
    """
    ids = set(tested)
    games = [
        (m.a, m.b, _SCORE_A[m.winner])
        for m in sorted(matches, key=lambda m: m.index)
        if m.method == "measured" and m.a in ids and m.b in ids
    ]
    return fit_ratings(games, sorted(ids))


def current_ratings(state: ResearchState) -> tuple[dict[str, float], dict[str, float]]:
    """(ratings, superseded): the state's ratings with every tested one rebuilt from
    measurements, and the earlier (pre-test, LLM-derived) rating of each tested hypothesis
    whose rating the rebuild changed."""
    elo = dict(state.get("elo", {}))
    tested = [h.id for h in state.get("hypotheses", {}).values() if h.tested]
    rebuilt = measured_ratings(state.get("matches", []), tested)
    superseded = {
        hid: elo[hid]
        for hid in sorted(rebuilt)
        if hid in elo and not math.isclose(elo[hid], rebuilt[hid], rel_tol=0.0, abs_tol=1e-9)
    }
    elo.update(rebuilt)
    return elo, superseded


def _in_play(state: ResearchState, elo: Mapping[str, float]) -> dict[str, float]:
    """Ratings of hypotheses still competing (approved or tested), for picking leaders."""
    hypotheses = state.get("hypotheses", {})
    return {
        hid: r
        for hid, r in elo.items()
        if hid in hypotheses and hypotheses[hid].status in ("approved", "tested")
    }


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
        reason = guard.text("match reason", verdict.reason) or "(reason dropped by the text filter)"
        return _WINNER[verdict.winner], "single_turn", reason  # type: ignore[return-value]
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
        argument = (guard.text("debate argument", turn.argument) if turn else None) or (
            "(no usable argument)"
        )
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
    kept = guard.text("match reason", verdict.reason) or "(reason dropped by the text filter)"
    reason = f"{kept} (debate: {' | '.join(transcript)})"
    return _WINNER[verdict.winner], "debate", reason  # type: ignore[return-value]


def _play(
    pairs: list[Pair],
    state: ResearchState,
    runtime: Runtime[RunContext],
    guard: LLMGuard | None,
    elo: dict[str, float],
) -> tuple[list[Match], dict[str, float]]:
    """Play ``pairs`` in order from ratings ``elo``; (matches, ratings after them)."""
    hypotheses = state["hypotheses"]
    elo = dict(elo)
    start = len(state.get("matches", []))
    scores = measured_scores(hypotheses)
    top = set(leaders(_in_play(state, elo), runtime.context.debate_top_k, scores))
    plan = state["plan"]
    reference = [h.result.best_score for h in hypotheses.values() if h.tested and h.result]
    scale = points_scale(metric_is_loss(plan.metric), reference[0] if reference else None)
    rope = ROPE_POINTS * scale
    matches = []
    for offset, (ia, ib) in enumerate(pairs):
        a, b = hypotheses[ia], hypotheses[ib]
        mean_diff = prob_a = prob_b = None
        anchor: str | None = None
        before = (elo.get(ia, INITIAL_ELO), elo.get(ib, INITIAL_ELO))
        if a.tested and b.tested:
            assert a.result is not None and b.result is not None
            try:
                outcome = compare_fold_scores(a.result.fold_scores, b.result.fold_scores, rope=rope)
            except ValueError as exc:
                # Unpaired scores (a checkpoint from before the run's one fold plan): no
                # measured verdict is possible, and no crash either.
                winner, method = "draw", "measured"
                reason = f"not comparable: {exc}; scored as a draw"
            else:
                winner, method = outcome.winner, "measured"
                mean_diff, prob_a, prob_b = outcome.mean_diff, outcome.prob_a, outcome.prob_b
                reason = f"{a.id} - {b.id} = {outcome.mean_diff:+.4f} per fold; {outcome.rule}"
            after = elo_update(*before, _SCORE_A[winner], k=K_MEASURED)
        else:
            assert guard is not None
            winner, method, reason = judge(guard, state, a, b, debate=bool(top & {ia, ib}))
            score_a = _SCORE_A[winner]
            if a.tested or b.tested:
                # The tested side's rating comes from measurements; an opinion moves only
                # the side that has none.
                anchor, mover = (ia, ib) if a.tested else (ib, ia)
                if anchor == ia:
                    after = (before[0], update_against_anchor(before[1], before[0], 1 - score_a))
                else:
                    after = (update_against_anchor(before[0], before[1], score_a), before[1])
                reason = (
                    f"{reason} [{anchor} is tested: its rating stands on measurements, so only "
                    f"{mover}'s rating moved]"
                )
            else:
                after = elo_update(*before, score_a, k=K_JUDGED)
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
                anchor=anchor,
            )
        )
        shown = {"a": ia, "b": ib, "draw": "draw"}[winner]
        note = f" ({anchor} anchored: tested)" if anchor else ""
        emit(
            runtime,
            "elo",
            f"{ia} vs {ib}: {shown} ({method}); {ia} {before[0]:.0f}->"
            f"{after[0]:.0f}, {ib} {before[1]:.0f}->{after[1]:.0f}{note}",
            agent="ranking",
        )
    return matches, elo


def _announce_superseded(
    runtime: Runtime[RunContext], superseded: dict[str, float], elo: Mapping[str, float]
) -> None:
    for hid, old in superseded.items():
        emit(
            runtime,
            "elo",
            f"{hid} is tested: its pre-test LLM rating {old:.0f} is superseded; measured "
            f"matches alone rate it from now on (now {elo[hid]:.0f})",
            agent="ranking",
            hypothesis_id=hid,
        )


def _schedule(
    state: ResearchState,
    runtime: Runtime[RunContext],
    pairs: list[Pair],
    n: int,
    *,
    salt: int,
    elo: Mapping[str, float],
    played: Mapping[Pair, int],
) -> list[Pair]:
    ctx = runtime.context
    round_ = state.get("round", 1)
    new = {h.id for h in state["hypotheses"].values() if h.round == round_}
    return schedule_matches(
        pairs,
        n,
        elo=elo,
        new_ids=new,
        similarity=pairwise_similarity(state.get("embeddings", {})),
        played=played,
        seed=ctx.seed * 10_007 + round_ * 2 + salt,
        top_k=ctx.debate_top_k,
        scores=measured_scores(state["hypotheses"]),
    )


def rank_proposals(
    state: ResearchState, runtime: Runtime[RunContext], *, llm: LLMClient
) -> dict[str, Any]:
    """LLM matches for untested hypotheses, before compute is allocated.

    Tested hypotheses take part only as anchors: the judgement moves the untested side.
    """
    ctx = runtime.context
    hypotheses = state.get("hypotheses", {})
    active = sorted(h.id for h in hypotheses.values() if h.status in ("approved", "tested"))
    untested = [i for i in active if hypotheses[i].status == "approved"]
    pairs = [(a, b) for a in untested for b in active if a != b]
    elo, superseded = current_ratings(state)
    chosen = _schedule(
        state,
        runtime,
        pairs,
        ctx.llm_matches_per_round,
        salt=0,
        elo=_in_play(state, elo),
        played=_played(state.get("matches", [])),
    )
    if not chosen:
        return {}
    _announce_superseded(runtime, superseded, elo)
    emit(runtime, "agent", f"judging {len(chosen)} matches of untested proposals", agent="ranking")
    guard = LLMGuard.for_state(llm, state, ctx.max_llm_failures_in_a_row)
    matches, elo = _play(chosen, state, runtime, guard, elo)
    snapshot = EloSnapshot(
        round=state.get("round", 1), phase="proposals", ratings=elo, superseded=superseded
    )
    return {"matches": matches, "elo": elo, "elo_history": [snapshot], **guard.updates()}


def rank_results(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Measured matches between tested hypotheses (no LLM involved).

    First every tested rating is rebuilt from the measured matches so far (a newly tested
    hypothesis drops its LLM-derived rating and enters at 1200), then the new measured
    matches are played from there (each records its online update), and finally the
    tested ratings are refitted to all measured matches. Two fixed results always give
    the same outcome, so each tested pair meets once.
    """
    ctx = runtime.context
    elo, superseded = current_ratings(state)
    _announce_superseded(runtime, superseded, elo)
    tested = sorted(h.id for h in state.get("hypotheses", {}).values() if h.tested)
    measured = [m for m in state.get("matches", []) if m.method == "measured"]
    met = {pair_key(m.a, m.b) for m in measured}
    pairs = [(a, b) for i, a in enumerate(tested) for b in tested[i + 1 :] if (a, b) not in met]
    # Which measured matches are played, and in what order, must not depend on opinions
    # either: schedule on measured ratings and matches only.
    chosen = _schedule(
        state,
        runtime,
        pairs,
        ctx.measured_matches_per_round,
        salt=1,
        elo={h: elo[h] for h in tested},
        played=_played(measured),
    )
    matches, elo = _play(chosen, state, runtime, None, elo)
    elo.update(measured_ratings([*measured, *matches], tested))
    snapshot = EloSnapshot(
        round=state.get("round", 1), phase="results", ratings=elo, superseded=superseded
    )
    return {"matches": matches, "elo": elo, "elo_history": [snapshot]}
