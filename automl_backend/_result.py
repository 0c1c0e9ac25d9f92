"""ExperimentResult: what one experiment measured, and where its artifacts are."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from automl_backend._spec import TrialConfig


class EnsembleMember(BaseModel):
    """One member of the final ensemble."""

    model_config = ConfigDict(extra="forbid")
    trial: int
    weight: float = Field(ge=0, le=1)
    config: TrialConfig
    cv_score: float


class ExperimentResult(BaseModel):
    """The outcome of :func:`run_spec`.

    Scores follow one convention: **higher is better**. Loss metrics (rmse, mae,
    log_loss) are reported negated, e.g. an RMSE of 3.2 appears as -3.2.
    """

    model_config = ConfigDict(extra="forbid")
    status: Literal["ok", "failed"]
    reason: str | None = None
    """Why the run failed (None when ok)."""
    task: str | None = None
    metric: str
    best_score: float | None = None
    """Mean CV score of the best single configuration."""
    fold_scores: list[float] = Field(default_factory=list)
    """Per-fold CV scores of the best configuration."""
    best_config: TrialConfig | None = None
    best_architecture: dict[str, Any] | None = None
    """NAS experiments: the winning architecture (``automl_backend.nas.describe_arch``)."""
    ensemble_score: float | None = None
    """Out-of-fold score of the selected ensemble (optimistic: it was selected on it)."""
    ensemble: list[EnsembleMember] = Field(default_factory=list)
    n_trials: int = 0
    n_failed_trials: int = 0
    n_pruned_trials: int = 0
    trials_path: Path | None = None
    """CSV table of all trials (the leaderboard)."""
    fit_time_s: float = 0.0
    """Wall time of the whole run: search, ensemble selection and refit."""
    run_dir: Path | None = None
    test_score: float | None = None
    """Score of the final model on a held-out test split, when one was given."""
    notes: list[str] = Field(default_factory=list)
    """Things worth knowing: dropped columns, encoding fallbacks, budget stops."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"
