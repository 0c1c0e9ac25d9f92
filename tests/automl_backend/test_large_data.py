"""Large-data efficiency: the fold plan, early stopping in LightGBM and the refit's rounds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.datasets import make_classification

from automl_backend import CVSpec, ExperimentSpec, load_dataset, parse_spec
from automl_backend._builders import (
    EARLY_STOPPING_MIN_ROWS,
    EARLY_STOPPING_PATIENCE,
    boosted_rounds,
    boosting_rounds,
    build_estimator,
    cut_by_time,
    set_fit_deadline,
    stored_tree_count,
    stored_tree_mb,
)
from automl_backend._errors import SpecError
from automl_backend._hpo.finalize import (
    ARTIFACT_RESERVE_S,
    REFIT_ROUNDS_GROWTH,
    SAVE_MB_PER_S,
    TREE_SAVE_S,
    expected_save_s,
    refit_config,
)
from automl_backend._hpo.run import _encode, _rungs, run_hpo
from automl_backend._hpo.search import OVERRUN_REASON, HPOTrial
from automl_backend._spec import TrialConfig
from automl_backend._splits import (
    HALVING_ETA,
    HALVING_FRACTIONS,
    halving_rungs,
    resolve_cv,
    subsample_positions,
)


def _table(rows: int, features: int, seed: int = 0) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=rows, n_features=features, n_informative=min(features, 5), random_state=seed
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)])
    frame["y"] = y
    return frame


def test_the_fold_plan_follows_data_size_and_budget() -> None:
    big = load_dataset(_table(12_000, 16), "y")
    wide = load_dataset(_table(4_000, 40), "y")
    small = load_dataset(_table(600, 8), "y")
    # 12 000 rows x 16 features in 60 s: large for the budget, and enough rows for a holdout.
    assert resolve_cv(CVSpec(), big, 60.0) == ("holdout", 3)
    # As many cells on fewer rows: 3 folds, a holdout of 800 rows would be too noisy.
    assert resolve_cv(CVSpec(), wide, 60.0) == ("stratified", 3)
    assert resolve_cv(CVSpec(), small, 60.0) == ("stratified", 5)
    # Without a time budget, and with the strategy or folds set, nothing is overridden.
    assert resolve_cv(CVSpec(), big, None) == ("stratified", 5)
    assert resolve_cv(CVSpec(strategy="stratified", folds=4), big, 60.0) == ("stratified", 4)


def test_lightgbm_stops_boosting_at_the_best_round_on_a_held_out_share() -> None:
    frame = _table(2_000, 10)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    model = build_estimator(
        "lightgbm", {"n_estimators": 3000, "learning_rate": 0.3}, classification=True,
        n_train=len(y),
    )  # fmt: skip
    model.fit(X, y)
    rounds = boosting_rounds(model)
    assert rounds is not None and 1 <= rounds < 3000
    # It boosted the patience past the best round, which the model does not keep.
    assert boosted_rounds(model) == rounds + EARLY_STOPPING_PATIENCE
    assert model.predict_proba(X).shape == (len(y), 2)
    assert list(model.classes_) == [0, 1]
    assert (model.predict(X) == y).mean() > 0.8


def test_lightgbm_fits_every_round_when_asked_or_on_few_rows() -> None:
    off = build_estimator("lightgbm", {"early_stopping": False}, classification=True, n_train=5000)
    few = build_estimator("lightgbm", {}, classification=True, n_train=EARLY_STOPPING_MIN_ROWS - 1)
    assert isinstance(off, LGBMClassifier) and isinstance(few, LGBMClassifier)
    assert boosting_rounds(off) is None


def test_a_boosting_fit_past_its_deadline_keeps_its_best_round_so_far() -> None:
    frame = _table(3_000, 8, seed=2)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    # A slow learning rate keeps improving for thousands of rounds: early stopping alone
    # would not end it.
    params = {"n_estimators": 5000, "learning_rate": 0.001}
    free = build_estimator("lightgbm", params, classification=True, n_train=len(y))
    free.fit(X, y)
    assert not cut_by_time(free)
    set_fit_deadline(time.monotonic() + 0.3)
    try:
        cut = build_estimator("lightgbm", params, classification=True, n_train=len(y))
        cut.fit(X, y)
    finally:
        set_fit_deadline(None)
    rounds = boosting_rounds(cut)
    assert cut_by_time(cut) and rounds is not None
    assert 1 <= rounds < boosting_rounds(free)  # type: ignore[operator]
    assert rounds <= boosted_rounds(cut) < boosted_rounds(free)  # type: ignore[operator]
    assert (cut.predict(X) == y).mean() > 0.7


def test_a_boosting_trial_cut_by_its_time_limit_is_scored_and_says_so() -> None:
    data = load_dataset(_table(8_000, 8, seed=3), "y")
    spec = ExperimentSpec.model_validate({
        # A slow learning rate keeps improving for all 5000 rounds: 6 s or more a fold here,
        # where a fold gets at most 0.6 x 8 / 2 = 2.4 s.
        "models": [{"family": "lightgbm", "params": {
            "n_estimators": {"type": "int", "low": 5000, "high": 5000},
            "learning_rate": {"type": "float", "low": 0.001, "high": 0.001}}}],
        "budget": {"time_s": None, "n_trials": 1, "trial_timeout_s": 8},
        "cv": {"folds": 2},
        "search": {"enqueue_defaults": False, "portfolio": False},
    })  # fmt: skip
    output = run_hpo(spec, data)
    [record] = output.records
    assert record.state == "complete", record.reason
    assert record.reason is not None and "time limit" in record.reason
    assert record.rounds is not None and record.rounds < 5000
    assert record.score is not None and record.score > 0.7
    assert output.model is not None


def test_a_trial_whose_first_rung_predicts_an_overrun_is_abandoned_there() -> None:
    data = load_dataset(_table(12_000, 8, seed=5), "y")
    slow = TrialConfig(family="lightgbm", params={"n_estimators": 5000, "learning_rate": 0.001})
    quick = TrialConfig(family="logistic", params={})

    def spec(warm: list[TrialConfig]) -> ExperimentSpec:
        return ExperimentSpec.model_validate({
            "models": [{"family": "lightgbm", "params": {
                "n_estimators": {"type": "int", "low": 5000, "high": 5000},
                "learning_rate": {"type": "float", "low": 0.001, "high": 0.001}}},
                {"family": "logistic"}],
            "budget": {"time_s": None, "n_trials": len(warm), "trial_timeout_s": 8},
            "cv": {"strategy": "holdout"}, "ensemble": {"enabled": False},
            "search": {"halving": "on", "enqueue_defaults": False, "portfolio": False},
            "warm_start": [c.model_dump() for c in warm],
        })  # fmt: skip

    # After a completed trial: the slow one's fit on a ninth of the rows is cut at its
    # slice of the 8 s, which scaled to the rest of its rows predicts far more than 8 s.
    run = run_hpo(spec([quick, slow]), data)
    first, second = sorted(run.records, key=lambda r: r.number)
    assert first.state == "complete" and first.config.family == "logistic"
    assert second.state == "pruned" and second.config.family == "lightgbm"
    assert second.reason is not None and second.reason.startswith(OVERRUN_REASON), second.reason
    assert len(second.rung_scores) == 1 and not second.fold_scores
    assert any("1 of them because all rows would take" in n for n in run.result.notes)
    # The same trial alone: nothing has completed and there is no time budget to protect
    # (the first trials of a search where everything is slow), so it runs to its end.
    [alone] = run_hpo(spec([slow]), data).records
    assert alone.state == "complete", alone.reason
    assert len(alone.rung_scores) == 2 and len(alone.fold_scores) == 1


def test_the_written_size_of_a_forest_is_estimated_from_its_nodes(tmp_path: Path) -> None:
    import skops.io as sio

    frame = _table(3_000, 8, seed=4)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    forest = build_estimator("extra_trees", {"n_estimators": 30, "min_samples_leaf": 1},
                             classification=True, n_train=len(y)).fit(X, y)  # fmt: skip
    estimate = stored_tree_mb(forest)
    sio.dump(forest, tmp_path / "forest.skops")
    written = (tmp_path / "forest.skops").stat().st_size / 1e6
    assert 0.7 * written < estimate < 1.3 * written
    boosting = build_estimator("lightgbm", {}, classification=True, n_train=len(y)).fit(X, y)
    assert stored_tree_mb(boosting) == 0.0
    assert (stored_tree_count(forest), stored_tree_count(boosting)) == (30, 0)
    # A holdout trains on 80 % of the rows: the refit's trees are 1.25 times as large.
    config = TrialConfig(family="extra_trees", params={})
    big = HPOTrial(number=0, config=config, state="complete", stored_mb=400.0)
    assert expected_save_s([big], 1) == pytest.approx(400 * 1.25 / SAVE_MB_PER_S)
    assert expected_save_s([big, big], 3) == pytest.approx(2 * 400 * 1.5 / SAVE_MB_PER_S)
    assert ARTIFACT_RESERVE_S + expected_save_s([], 5) == ARTIFACT_RESERVE_S
    # Each tree costs its fixed write time too, however small (trees do not grow in number).
    many = HPOTrial(number=1, config=config, state="complete", stored_mb=1.0, trees=400)
    assert expected_save_s([many], 5) == pytest.approx(1.25 / SAVE_MB_PER_S + 400 * TREE_SAVE_S)


def test_the_refit_boosts_for_the_rounds_the_trials_found() -> None:
    config = TrialConfig(family="lightgbm", params={"n_estimators": 2000, "learning_rate": 0.1})
    found = HPOTrial(number=0, config=config, state="complete", rounds=100)
    refit = refit_config(found)
    assert refit.params["n_estimators"] == round(100 * REFIT_ROUNDS_GROWTH)
    assert refit.params["early_stopping"] is False
    assert refit.params["learning_rate"] == 0.1
    # Rounds unknown (another process's trial): every configured round, on every row.
    unknown = refit_config(HPOTrial(number=1, config=config, state="complete"))
    assert unknown.params["n_estimators"] == 2000 and unknown.params["early_stopping"] is False
    forest = TrialConfig(family="random_forest", params={"n_estimators": 50})
    assert refit_config(HPOTrial(number=2, config=forest, state="complete")) == forest


def test_a_search_reports_the_rounds_and_the_final_model_uses_them() -> None:
    data = load_dataset(_table(1_500, 8, seed=1), "y")
    spec = ExperimentSpec.model_validate({
        "models": [{"family": "lightgbm"}],
        "budget": {"time_s": None, "n_trials": 1},
        "cv": {"folds": 3},
        "warm_start": [{"family": "lightgbm", "params": {"n_estimators": 2000,
                                                        "learning_rate": 0.3}}],
        "search": {"enqueue_defaults": False},
    })  # fmt: skip
    output = run_hpo(spec, data)
    [record] = output.records
    assert record.state == "complete" and record.rounds is not None and record.rounds < 2000
    assert record.boosted is not None and record.boosted >= record.rounds
    assert output.model is not None
    [(_, pipeline)] = output.model.members
    final = pipeline.steps[-1][1]
    assert isinstance(final, LGBMClassifier)
    assert final.n_estimators == round(record.rounds * REFIT_ROUNDS_GROWTH)
    assert np.isfinite(output.result.best_score)


def test_halving_rungs_follow_the_mode_the_split_and_the_rows() -> None:
    ninth, third = HALVING_FRACTIONS
    assert halving_rungs("auto", "holdout", 16_000) == (ninth, third)
    # A ninth of 5 000 rows is below MIN_RUNG_ROWS["auto"]: only the third is kept.
    assert halving_rungs("auto", "holdout", 5_000) == (third,)
    assert halving_rungs("auto", "stratified", 16_000) == ()
    assert halving_rungs("off", "holdout", 16_000) == ()
    assert halving_rungs("on", "stratified", 900) == (ninth, third)


def test_auto_halving_is_on_for_data_large_for_its_budget_and_off_otherwise() -> None:
    big = load_dataset(_table(12_000, 16), "y")
    small = load_dataset(_table(600, 8), "y")
    spec = parse_spec({"budget": {"time_s": 60}})
    assert _rungs(spec, big, _encode(big, spec, "accuracy").problem, shared=False) == (
        HALVING_FRACTIONS
    )
    assert _rungs(spec, small, _encode(small, spec, "accuracy").problem, shared=False) == ()
    # A study shared with other workers, or a fold pruner, turns it off.
    assert _rungs(spec, big, _encode(big, spec, "accuracy").problem, shared=True) == ()
    pruned = parse_spec({"budget": {"time_s": 60}, "search": {"pruner": "median"}})
    assert _rungs(pruned, big, _encode(big, pruned, "accuracy").problem, shared=False) == ()
    with pytest.raises(SpecError, match="needs a single objective and pruner 'none'"):
        parse_spec({"search": {"halving": "on", "pruner": "median"}})


def test_subsamples_keep_the_class_shares() -> None:
    labels = np.array([0] * 900 + [1] * 100)
    rows = np.arange(1000)
    kept = subsample_positions(labels, rows, 1 / 9, seed=0)
    assert len(kept) == 111 and np.all(np.diff(kept) > 0)
    assert 10 <= int(labels[kept].sum()) <= 12
    assert np.array_equal(kept, subsample_positions(labels, rows, 1 / 9, seed=0))


def test_successive_halving_stops_trials_not_among_the_best_third_at_a_rung() -> None:
    data = load_dataset(_table(1_500, 8), "y")
    spec = parse_spec({
        "models": [{"family": "knn"}, {"family": "logistic"}, {"family": "extra_trees"}],
        "budget": {"time_s": None, "n_trials": 15}, "cv": {"strategy": "holdout"},
        "search": {"halving": "on", "portfolio": False}, "ensemble": {"enabled": False},
    })  # fmt: skip
    run = run_hpo(spec, data)
    records = sorted(run.records, key=lambda r: r.number)
    stopped = [r for r in records if r.state == "pruned"]
    assert stopped and any(r.state == "complete" for r in records)
    # One trial at a time, so the rule can be replayed in trial order.
    seen: dict[int, list[float]] = {0: [], 1: []}
    for record in records:
        assert record.rung_scores, record
        for rung, value in enumerate(record.rung_scores):
            seen[rung].append(value)
            ranked = sorted(seen[rung], reverse=True)
            goes_on = len(ranked) < HALVING_ETA or value >= ranked[len(ranked) // HALVING_ETA - 1]
            last = rung == len(record.rung_scores) - 1
            if not last:
                assert goes_on
            elif record.state == "pruned":
                assert not goes_on and not record.fold_scores
                assert record.reason is not None and record.reason.startswith("stopped at")
            else:
                assert goes_on and rung == 1 and len(record.fold_scores) == 1
    assert any(n.startswith("successive halving: ") for n in run.result.notes)
    # Stopped trials never join the ensemble or become the best configuration.
    best = max((r for r in records if r.state == "complete"), key=lambda r: r.score or 0.0)
    assert run.result.best_score == best.score


def test_a_fit_after_a_slow_report_gets_its_slice_less_that_time() -> None:
    """The work after a fit (predicting the validation rows) comes out of the next fit's
    slice once a fold has shown how long it takes."""
    import time

    from automl_backend import _builders
    from automl_backend._hpo import worker

    deadline = time.monotonic() + 10.0
    try:
        worker._limit_fit(deadline, 1)
        plain = _builders._fit_deadline
        worker._limit_fit(deadline, 1, after_fit_s=4.0)
        shortened = _builders._fit_deadline
        worker._limit_fit(deadline, 1, after_fit_s=20.0)
        none_left = _builders._fit_deadline
    finally:
        worker._limit_fit(None, 1)
    assert plain is not None and shortened is not None and none_left is not None
    assert plain - deadline == pytest.approx(-10.0 * (1 - worker.FIT_TIME_SHARE), abs=0.05)
    assert shortened - deadline == pytest.approx(-10.0 + worker.AFTER_FIT_SHARE * 6.0, abs=0.05)
    assert none_left <= time.monotonic()
