"""Elo ratings for the hypothesis tournament (Elo 1978; the co-scientist of Gottweis et al. 2025).

Ratings start at 1200. A match result is the score of the first player: 1 win, 0.5 draw,
0 loss.

Measurements overrule opinions. An LLM's judgement is the only evidence about a
hypothesis before its experiment, and its purpose is to steer the experiment budget, so it
rates a hypothesis only while that hypothesis is untested: in a judged match against a
tested hypothesis, only the untested side moves (``update_against_anchor``) and the
tested side is an anchor. Once tested, a hypothesis's rating is rebuilt from measured
evidence alone: the ratings of all tested hypotheses are fitted to the measured matches
between them (``fit_ratings``), so whatever the LLM thought of it before is superseded
and two hypotheses whose measured matches all drew stay level instead of keeping
leftover opinion.

Online Elo depends on the order of the games: replayed in another order, the same
results give other ratings, and among hypotheses that mostly drew the order of play
alone can decide who ranks higher. So the standing ratings of tested hypotheses are the
maximum a-posteriori fit of Elo's own model (Bradley & Terry 1952 on the Elo scale; a
draw counts half a win) to all their measured matches at once, which is what Chatbot
Arena moved to for the same reason (Chiang et al., ICML 2024). Each hypothesis also
plays one virtual draw against a 1200-rated average, a prior that keeps the fit finite
when a hypothesis wins every match. Each match still records its own online update
(``elo_update``) in the history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

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


PRIOR_DRAWS = 1.0
"""Virtual draws of every tested hypothesis against a 1200-rated average (the fit's prior)."""
_SCALE = 400.0 / math.log(10.0)
"""Elo points per unit of log-odds."""


def fit_ratings(
    games: Iterable[tuple[str, str, float]],
    players: Iterable[str] = (),
    *,
    prior_draws: float = PRIOR_DRAWS,
) -> dict[str, float]:
    """Ratings that best explain ``games`` (a, b, score of a) under Elo's logistic model.

    The maximum a-posteriori Bradley-Terry fit on the Elo scale, with ``prior_draws``
    virtual draws of each player against a 1200-rated average; found by Newton's method
    (the objective is strictly concave). The result does not depend on the order of
    ``games``. Players with no game, and players whose games all drew against players at
    1200, stay at exactly 1200; ratings are rounded to 1/1000 of a point so players with
    the same record compare equal.
    """
    if prior_draws <= 0:
        raise ValueError(f"prior_draws must be positive, got {prior_draws}")
    played = [(a, b, float(s)) for a, b, s in games]
    ids = sorted(set(players) | {p for a, b, _ in played for p in (a, b)})
    if not ids:
        return {}
    index = {p: i for i, p in enumerate(ids)}
    for _, _, s in played:
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"a game's score must lie in [0, 1], got {s}")
    theta = np.zeros(len(ids))
    for _ in range(100):
        against_average = _sigmoid(theta)
        grad = prior_draws * (0.5 - against_average)
        hessian = -np.diag(prior_draws * against_average * (1.0 - against_average))
        for a, b, s in played:
            i, j = index[a], index[b]
            p = _sigmoid(theta[i] - theta[j])
            grad[i] += s - p
            grad[j] -= s - p
            w = p * (1.0 - p)
            hessian[i, i] -= w
            hessian[j, j] -= w
            hessian[i, j] += w
            hessian[j, i] += w
        step = np.linalg.solve(hessian, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return {p: round(INITIAL_ELO + _SCALE * float(theta[index[p]]), 3) for p in ids}


def _sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
