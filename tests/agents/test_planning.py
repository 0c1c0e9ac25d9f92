"""The plan's deterministic reading of a goal: mismatched questions and named metrics."""

from __future__ import annotations

from agents.nodes.planning import goal_warnings, metric_named_in


def test_regression_goal_on_class_target_is_flagged() -> None:
    warnings = goal_warnings("Minimise the RMSE of the predicted price", "binary", "y", None)
    assert warnings and "cannot answer" in warnings[0]
    assert goal_warnings("Which classifier is most accurate?", "binary", "y", "regression") == []
    assert goal_warnings("Classify the tumours", "regression", "size", None)
    unconfirmed = goal_warnings("Which model is best?", "binary", "y", "regression")
    assert unconfirmed and unconfirmed[0].startswith("Possible mismatch")


def test_metric_named_in_the_goal_wins_if_it_fits_the_task() -> None:
    assert metric_named_in("maximise balanced accuracy", "multiclass") == "balanced_accuracy"
    assert metric_named_in("best F1 please", "binary") == "f1"
    assert metric_named_in("best F1 please", "multiclass") == "f1_macro"
    assert metric_named_in("lowest RMSE", "binary") is None
    assert metric_named_in("which family wins?", "binary") is None
