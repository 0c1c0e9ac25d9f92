"""What the runs ledger stores about each finished experiment, and what a look-up returns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from automl_backend import DatasetProfile, TrialConfig

if TYPE_CHECKING:
    from automl_backend import ExperimentResult, ExperimentSpec


class RunRecord(BaseModel):
    """One finished experiment: the data it ran on, what was tried, and how it went.

    Scores follow the backend's convention: higher is better (losses negated).
    """

    model_config = ConfigDict(extra="forbid")
    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    """Ledger key; recording the same id again replaces the earlier record."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    profile: DatasetProfile
    """Meta-features of the data set; similar_runs compares these."""
    hypothesis: str = ""
    """Text of the hypothesis the run tested (empty for backend-only runs)."""
    spec: dict[str, Any] = Field(default_factory=dict)
    """The ExperimentSpec as JSON, kept as provenance (``spec.model_dump(mode="json")``)."""
    status: Literal["ok", "failed"]
    failure_reason: str | None = None
    metric: str = Field(min_length=1)
    best_score: float | None = None
    fold_scores: list[float] = Field(default_factory=list)
    test_score: float | None = None
    best_config: TrialConfig | None = None
    """The configuration to warm-start from: family, hyperparameters, preprocessing."""
    n_trials: int = Field(default=0, ge=0)
    fit_time_s: float | None = Field(default=None, ge=0)
    run_dir: str | None = None

    @model_validator(mode="after")
    def _consistent_status(self) -> RunRecord:
        if self.status == "ok" and (self.best_score is None or self.best_config is None):
            raise ValueError("a run with status 'ok' needs best_score and best_config")
        if self.status == "failed" and not self.failure_reason:
            raise ValueError("a run with status 'failed' needs a failure_reason")
        return self

    @property
    def dataset_key(self) -> str:
        """Identifies a data set across runs; the name alone is too often 'data'."""
        p = self.profile
        return f"{p.name}|{p.target}|{p.n_rows}x{p.n_features}"

    def document(self) -> str:
        """The text embedded for search by meaning over past runs."""
        family = self.best_config.family if self.best_config else "none"
        outcome = (
            f"best {self.metric} {self.best_score:.4f} with {family}"
            if self.status == "ok"
            else f"failed: {self.failure_reason}"
        )
        return f"{self.hypothesis}\n{self.profile.describe()}\nOutcome: {outcome}".strip()

    @classmethod
    def from_result(
        cls,
        profile: DatasetProfile,
        result: ExperimentResult,
        *,
        hypothesis: str = "",
        spec: ExperimentSpec | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Build a record from the backend's result of ``run_spec``."""
        fields: dict[str, Any] = {
            "profile": profile,
            "hypothesis": hypothesis,
            "spec": spec.model_dump(mode="json") if spec is not None else {},
            "status": result.status,
            "failure_reason": result.reason if result.status == "failed" else None,
            "metric": result.metric,
            "best_score": result.best_score,
            "fold_scores": list(result.fold_scores),
            "test_score": result.test_score,
            "best_config": result.best_config,
            "n_trials": result.n_trials,
            "fit_time_s": result.fit_time_s,
            "run_dir": str(result.run_dir) if result.run_dir is not None else None,
        }
        if run_id is not None:
            fields["run_id"] = run_id
        return cls(**fields)


class SimilarRun(BaseModel):
    """A past run returned by a look-up, with how far it is from the query."""

    record: RunRecord
    distance: float
    """Euclidean distance between meta vectors (similar_runs) or cosine distance between
    texts (search_runs); smaller is closer."""

    @property
    def best_config(self) -> TrialConfig | None:
        return self.record.best_config

    @property
    def best_score(self) -> float | None:
        return self.record.best_score


class LiteratureHit(BaseModel):
    """A passage of the literature collection that matched a query."""

    text: str
    title: str
    source: str
    page: int | None = None
    kind: str
    topic: str | None = None
    references: str | None = None
    """The shipped note's reference list (None for the user's documents)."""
    distance: float
    """Cosine distance to the query (0 = same direction, 2 = opposite)."""

    @property
    def citation(self) -> str:
        """Where the passage comes from, for display: ``source`` plus page if any."""
        return f"{self.source}, p. {self.page}" if self.page is not None else self.source
