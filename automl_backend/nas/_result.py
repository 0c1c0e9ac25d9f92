"""What a NAS run returns (no torch here)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class TrialRecord(BaseModel):
    """One evaluated architecture."""

    trial: int
    architecture: dict[str, Any]
    accuracy: float
    """Validation accuracy."""
    params: int
    latency_ms: float
    epochs: int
    seconds: float
    complete: bool = True
    elapsed_s: float = 0.0
    """Seconds since the run started when this evaluation ended."""
    info: dict[str, Any] = Field(default_factory=dict)


class NASResult(BaseModel):
    status: Literal["ok", "failed"] = "ok"
    reason: str | None = None
    strategy: str
    space: Literal["mlp", "cnn"]
    objectives: list[str]
    best_architecture: dict[str, Any]
    best_val_accuracy: float
    """Validation accuracy of the winner during the search (higher is better)."""
    test_accuracy: float | None = None
    """Accuracy of the retrained winner on the held-out test rows, if any were held out."""
    params: int
    latency_ms: float
    """Median CPU latency of the retrained winner on one row."""
    size_kb: float
    n_evaluated: int
    n_proposals: int
    final_epochs: int
    search_time_s: float
    final_train_time_s: float
    fit_time_s: float
    device: str
    pareto_front: list[TrialRecord] = Field(default_factory=list)
    trials: list[TrialRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    run_dir: str | None = None
