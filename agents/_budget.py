"""Spread a round's experiment budget over the hypotheses waiting to be tested.

More trials go to promising hypotheses (high Elo, e.g. from LLM pre-ranking) and to
uncertain ones (few matches so far), in the spirit of optimism under uncertainty: the
weight is ``promise * (0.5 + uncertainty)`` with ``promise = 10 ** ((elo - mean) / 400)``
(the Elo odds against an average hypothesis) and ``uncertainty = 1 / sqrt(1 + matches)``.
Every funded hypothesis gets at least ``min_trials``, so its result is a real search.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

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
