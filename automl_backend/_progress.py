"""The one progress event of a search, HPO and NAS alike, for a display or an agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(kw_only=True)
class ProgressEvent:
    """Search progress for a display: trials done, best so far, time left."""

    phase: str
    """HPO: 'search' or 'refit'; NAS: 'search', 'final' or 'done'."""
    trials_done: int
    best_score: float | None
    """Best score so far (NAS: best validation accuracy)."""
    elapsed_s: float
    time_budget_s: float | None
    n_trials_budget: int | None = None
    trials_failed: int = 0
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]
