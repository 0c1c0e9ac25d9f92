"""DatasetProfile meta-features and greedy ensemble selection."""

from __future__ import annotations

import numpy as np
import pytest

from automl_backend import DatasetProfile, load_dataset, profile_dataset
from automl_backend._hpo.ensemble import covered_rows, greedy_ensemble


def test_profile_of_a_classification_set() -> None:
    profile = profile_dataset(load_dataset("sklearn:breast_cancer"))
    assert isinstance(profile, DatasetProfile)
    assert (profile.n_rows, profile.n_features, profile.n_classes) == (569, 30, 2)
    assert profile.minority_class_share == pytest.approx(212 / 569)
    assert 0.8 < profile.landmark_stump < 1.0 and 0.85 < profile.landmark_nb <= 1.0
    vector = profile.meta_vector()
    assert len(vector) == 10 and all(0.0 <= v <= 1.0 for v in vector)
    text = profile.describe()
    assert "binary classification" in text and "569 rows" in text and "\n" not in text


def test_profile_of_a_regression_set() -> None:
    profile = profile_dataset(load_dataset("sklearn:diabetes"))
    assert profile.task == "regression"
    assert profile.n_classes is None and profile.minority_class_share is None
    assert profile.landmark_nb > profile.landmark_stump  # ridge beats a stump here
    assert DatasetProfile.model_validate_json(profile.model_dump_json()) == profile


def _proba(labels: np.ndarray, n_classes: int = 2) -> np.ndarray:
    return np.eye(n_classes)[labels] * 0.8 + 0.1


def test_ensemble_combines_complementary_models() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])
    a = _proba(np.array([0, 1, 0, 1, 1, 0]))  # wrong on the last two
    b = _proba(np.array([1, 0, 0, 1, 0, 1]))  # wrong on the first two
    c = np.full((6, 2), 0.5)
    c[:, 1] = [0.45, 0.55, 0.45, 0.55, 0.45, 0.55]  # right everywhere, but unsure
    weights, value = greedy_ensemble({1: a, 2: b, 3: c}, y, "accuracy", size=5)
    assert value == 1.0
    assert pytest.approx(sum(weights.values())) == 1.0
    assert set(weights) <= {1, 2, 3}


def test_ensemble_never_scores_below_the_best_single_candidate() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    good = y + rng.normal(scale=0.1, size=50)
    bad = rng.normal(size=50)
    weights, value = greedy_ensemble({7: bad, 8: good}, y, "rmse", size=10)
    assert weights == {8: 1.0}
    assert value == pytest.approx(-np.sqrt(np.mean((good - y) ** 2)))


def test_ensemble_uses_only_rows_every_candidate_predicted() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    first = np.array([0.0, 1.0, np.nan, 3.0])
    second = np.array([0.0, 1.0, 2.0, np.nan])
    assert covered_rows([first, second]).tolist() == [True, True, False, False]
    _, value = greedy_ensemble({1: first, 2: second}, y, "mae")
    assert value == 0.0


def _record(number: int, family: str, fit_time_s: float, folds: int = 5):
    from automl_backend import TrialConfig
    from automl_backend._hpo.search import HPOTrial

    return HPOTrial(
        number=number, config=TrialConfig(family=family), state="complete", score=0.9,
        fold_scores=[0.9] * folds, fit_time_s=fit_time_s,
    )  # fmt: skip


def test_expected_refit_time_grows_with_the_data_and_faster_for_svms() -> None:
    from automl_backend._hpo.finalize import REFIT_HANDBACK_MB_PER_S, expected_refit_s

    forest = expected_refit_s(_record(0, "random_forest", 5.0), n_folds=5)  # 1 s per fold
    svm = expected_refit_s(_record(1, "svm", 5.0), n_folds=5)
    assert forest == pytest.approx(1.2 * 1.25 * 1.0 + 0.1)
    assert svm == pytest.approx(1.2 * 1.25**2 * 1.0 + 0.1)
    # A forest of 240 MB of trees is handed back from the refit's process too.
    large = _record(2, "random_forest", 5.0)
    large.stored_mb = 240.0
    assert expected_refit_s(large, n_folds=5) == pytest.approx(
        forest + 240.0 * 1.25 / REFIT_HANDBACK_MB_PER_S
    )


