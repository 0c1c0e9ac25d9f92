"""The measured effect of an intervention, and the verdict on its registered prediction.

A hypothesis has a control arm and a treatment arm: two experiments that differ in one
factor and share the run's fold plan, seed and trial budget, so their per-fold scores
are paired. The effect is the treatment's mean per-fold advantage, in points of the
metric, with the posterior of the Bayesian correlated t-test (Corani & Benavoli 2015;
Benavoli et al. 2017, JMLR 18(77)) that the tournament also uses (``agents._paired``).

Verdicts follow the interval-and-ROPE rule (Kruschke 2018, "Rejecting or accepting
parameter values in Bayesian estimation"): with the 95 % credible interval [a, b] and
the region of practical equivalence [-r, r],

- a claim that the treatment is **better** is confirmed when a > r (credibly better by
  more than a negligible amount), refuted when b <= r (credibly no better than
  negligible), and inconclusive otherwise;
- a claim that the treatment is **not worse** (within a tolerance t, at least r) is
  confirmed when a >= -t and refuted when b < -t.

A verdict is never a point comparison: with few folds or noisy scores the interval is
wide and the honest answer is "inconclusive".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

Verdict = Literal["confirmed", "refuted", "inconclusive"]
CREDIBLE_MASS = 0.95
DEFAULT_ROPE_POINTS = 1.0
"""Differences within one point of the metric are practically nil by default
(``cosci run --rope``)."""


class Effect(BaseModel):
    """Treatment minus control, in points of the metric (higher is better)."""

    model_config = ConfigDict(extra="forbid")
    points: float
    """Posterior mean (= observed mean per-fold difference), in points."""
    low: float
    """Lower end of the 95 % credible interval, in points."""
    high: float
    prob_better: float
    """Posterior probability that the treatment is better by more than the ROPE."""
    prob_worse: float
    rope_points: float
    folds: int
    reproduced: bool = False
    """The treatment's best configuration is the control's: its search only reproduced
    the control, which counts as zero effect."""

    def describe(self) -> str:
        text = f"{self.points:+.1f} points, 95 % interval [{self.low:+.1f}, {self.high:+.1f}]"
        if self.reproduced:
            text += " (the treatment reproduced the control's configuration: no gain)"
        return text


def points_scale(metric_is_loss: bool, control_score: float | None) -> float:
    """Score units per point: 0.01 of a bounded metric, 1 % of the control's loss for an
    unbounded one (rmse, mae, log_loss)."""
    if metric_is_loss and control_score:
        return abs(control_score) / 100.0
    return 0.01


def _t_quantile(q: float, df: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(q, df))


def _t_cdf(x: float, df: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.cdf(x, df))


def measure_effect(
    treatment: Sequence[float],
    control: Sequence[float],
    *,
    scale: float,
    rope_points: float = DEFAULT_ROPE_POINTS,
    reproduced: bool = False,
) -> Effect:
    """The paired effect of ``treatment`` over ``control`` fold scores, in points.

    ``scale`` is the score units of one point (:func:`points_scale`). Raises ValueError
    when the scores are not paired (different fold counts) or fewer than two folds.
    """
    if len(treatment) != len(control):
        raise ValueError(
            f"fold scores are not paired: {len(treatment)} vs {len(control)} folds; every "
            "arm of a run must use the run's fold plan"
        )
    k = len(treatment)
    if k < 2:
        raise ValueError(f"an effect needs at least 2 paired folds, got {k}")
    diffs = (
        [0.0] * k
        if reproduced
        else [(t - c) / scale for t, c in zip(treatment, control, strict=True)]
    )
    mean = sum(diffs) / k
    var = sum((d - mean) ** 2 for d in diffs) / (k - 1)
    r = rope_points
    if var == 0.0:
        low = high = mean
        prob_better = 1.0 if mean > r else 0.0
        prob_worse = 1.0 if mean < -r else 0.0
    else:
        # Nadeau-Bengio corrected scale with rho = 1/k (the test share of k-fold CV).
        sd = math.sqrt((1.0 / k + 1.0 / (k - 1)) * var)
        half = _t_quantile(0.5 + CREDIBLE_MASS / 2, k - 1) * sd
        low, high = mean - half, mean + half
        prob_better = 1.0 - _t_cdf((r - mean) / sd, k - 1)
        prob_worse = _t_cdf((-r - mean) / sd, k - 1)
    return Effect(
        points=round(mean, 4),
        low=round(low, 4),
        high=round(high, 4),
        prob_better=round(prob_better, 4),
        prob_worse=round(prob_worse, 4),
        rope_points=r,
        folds=k,
        reproduced=reproduced,
    )


def judge_prediction(
    effect: Effect, direction: Literal["better", "not_worse"], tolerance_points: float = 0.0
) -> Verdict:
    """Confirmed, refuted or inconclusive (see the module docstring for the rule)."""
    r = effect.rope_points
    if direction == "better":
        if effect.low > r:
            return "confirmed"
        if effect.high <= r:
            return "refuted"
        return "inconclusive"
    t = max(tolerance_points, r)
    if effect.low >= -t:
        return "confirmed"
    if effect.high < -t:
        return "refuted"
    return "inconclusive"


def credible_difference(effect: Effect) -> Literal["better", "worse", "none", "unclear"]:
    """What the interval says regardless of any prediction: credibly better, credibly
    worse, practically equivalent (inside the ROPE), or unclear (overlaps its edge)."""
    r = effect.rope_points
    if effect.low > r:
        return "better"
    if effect.high < -r:
        return "worse"
    if -r <= effect.low and effect.high <= r:
        return "none"
    return "unclear"


__all__ = [
    "CREDIBLE_MASS",
    "DEFAULT_ROPE_POINTS",
    "Effect",
    "Verdict",
    "credible_difference",
    "judge_prediction",
    "measure_effect",
    "points_scale",
]
