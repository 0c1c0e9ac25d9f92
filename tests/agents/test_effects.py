"""Effects and verdicts: the interval-and-ROPE rule on paired fold scores."""

import pytest

from agents._effects import (
    credible_difference,
    judge_prediction,
    measure_effect,
    points_scale,
)


def test_points_are_hundredths_or_percent_of_the_controls_loss() -> None:
    assert points_scale(False, 0.9) == pytest.approx(0.01)
    assert points_scale(True, -4.0) == pytest.approx(0.04)


def test_a_large_consistent_gain_is_confirmed() -> None:
    effect = measure_effect(
        [0.95, 0.96, 0.94, 0.95, 0.97], [0.80, 0.82, 0.79, 0.81, 0.80], scale=0.01
    )
    assert effect.points == pytest.approx(15.0, abs=0.01)
    assert effect.low > 1.0 and effect.high > effect.points
    assert judge_prediction(effect, "better") == "confirmed"
    assert credible_difference(effect) == "better"


def test_a_verdict_is_inconclusive_when_the_interval_overlaps_the_rope() -> None:
    # The demo's case: +0.7 points predicted >= 1, fold standard error about 1.5 points.
    treatment = [0.93, 0.95, 0.91, 0.96, 0.935]
    control = [0.925, 0.93, 0.92, 0.94, 0.935]
    effect = measure_effect(treatment, control, scale=0.01, rope_points=1.0)
    assert effect.low < 1.0 < effect.high
    assert judge_prediction(effect, "better") == "inconclusive"
    assert credible_difference(effect) == "unclear"


def test_an_interval_inside_the_rope_refutes_a_gain_and_confirms_not_worse() -> None:
    effect = measure_effect(
        [0.900, 0.901, 0.899, 0.900, 0.900], [0.899, 0.900, 0.900, 0.899, 0.901], scale=0.01
    )
    assert effect.low >= -1.0 and effect.high <= 1.0
    assert judge_prediction(effect, "better") == "refuted"
    assert judge_prediction(effect, "not_worse", 1.0) == "confirmed"
    assert credible_difference(effect) == "none"


def test_a_credibly_worse_treatment_refutes_not_worse() -> None:
    effect = measure_effect([0.70, 0.71, 0.69], [0.90, 0.91, 0.89], scale=0.01)
    assert judge_prediction(effect, "not_worse", 1.0) == "refuted"
    assert credible_difference(effect) == "worse"


def test_a_reproduction_counts_as_zero_effect() -> None:
    effect = measure_effect([0.95, 0.96, 0.97], [0.90, 0.90, 0.90], scale=0.01, reproduced=True)
    assert (effect.points, effect.low, effect.high) == (0.0, 0.0, 0.0)
    assert judge_prediction(effect, "better") == "refuted"
    assert "reproduced" in effect.describe()


def test_unpaired_scores_are_an_error_not_a_verdict() -> None:
    with pytest.raises(ValueError, match="not paired"):
        measure_effect([0.9, 0.9, 0.9], [0.9, 0.9], scale=0.01)
