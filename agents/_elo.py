"""Elo ratings for the hypothesis tournament (Elo 1978; the co-scientist of Gottweis et al. 2025).

Ratings start at 1200. A match result is the score of the first player: 1 win, 0.5 draw,
0 loss.

Measurements overrule opinions. An LLM's judgement is the only evidence about a
hypothesis before its experiment, and its purpose is to steer the experiment budget, so it
rates a hypothesis only while that hypothesis is untested: in a judged match against a
tested hypothesis, only the untested side moves (``update_against_anchor``) and the
tested side is an anchor. Once tested, a hypothesis's rating is rebuilt from measured
evidence alone: the ratings of all tested hypotheses are the replay, from 1200 and in
match order, of the measured matches between them (``replay``), so whatever the LLM
thought of it before is superseded and two hypotheses whose measured matches all drew
stay level instead of keeping leftover opinion.
"""

from __future__ import annotations

from collections.abc import Iterable

INITIAL_ELO = 1200.0
"""Every hypothesis enters the tournament with this rating."""
K_MEASURED = 32.0
"""K for matches decided by per-fold scores of two experiments."""
K_JUDGED = 8.0
"""K for matches decided by an LLM: a quarter weight, since no measurement stands behind them."""


def expected_score(rating_a: float, rating_b: float) -> float:
    """Probability-like expectation that A beats B under the logistic Elo model."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))


def _delta(rating_a: float, rating_b: float, score_a: float, k: float) -> float:
    if not 0.0 <= score_a <= 1.0:
        raise ValueError(f"score_a must lie in [0, 1], got {score_a}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return k * (score_a - expected_score(rating_a, rating_b))


def elo_update(
    rating_a: float, rating_b: float, score_a: float, k: float = K_MEASURED
) -> tuple[float, float]:
    """New ratings of A and B after a match where A scored ``score_a`` (1, 0.5 or 0).

    The update is zero-sum: whatever A gains, B loses.
    """
    delta = _delta(rating_a, rating_b, score_a, k)
    return rating_a + delta, rating_b - delta


def update_against_anchor(rating: float, anchor: float, score: float, k: float = K_JUDGED) -> float:
    """New rating of a player who scored ``score`` against an anchor whose rating stays.

    The mover gains or loses what it would in an ordinary match; the anchor's rating
    rests on other evidence (measurements) that this match must not touch.
    """
    return rating + _delta(rating, anchor, score, k)


def replay(
    games: Iterable[tuple[str, str, float]],
    players: Iterable[str] = (),
    *,
    k: float = K_MEASURED,
) -> dict[str, float]:
    """Ratings after playing ``games`` (a, b, score of a) in order, everyone from 1200.

    Every id in ``players`` gets a rating, 1200 if it played no game; so does every id
    that appears in a game.
    """
    ratings = dict.fromkeys(players, INITIAL_ELO)
    for a, b, score_a in games:
        ratings[a], ratings[b] = elo_update(
            ratings.get(a, INITIAL_ELO), ratings.get(b, INITIAL_ELO), score_a, k=k
        )
    return ratings
