"""A co-scientist run's outputs, shared by the command line and the Python API.

``write_report(run)`` writes results.json, report.md, elo.png and best_model/ into the
run directory and returns the :class:`RunResults` it wrote; ``build_results(run)`` is
the same data without writing anything. ``write_best_model`` (re)builds best_model/
alone, and :class:`BestModel` describes what it holds.
"""

from __future__ import annotations

from cosci._best_model import BestModel, BestModelMember, read_best_model, write_best_model
from cosci._report import render_markdown, write_report
from cosci._results import LLMUsage, RankedHypothesis, RunResults, build_results, rank_hypotheses

__all__ = [
    "BestModel",
    "BestModelMember",
    "LLMUsage",
    "RankedHypothesis",
    "RunResults",
    "build_results",
    "rank_hypotheses",
    "read_best_model",
    "render_markdown",
    "write_best_model",
    "write_report",
]
