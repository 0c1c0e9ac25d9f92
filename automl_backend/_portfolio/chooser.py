"""The zero-shot chooser: the portfolio ordered for a new data set by its nearest past sets."""

from __future__ import annotations

import math
from collections.abc import Sequence

from automl_backend._portfolio.greedy import greedy_order
from automl_backend._portfolio.portfolio import Portfolio
from automl_backend._spec import TrialConfig

NEIGHBOURS = 5
"""Past data sets whose results order the portfolio for a new one."""


def nearest_datasets(portfolio: Portfolio, meta_vector: Sequence[float],
                     k: int = NEIGHBOURS) -> list[str]:  # fmt: skip
    """The ``k`` training sets closest to ``meta_vector`` (Euclidean; ties by name)."""

    def distance(name: str) -> float:
        other = portfolio.meta_vectors[name]
        if len(other) != len(meta_vector):
            raise ValueError(
                f"meta-vector has {len(meta_vector)} numbers, the portfolio's {len(other)}; "
                "rebuild the portfolio with this DatasetProfile"
            )
        return math.dist(other, meta_vector)

    return sorted(portfolio.datasets, key=lambda n: (round(distance(n), 12), n))[:k]


def choose_configs(portfolio: Portfolio, meta_vector: Sequence[float],
                   k: int = NEIGHBOURS) -> list[TrialConfig]:  # fmt: skip
    """The portfolio's configurations, best for the ``k`` nearest sets first.

    The greedy selection is run again over the portfolio's own members with only the
    neighbours' columns: first the member best on them, then the one that most helps
    where the first is weak, and so on; ties keep the shipped greedy order. Pure and
    deterministic: the same vector always gives the same list.
    """
    columns = [portfolio.datasets.index(n) for n in nearest_datasets(portfolio, meta_vector, k)]
    errors = portfolio.normalised_errors()
    # greedy_order breaks ties by index; renumber so the shipped order is the tie break.
    ranked = [errors[i] for i in portfolio.order]
    picks = greedy_order(ranked, len(ranked), columns=columns)
    return [portfolio.candidates[portfolio.order[p]].config for p in picks]
