"""The supervisor's deterministic reading of a goal and its stopping rules."""

from agents._context import RunContext
from agents._messages import EloSnapshot
from agents.nodes.supervisor import goal_warnings, metric_named_in, stop_reason


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


def _tested(hid: str):
    from agents._messages import Hypothesis, Prediction
    from automl_backend import ExperimentResult, ExperimentSpec, TrialConfig

    result = ExperimentResult(
        status="ok",
        metric="accuracy",
        best_score=0.9,
        fold_scores=[0.9, 0.9],
        best_config=TrialConfig(family="knn"),
    )
    return Hypothesis(
        id=hid,
        round=1,
        origin="generation",
        statement="s",
        status="tested",
        result=result,
        prediction=Prediction(comparator="better", margin=0.01, baseline="b"),
        experiment=ExperimentSpec.for_families(["knn"]),
    )


def test_stable_elo_with_the_same_leader_stops_the_run() -> None:
    ctx = RunContext(rounds=5, time_budget_s=None, elo_stable_delta=10)
    hypotheses = {h: _tested(h) for h in ("H1", "H2")}

    def state(after: dict, before: dict | None = None) -> dict:
        before = before or {"H1": 1220.0, "H2": 1180.0}
        history = [
            EloSnapshot(round=1, phase="results", ratings=before),
            EloSnapshot(round=2, phase="results", ratings=after),
        ]
        return {"round": 2, "spent_s": 0.0, "elo_history": history, "hypotheses": hypotheses}

    assert "stable" in stop_reason(state({"H1": 1225.0, "H2": 1175.0}), ctx)
    assert stop_reason(state({"H1": 1240.0, "H2": 1160.0}), ctx) is None  # still moving
    close = {"H1": 1201.0, "H2": 1200.0}
    assert stop_reason(state({"H1": 1199.0, "H2": 1202.0}, close), ctx) is None  # new leader


def test_stop_rules() -> None:
    ctx = RunContext(rounds=3, time_budget_s=100)
    assert stop_reason({"round": 3, "spent_s": 0.0}, ctx) == "completed 3 round(s)"
    assert "time budget" in stop_reason({"round": 1, "spent_s": 150.0}, ctx)
    assert stop_reason({"round": 1, "spent_s": 10.0}, ctx) is None


def test_no_new_round_when_the_time_left_cannot_pay_for_more_than_the_llm() -> None:
    ctx = RunContext(rounds=5, time_budget_s=300)
    state = {"round": 2, "spent_s": 200.0, "llm_s_by_round": {1: 30.0, 2: 60.0}}
    assert "nearly spent" in stop_reason(state, ctx)  # 100 s left < 2 x 60 s
    state["llm_s_by_round"] = {2: 40.0}
    assert stop_reason(state, ctx) is None
