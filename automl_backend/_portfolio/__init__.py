"""A meta-learned portfolio: configurations that did well across past data sets, tried
first in every search, ordered for the new data by its nearest past data sets."""

from automl_backend._portfolio.chooser import choose_configs, nearest_datasets
from automl_backend._portfolio.greedy import greedy_order, normalise_errors
from automl_backend._portfolio.portfolio import Portfolio, PortfolioCandidate, load_portfolio

__all__ = [
    "Portfolio",
    "PortfolioCandidate",
    "choose_configs",
    "greedy_order",
    "load_portfolio",
    "nearest_datasets",
    "normalise_errors",
]
