"""Spread a round's experiment budget over the hypotheses waiting to be tested.

More trials go to promising hypotheses (high Elo, e.g. from LLM pre-ranking) and to
uncertain ones (few matches so far), in the spirit of optimism under uncertainty: the
weight is ``promise * (0.5 + uncertainty)`` with ``promise = 10 ** ((elo - mean) / 400)``
(the Elo odds against an average hypothesis) and ``uncertainty = 1 / sqrt(1 + matches)``.
Every funded hypothesis gets at least ``min_trials``, so its result is a real search.

With a time budget the supervisor also prices rounds in seconds. The LLM's cost is read
from the state's per-round LLM seconds (:func:`llm_outlook`); another round opens only if
it fits the time left and the LLM share cap (:func:`next_round_blocker`). A round after
which none can follow is the last: its experiments share all the time left
(:func:`share_seconds`) with trial limits raised so that time, not trials, ends them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agents._elo import INITIAL_ELO


def priority(elo: float, mean_elo: float, n_matches: int) -> float:
    """How much a hypothesis deserves compute now (positive, unitless)."""
    promise = 10.0 ** ((elo - mean_elo) / 400.0)
    uncertainty = 1.0 / math.sqrt(1.0 + n_matches)
    return promise * (0.5 + uncertainty)


def allocate_trials(
    candidates: Sequence[str],
    total_trials: int,
    *,
    elo: Mapping[str, float],
    n_matches: Mapping[str, int],
    max_experiments: int | None = None,
    min_trials: int = 2,
    max_trials: int | None = None,
) -> dict[str, int]:
    """Trials per funded candidate; candidates left out wait for a later round.

    At most ``max_experiments`` candidates are funded (the highest priorities, ties by id),
    and never more than ``total_trials // min_trials`` of them. Trials beyond the minimum
    are shared in proportion to priority by the largest-remainder method, so the result
    sums exactly to the budget (unless every funded candidate hits ``max_trials``).
    """
    if min_trials < 1:
        raise ValueError("min_trials must be at least 1")
    if not candidates or total_trials < min_trials:
        return {}
    ratings = {h: elo.get(h, INITIAL_ELO) for h in candidates}
    mean_elo = sum(ratings.values()) / len(ratings)
    weights = {h: priority(ratings[h], mean_elo, n_matches.get(h, 0)) for h in candidates}
    ranked = sorted(candidates, key=lambda h: (-weights[h], h))
    limit = total_trials // min_trials
    if max_experiments is not None:
        limit = min(limit, max_experiments)
    funded = ranked[:limit]
    trials = dict.fromkeys(funded, min_trials)
    cap = max_trials if max_trials is not None else total_trials
    spare = total_trials - min_trials * len(funded)
    while spare > 0:
        open_ = [h for h in funded if trials[h] < cap]
        if not open_:
            break
        weight_sum = sum(weights[h] for h in open_)
        shares = {h: spare * weights[h] / weight_sum for h in open_}
        given = 0
        for h in open_:
            add = min(int(shares[h]), cap - trials[h])
            trials[h] += add
            given += add
        left = spare - given
        for h in sorted(open_, key=lambda h: (-(shares[h] - int(shares[h])), h)):
            if left <= 0:
                break
            if trials[h] < cap:
                trials[h] += 1
                left -= 1
        if left == spare:
            break
        spare = left
    return trials


ROUND_COST_FACTOR = 2.0
"""A new round opens only if the time left is at least this many times the LLM seconds a
round is expected to take (plus the overview), so its experiments get at least as much."""
END_LLM_CALLS = 2
"""LLM calls after the last experiment: the round's meta-review and the research overview."""
MIN_CALL_S = 2.5
"""Floor of the per-call estimate, so the end-of-run reserve is never nothing."""
MIN_EXPERIMENT_S = 10.0
"""No experiment gets a shorter time cap; fewer are funded when time is short."""
LAST_ROUND_TRIAL_FACTOR = 10
"""The last round multiplies each trial allocation by this: trials stay the weights, but
a fast search keeps going until its share of the remaining time is spent."""
MAX_TRIALS = 100_000
"""The backend's largest trial budget."""


