"""Decide a match between two tested hypotheses from their per-fold cross-validation scores.

Both experiments of a run use the same folds (same seed, same number of folds), so the
scores are paired. Fold scores of k-fold CV are correlated (the training sets overlap),
which makes a plain paired t-test far too confident. We use the Bayesian correlated
t-test (Corani & Benavoli 2015; Benavoli et al. 2017, JMLR 18(77)): the mean difference
has a Student-t posterior with ``k - 1`` degrees of freedom, location the observed mean
difference and scale ``sqrt((1/k + rho/(1-rho)) * s^2)`` with ``rho = 1/k`` (the test
share of the data), the same variance correction as Nadeau & Bengio (2003).

A side wins when the posterior probability that it is better by more than the region
of practical equivalence (``rope``) reaches ``threshold``; otherwise the match is a draw.
Few folds are handled by the posterior itself: with two folds it is a Cauchy
distribution, and only a large, consistent difference reaches the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DEFAULT_THRESHOLD = 0.90
"""Posterior probability a side needs to win. 0.95 would leave nearly every match of a
3-fold run a draw; 0.90 still calls a winner only on a consistent difference."""
DEFAULT_ROPE = 0.002
"""Differences within this many score units count as practically equal (0.2 points of a
bounded metric); callers pass a metric-aware value."""


@dataclass(frozen=True)
class PairedOutcome:
    """Result of comparing two hypotheses' per-fold scores (higher is better)."""

    winner: Literal["a", "b", "draw"]
    mean_diff: float
    """Mean of score_a - score_b over folds."""
    prob_a: float
    """Posterior probability that A is better by more than the rope."""
    prob_b: float
    """Posterior probability that B is better by more than the rope."""
    rule: str
    """How it was decided, for the match's reason."""

    @property
    def score_a(self) -> float:
        """Elo score of A: 1 win, 0.5 draw, 0 loss."""
        return {"a": 1.0, "b": 0.0, "draw": 0.5}[self.winner]


def _t_cdf(x: float, df: int) -> float:
    """CDF of Student's t (scipy ships with scikit-learn)."""
    from scipy.stats import t as student_t

    return float(student_t.cdf(x, df))


def compare_fold_scores(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    *,
    rope: float = DEFAULT_ROPE,
    threshold: float = DEFAULT_THRESHOLD,
) -> PairedOutcome:
    """Compare paired per-fold scores; a draw unless one side is credibly better."""
    if len(scores_a) != len(scores_b):
        raise ValueError(f"fold scores are not paired: {len(scores_a)} vs {len(scores_b)} folds")
    k = len(scores_a)
    if k < 2:
        raise ValueError(f"a paired comparison needs at least 2 folds, got {k}")
    if rope < 0 or not 0.5 < threshold < 1:
        raise ValueError("rope must be >= 0 and threshold in (0.5, 1)")
    diffs = [float(a) - float(b) for a, b in zip(scores_a, scores_b, strict=True)]
    if any(math.isnan(d) for d in diffs):
        raise ValueError("fold scores contain NaN")
    mean = sum(diffs) / k
    var = sum((d - mean) ** 2 for d in diffs) / (k - 1)
    if var == 0.0:
        # Every fold shows the same difference: the posterior is a point mass.
        prob_a = 1.0 if mean > rope else 0.0
        prob_b = 1.0 if mean < -rope else 0.0
    else:
        scale = math.sqrt((1.0 / k + 1.0 / (k - 1)) * var)
        prob_a = 1.0 - _t_cdf((rope - mean) / scale, k - 1)
        prob_b = _t_cdf((-rope - mean) / scale, k - 1)
    winner: Literal["a", "b", "draw"] = "draw"
    if prob_a >= threshold:
        winner = "a"
    elif prob_b >= threshold:
        winner = "b"
    rule = (
        f"correlated t-test, {k} folds: P(A better)={prob_a:.2f}, P(B better)={prob_b:.2f}, "
        f"rope {rope:g}, threshold {threshold:g}"
    )
    return PairedOutcome(winner, mean, prob_a, prob_b, rule)