def test_an_early_stopped_boosting_refit_is_expected_to_fit_only_its_kept_rounds() -> None:
    from automl_backend import TrialConfig
    from automl_backend._builders import EARLY_STOPPING_PATIENCE, EARLY_STOPPING_SHARE
    from automl_backend._hpo.finalize import REFIT_ROUNDS_GROWTH, expected_refit_s

    record = _record(0, "lightgbm", 5.0)  # 1 s per fold
    record.config = TrialConfig(family="lightgbm", params={"n_estimators": 1000})
    full = expected_refit_s(record, n_folds=5)
    assert full == pytest.approx(1.2 * 1.25 + 0.1)  # no rounds recorded: the fold's work
    record.rounds = 100  # kept 100, fitted 150, on 90 % of the fold's rows
    work = 100 * REFIT_ROUNDS_GROWTH / (100 + EARLY_STOPPING_PATIENCE) / (1 - EARLY_STOPPING_SHARE)
    # Early-stopped boosting grows at most linearly with the rows: no 20 % margin.
    assert expected_refit_s(record, n_folds=5) == pytest.approx(1.25 * work + 0.1)
    assert expected_refit_s(record, n_folds=5) < full
    # Folds cut at their time limit boosted fewer rounds: they say how many.
    record.boosted = 120
    work = 100 * REFIT_ROUNDS_GROWTH / 120 / (1 - EARLY_STOPPING_SHARE)
    assert expected_refit_s(record, n_folds=5) == pytest.approx(1.25 * work + 0.1)
    record.boosted = None
    # Boosting that never stopped early fitted all its planned rounds.
    record.config = TrialConfig(family="lightgbm", params={"n_estimators": 100})
    record.rounds = 100
    work = round(100 * REFIT_ROUNDS_GROWTH) / 100 / (1 - EARLY_STOPPING_SHARE)
    assert expected_refit_s(record, n_folds=5) == pytest.approx(1.25 * work + 0.1)


def test_the_reserve_keeps_no_time_for_members_the_refit_would_leave_out() -> None:
    from automl_backend._hpo.finalize import ARTIFACT_RESERVE_S, expected_refit_s, reserve_s

    records = {n: _record(n, "lightgbm", 5.0 * (n + 1)) for n in range(3)}
    refits = {n: expected_refit_s(records[n], n_folds=5) for n in records}
    weights = {0: 0.5, 1: 0.3, 2: 0.2}  # refitted in this order
    everything = ARTIFACT_RESERVE_S + sum(refits.values())
    assert reserve_s(weights, records, 5, cap=0.0) == pytest.approx(everything)
    assert reserve_s(weights, records, 5, cap=everything) == pytest.approx(everything)
    # Under a cap that holds the first two refits but not the third, build_model would
    # drop the third: no time is kept for it.
    cap = ARTIFACT_RESERVE_S + refits[0] + refits[1] + 0.5 * refits[2]
    assert reserve_s(weights, records, 5, cap) == pytest.approx(
        ARTIFACT_RESERVE_S + refits[0] + refits[1]
    )
    # The heaviest member is always refitted, so always kept time for.
    assert reserve_s(weights, records, 5, cap=1.0) == pytest.approx(ARTIFACT_RESERVE_S + refits[0])


def test_members_are_trimmed_to_what_can_be_refit_in_time() -> None:
    from automl_backend._hpo.finalize import _fit_in_time

    records = {n: _record(n, "lightgbm", 5.0 * (n + 1)) for n in range(3)}
    kept, dropped = _fit_in_time([2, 0, 1], records, n_folds=5, available=6.5)
    assert kept == [2, 0] and dropped == [1]  # the heaviest weight is always kept
    kept, dropped = _fit_in_time([2], records, n_folds=5, available=0.0)
    assert kept == [2] and dropped == []


def test_a_left_out_member_keeps_no_time_for_writing_its_trees() -> None:
    """Five big forests: writing all their trees would take the whole reserve, so only
    the first would be refitted if every member's trees were counted up front (letter
    at 60 s kept one member of five and ended 19 s early). Each member's
    trees count only where it is kept."""
    from automl_backend._hpo.finalize import (
        ARTIFACT_RESERVE_S,
        _fit_in_time,
        expected_refit_s,
        expected_save_s,
        reserve_s,
    )

    records = {n: _record(n, "extra_trees", 2.0, folds=1) for n in range(5)}
    for record in records.values():
        record.stored_mb, record.trees = 300.0, 200
    refit = expected_refit_s(records[0], n_folds=1)
    save = expected_save_s([records[0]], n_folds=1)
    assert save > 0 and refit > 0
    available = 3 * (refit + save) + 0.5
    kept, dropped = _fit_in_time(list(records), records, n_folds=1, available=available)
    assert kept == [0, 1, 2] and dropped == [3, 4]
    weights = dict.fromkeys(records, 0.2)
    cap = ARTIFACT_RESERVE_S + available
    assert reserve_s(weights, records, 1, cap) == pytest.approx(
        ARTIFACT_RESERVE_S + 3 * (refit + save)
    )


