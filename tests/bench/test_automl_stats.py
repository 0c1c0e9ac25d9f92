"""The held-out benchmark's statistics (bench/automl_stats.py) on hand-made result rows."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest


def _row(system: str, dataset: str, fold: int, wrong: list[int], n_test: int,
         wall_s: float = 10.0, budget: float = 60.0) -> dict[str, Any]:  # fmt: skip
    return {
        "budget_s": budget, "system": system, "dataset": dataset, "fold": fold,
        "n_test": n_test, "n_train": 4 * n_test, "error_rate": len(wrong) / n_test,
        "wrong_rows": wrong, "wall_s": wall_s,
    }  # fmt: skip


def test_errors_pool_the_folds_by_their_size_with_a_half_error_floor(
    automl_stats: ModuleType,
) -> None:
    rows = [_row("cosci", "a", 0, [1, 2], 100), _row("cosci", "a", 1, [3], 50)]
    errors = automl_stats.set_errors(rows, 60.0)
    assert errors[("cosci", "a")]["error"] == pytest.approx(3 / 150)
    assert errors[("cosci", "a")]["floor"] == pytest.approx(0.5 / 150)
    assert errors[("cosci", "a")]["folds"] == 2
    assert automl_stats.set_errors(rows, 15.0) == {}


def test_ratios_take_the_best_real_peer_and_skip_sets_a_peer_did_not_finish(
    automl_stats: ModuleType,
) -> None:
    rows = [
        _row("cosci", "a", 0, [1, 2], 100),
        _row("optuna_hgb", "a", 0, [1, 2, 3, 4], 100),
        _row("flaml", "a", 0, [1, 2, 3], 100),
        # an ablation of this backend is never the best peer, however good
        _row("cosci_no_halving", "a", 0, [], 100),
        _row("cosci", "b", 0, [], 100),  # no error: the half-error floor keeps it finite
        _row("optuna_hgb", "b", 0, [5], 100),
    ]
    ratios = automl_stats.error_ratios(
        rows, 60.0, ["a", "b"], 1, ["optuna_hgb", "flaml", "cosci_no_halving"]
    )
    assert ratios["per_set"]["a"]["best_peer_name"] == "flaml"
    assert ratios["per_set"]["a"]["best_peer"] == pytest.approx(2 / 3)
    assert ratios["per_set"]["a"]["cosci_no_halving"] == pytest.approx(2 / 0.5)
    assert ratios["per_set"]["b"]["optuna_hgb"] == pytest.approx(0.5)
    assert ratios["n_sets"] == {"optuna_hgb": 2, "flaml": 1, "cosci_no_halving": 1, "best_peer": 2}
    assert ratios["geomean"]["optuna_hgb"] == pytest.approx(math.sqrt(0.5 * 0.5))
    assert ratios["geomean"]["best_peer"] == pytest.approx(math.sqrt(2 / 3 * 0.5))


def test_the_bootstrap_of_identical_systems_is_exactly_one(automl_stats: ModuleType) -> None:
    wrong = [[3, 7, 11], [0, 5]]
    rows = [_row(s, "a", f, wrong[f], 40) for s in ("cosci", "flaml") for f in (0, 1)]
    spread = automl_stats.paired_bootstrap(rows, 60.0, ["a"], [0, 1], ["flaml"], draws=500)
    assert spread is not None
    assert spread["flaml"]["low"] == spread["flaml"]["high"] == pytest.approx(1.0)
    assert spread["best_peer"]["n_sets"] == 1


def test_the_bootstrap_interval_holds_the_ratio_and_excludes_one_for_a_clear_winner(
    automl_stats: ModuleType,
) -> None:
    # the peer gets wrong every row cosci gets wrong, and 30 more of 400
    ours = list(range(10))
    rows = [
        _row("cosci", "a", 0, ours, 400),
        _row("flaml", "a", 0, ours + list(range(100, 130)), 400),
    ]
    spread = automl_stats.paired_bootstrap(rows, 60.0, ["a"], [0], ["flaml"], draws=2000)
    assert spread is not None
    assert spread["flaml"]["low"] < 10 / 40 < spread["flaml"]["high"] < 1.0


def test_the_bootstrap_needs_recorded_wrong_rows(automl_stats: ModuleType) -> None:
    rows = [_row("cosci", "a", 0, [1], 40), _row("flaml", "a", 0, [1], 40)]
    for row in rows:
        del row["wrong_rows"]
    assert automl_stats.paired_bootstrap(rows, 60.0, ["a"], [0], ["flaml"]) is None


def test_mcnemar_counts_the_discordant_rows_and_gives_the_exact_p(automl_stats: ModuleType) -> None:
    rows = [
        _row("cosci", "a", 0, [1, 2], 50),
        _row("flaml", "a", 0, [1, 3, 4, 5], 50),
        _row("cosci", "a", 1, [], 50),
        _row("flaml", "a", 1, [6, 7, 8], 50),
    ]
    test = automl_stats.mcnemar(rows, 60.0, "a", [0, 1], "cosci", "flaml")
    assert test == {"only_cosci": 1, "only_flaml": 6, "p": pytest.approx(2 * 8 / 2**7)}
    assert automl_stats.mcnemar(rows, 60.0, "a", [0, 1, 2], "cosci", "flaml") is None


def test_the_table_reports_the_ratios_the_intervals_and_overruns(automl_stats: ModuleType) -> None:
    rows = [
        _row("cosci", "a", 0, [1], 100, wall_s=64.0),
        _row("optuna_hgb", "a", 0, [1, 2], 100, wall_s=70.0),
    ]
    text = automl_stats.table(rows, 60.0, ["a"], 1, ["optuna_hgb", "cosci"])
    assert "| a | 500 | 0.0200 | 0.0100 | 70.0 | 64.0 |" in text
    assert "cosci / the best peer on each set: 0.500 (1 sets)" in text
    assert "cosci / best peer: " in text
    assert "1 of 1 runs over budget + 5 % (63.0 s)" in text


def test_the_peer_picked_elsewhere_is_chosen_without_the_test_fold(
    automl_stats: ModuleType,
) -> None:
    # wrong rows per fold: flaml is best on fold 0, optuna_hgb on fold 1; autogluon never
    counts = {"cosci": (4, 4), "flaml": (2, 8), "optuna_hgb": (6, 3), "autogluon": (9, 9)}
    rows = [_row(s, "a", f, list(range(counts[s][f])), 100) for s in counts for f in (0, 1)]
    elsewhere = automl_stats.peer_chosen_elsewhere(rows, 60.0, ["a"], [0, 1])
    # fold 0 is judged against the peer best on fold 1 (optuna_hgb: 6 wrong on fold 0),
    # fold 1 against the peer best on fold 0 (flaml: 8 wrong on fold 1)
    assert elsewhere["per_set"]["a"]["peers"] == ["optuna_hgb", "flaml"]
    assert elsewhere["geomean"] == pytest.approx(8 / 14)
    # picked on the test rows themselves (optuna_hgb, 9 wrong), the best peer looks stronger
    ratios = automl_stats.error_ratios(rows, 60.0, ["a"], 2, list(counts)[1:])
    assert ratios["geomean"]["best_peer"] == pytest.approx(8 / 9)
    # a set a peer did not finish, or a single fold, gives no figure
    assert automl_stats.peer_chosen_elsewhere(rows[:-1], 60.0, ["a"], [0, 1])["n_sets"] == 0
    assert automl_stats.peer_chosen_elsewhere(rows, 60.0, ["a"], [0])["geomean"] is None
