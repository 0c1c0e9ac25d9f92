"""Elo ratings for the hypothesis tournament (Elo 1978; the co-scientist of Gottweis et al. 2025).

Ratings start at 1200. A match result is the score of the first player: 1 win, 0.5 draw,
0 loss. The K factor is a parameter because measured matches deserve more weight than an
LLM's opinion of two untested hypotheses.
"""

from __future__ import annotations

INITIAL_ELO = 1200.0
"""Every hypothesis enters the tournament with this rating."""
K_MEASURED = 32.0
"""K for matches decided by per-fold scores of two experiments."""
K_JUDGED = 8.0
"""K for matches decided by an LLM: a quarter weight, since no measurement stands behind them."""


def expected_score(rating_a: float, rating_b: float) -> float:
    """Probability-like expectation that A beats B under the logistic Elo model."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))


def elo_update(
    rating_a: float, rating_b: float, score_a: float, k: float = K_MEASURED
) -> tuple[float, float]:
    """New ratings of A and B after a match where A scored ``score_a`` (1, 0.5 or 0).

    The update is zero-sum: whatever A gains, B loses.
    """
    if not 0.0 <= score_a <= 1.0:
        raise ValueError(f"score_a must lie in [0, 1], got {score_a}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    delta = k * (score_a - expected_score(rating_a, rating_b))
    return rating_a + delta, rating_b - delta