def test_bagged_selection_averages_greedy_runs_on_random_halves() -> None:
    from automl_backend._hpo.ensemble import bagged_ensemble

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=200)
    candidates = {}
    for key in range(6):
        noisy = np.where(rng.random(200) < 0.2 + 0.03 * key, 1 - y, y)
        candidates[key] = _proba(noisy)
    weights, value = bagged_ensemble(candidates, y, "accuracy", size=10, bags=8, seed=0)
    assert pytest.approx(sum(weights.values())) == 1.0
    assert list(weights) == sorted(weights)  # candidates' order is kept
    blend = sum(w * candidates[k] for k, w in weights.items())
    assert value == pytest.approx(float(np.mean(blend.argmax(axis=1) == y)))
    single, _ = bagged_ensemble(candidates, y, "accuracy", size=10, bags=1)
    assert single == greedy_ensemble(candidates, y, "accuracy", size=10)[0]


def _build_with_slow_refits(monkeypatch: pytest.MonkeyPatch, budget_left_s: float):
    """build_model over three kNN trials (the first two weighted) whose refits raise
    TimeoutError unless given at least half the last-chance time; returns the model,
    its members, the notes and the seconds each refit was given."""
    import time
    from types import SimpleNamespace

    from automl_backend._hpo import finalize

    calls: list[float] = []

    def slow_refit(problem: object, config: object, deadline: float | None) -> tuple[str, float]:
        left = (deadline or 0.0) - time.monotonic()
        calls.append(left)
        if left < finalize.RESCUE_REFIT_MIN_S / 2:
            raise TimeoutError("refit did not finish before the deadline")
        return "fitted pipeline", 0.1

    monkeypatch.setattr(finalize, "run_refit", slow_refit)
    records = [_record(n, "knn", 0.5) for n in range(3)]
    dataset = SimpleNamespace(task="binary", target="y", column_types={"x": "numeric"})
    problem = SimpleNamespace(folds=[(None, None)] * 3)
    spec = SimpleNamespace(budget=SimpleNamespace(time_s=30.0))
    model, members, notes = finalize.build_model(
        spec, problem, [0, 1], dataset, records, {0: 0.6, 1: 0.4}, "accuracy",  # type: ignore[arg-type]
        budget_end=time.monotonic() + budget_left_s,
    )  # fmt: skip
    return model, members, notes, calls


def test_a_run_whose_every_refit_missed_the_budget_still_gets_a_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a loaded machine the planned refits can all miss a deadline they were expected
    to meet; the search's best member is then refitted once past the budget instead of
    failing the run."""
    from automl_backend._hpo import finalize

    # 5 s left: each refit is expected to fit (0.28 s), is tried and times out.
    model, members, notes, calls = _build_with_slow_refits(monkeypatch, 5.0)
    assert model is not None and [m.trial for m in members] == [0]
    assert any("refitted alone after it" in n for n in notes)
    assert len(calls) == 3 and max(calls[:2]) < finalize.RESCUE_REFIT_MIN_S / 2
    assert calls[-1] >= finalize.RESCUE_REFIT_MIN_S / 2


def test_a_first_member_that_cannot_fit_gets_the_last_chance_time_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the budget already spent, a refit stopped at its deadline would only be
    repeated with the last-chance time; the first member gets that time on its one try,
    the run says it ended late, and the second member is not refitted."""
    from automl_backend._hpo import finalize

    model, members, notes, calls = _build_with_slow_refits(monkeypatch, -1.0)
    assert model is not None and [m.trial for m in members] == [0]
    assert len(calls) == 1 and calls[0] >= finalize.RESCUE_REFIT_MIN_S / 2
    assert any("refitted past its deadline" in n for n in notes)
    assert not any("refitted alone after it" in n for n in notes)
