"""The portfolio benchmark's statistics (bench/portfolio_stats.py) on hand-made pairs."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest


def _run(
    dataset: str, arm: str, error: float, n_test: int = 100, cv: float = 0.9
) -> dict[str, Any]:
    return {"dataset": dataset, "arm": arm, "error_rate": error, "n_test": n_test, "cv_score": cv}


def test_pairs_are_the_sets_where_both_arms_finished(portfolio_stats: ModuleType) -> None:
    record = {
        "runs": [
            _run("a", "portfolio", 0.1), _run("a", "none", 0.2),
            _run("b", "none", 0.3),  # its portfolio run failed
            {"dataset": "b", "arm": "portfolio", "error": "failed"},
        ]
    }  # fmt: skip
    pairs = portfolio_stats.arm_pairs(record)
    assert [(a["dataset"], a["arm"], b["arm"]) for a, b in pairs] == [("a", "portfolio", "none")]


def test_the_ratio_is_a_geometric_mean_with_a_half_error_floor(portfolio_stats: ModuleType) -> None:
    pairs = [
        (_run("a", "portfolio", 0.1), _run("a", "none", 0.2)),
        (_run("b", "portfolio", 0.0, n_test=50), _run("b", "none", 0.04, n_test=50)),
    ]
    assert portfolio_stats.log_ratios(pairs) == pytest.approx(
        [math.log(0.5), math.log(0.01 / 0.04)]
    )
    assert portfolio_stats.geometric_mean_ratio(pairs) == pytest.approx(math.sqrt(0.5 * 0.25))
    assert portfolio_stats.geometric_mean_ratio([]) is None


def test_the_interval_over_sets_holds_the_ratio(portfolio_stats: ModuleType) -> None:
    same = [(_run(str(k), "portfolio", 0.1), _run(str(k), "none", 0.1)) for k in range(5)]
    assert portfolio_stats.set_bootstrap(same, draws=200) == pytest.approx((1.0, 1.0))
    mixed = [
        (_run(str(k), "portfolio", 0.1), _run(str(k), "none", 0.1 * (1.5 if k % 2 else 0.8)))
        for k in range(10)
    ]
    low, high = portfolio_stats.set_bootstrap(mixed, draws=2000)
    assert low < portfolio_stats.geometric_mean_ratio(mixed) < high


def test_the_sign_test_counts_only_sets_that_differ(portfolio_stats: ModuleType) -> None:
    pairs = [(_run(str(k), "portfolio", 0.1), _run(str(k), "none", 0.2)) for k in range(6)]
    pairs.append((_run("tie", "portfolio", 0.1), _run("tie", "none", 0.1)))
    assert portfolio_stats.below_equal_above(pairs, "error_rate") == [6, 1, 0]
    assert portfolio_stats.sign_test_p(pairs) == pytest.approx(2 / 2**6)
    assert portfolio_stats.sign_test_p(pairs[-1:]) == 1.0