@dataclass(frozen=True)
class LLMOutlook:
    """LLM seconds spent so far and expected, estimated from per-round LLM seconds."""

    spent_s: float
    """All LLM seconds so far (the plan and the model's loading included)."""
    round_s: float
    """Expected LLM seconds of one more round: the largest round seen."""
    call_s: float
    """Expected seconds of one call: the largest per-call average of a round."""

    @property
    def end_reserve_s(self) -> float:
        """Seconds held back for the LLM work after the last experiment."""
        return END_LLM_CALLS * self.call_s


def llm_outlook(
    llm_s_by_round: Mapping[int, float],
    *,
    current_round: int,
    round_done: bool,
    calls_per_round: int,
) -> LLMOutlook:
    """What the LLM has cost and will cost, from the state's ``llm_s_by_round``.

    Round 0 (the plan, which also pays for loading a local model) counts as spent but
    not as a round. A round still open (``round_done`` False) lacks its meta-review: that
    call is added to its size. ``calls_per_round`` is the nominal number of LLM calls of a
    round; the per-call estimate is the largest round average it gives, never below
    :data:`MIN_CALL_S`.
    """
    calls = max(calls_per_round, 2)
    rounds = {r: s for r, s in llm_s_by_round.items() if r >= 1}
    still_open = not round_done and current_round >= 1
    per_call = [
        s / (calls - 1 if still_open and r == current_round else calls) for r, s in rounds.items()
    ]
    call_s = max([MIN_CALL_S, *per_call])
    sizes = [s + (call_s if still_open and r == current_round else 0.0) for r, s in rounds.items()]
    if still_open and current_round not in rounds:
        sizes.append(call_s)
    return LLMOutlook(
        spent_s=sum(llm_s_by_round.values()),
        round_s=max(sizes, default=call_s),
        call_s=call_s,
    )


def next_round_blocker(
    *,
    time_budget_s: float,
    llm_share: float | None,
    llm_spent_s: float,
    left_s: float,
    outlook: LLMOutlook,
) -> str | None:
    """Why no round can follow the current one, or None if one fits.

    ``llm_spent_s`` and ``left_s`` are the LLM seconds spent and the budget seconds left
    once the current round (meta-review included) is done. Another round needs its LLM
    work (``outlook.round_s``), at least as much for experiments, and the closing
    overview's call; and with ``llm_share`` the LLM total must stay within
    ``llm_share * time_budget_s``.
    """
    if llm_share is not None:
        cap = llm_share * time_budget_s
        need = llm_spent_s + outlook.round_s + outlook.call_s
        if need > cap:
            return (
                f"LLM share cap: the LLM has used {llm_spent_s:.0f} s; another round (about "
                f"{outlook.round_s:.0f} s of LLM work) and the overview would pass "
                f"{llm_share:.0%} of the {time_budget_s:g} s budget ({cap:.0f} s)"
            )
    need = ROUND_COST_FACTOR * outlook.round_s + outlook.call_s
    if left_s < need:
        return (
            f"time budget nearly spent: {max(left_s, 0.0):.0f} s left, and a round needs "
            f"about {need:.0f} s (its LLM work alone about {outlook.round_s:.0f} s)"
        )
    return None


def share_seconds(
    trials: Mapping[str, int], total_s: float, *, min_s: float = MIN_EXPERIMENT_S
) -> dict[str, float]:
    """``total_s`` split in proportion to the trials; none below ``min_s`` (so the sum
    passes ``total_s`` only when that floor binds)."""
    n = sum(trials.values())
    if n <= 0:
        return {}
    return {h: max(min_s, total_s * k / n) for h, k in trials.items()}
