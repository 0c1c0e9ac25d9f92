"""The portfolio benchmark's statistics: the geometric-mean error ratio with / without
the portfolio over data sets, its interval over sets, and the sign test.

Each function takes the (portfolio run, no-portfolio run) pairs that
``bench/portfolio.py evaluate`` records, one pair per data set.
"""

from __future__ import annotations

import math
from typing import Any

Pair = tuple[dict[str, Any], dict[str, Any]]


def geometric_mean_ratio(pairs: list[Pair]) -> float | None:
    """geomean of error(portfolio) / error(none); a zero error counts as half an error
    (0.5 / test rows) so that ratios stay finite."""
    logs = log_ratios(pairs)
    return math.exp(sum(logs) / len(logs)) if logs else None


def log_ratios(pairs: list[Pair]) -> list[float]:
    """log(error(portfolio) / error(none)) per set, a zero error counted as half an error."""
    logs = []
    for with_portfolio, without in pairs:
        floor = 0.5 / with_portfolio["n_test"]
        logs.append(math.log(max(with_portfolio["error_rate"], floor)
                             / max(without["error_rate"], floor)))  # fmt: skip
    return logs


def arm_pairs(record: dict[str, Any]) -> list[Pair]:
    """(portfolio run, no-portfolio run) of each set where both arms finished (a failed
    run is recorded with an ``error`` and no ``error_rate``)."""
    by: dict[str, dict[str, Any]] = {}
    for run in record["runs"]:
        if "error_rate" in run:
            by.setdefault(run["dataset"], {})[run["arm"]] = run
    return [(a["portfolio"], a["none"]) for a in by.values() if len(a) == 2]


def set_bootstrap(pairs: list[Pair], draws: int = 4000,
                  seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """95 % interval of :func:`geometric_mean_ratio` by resampling the data sets with
    replacement: how far the ratio could move on another draw of sets like these. It
    keeps each set's test rows as they are, so it understates the noise of small test
    folds."""
    import numpy as np

    logs = np.array(log_ratios(pairs))
    rng = np.random.default_rng(seed)
    means = logs[rng.integers(0, len(logs), size=(draws, len(logs)))].mean(axis=1)
    low, high = np.exp(np.quantile(means, [0.025, 0.975]))
    return float(low), float(high)


def sign_test_p(pairs: list[Pair]) -> float:
    """Two-sided sign test on the sets where the arms' test errors differ."""
    from scipy.stats import binomtest

    below, _, above = below_equal_above(pairs, "error_rate")
    return float(binomtest(below, below + above).pvalue) if below + above else 1.0


def below_equal_above(pairs: list[Pair],
                      key: str) -> list[int]:  # fmt: skip
    """How many pairs have the first run's ``key`` below, equal to and above the second's."""
    return [
        sum(a[key] < b[key] for a, b in pairs),
        sum(a[key] == b[key] for a, b in pairs),
        sum(a[key] > b[key] for a, b in pairs),
    ]
