"""The shipped portfolio: candidates, their CV-score matrix, meta-vectors, greedy order."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from automl_backend._errors import BackendError
from automl_backend._portfolio.greedy import greedy_order, normalise_errors
from automl_backend._spec import TrialConfig

SHIPPED = Path(__file__).resolve().parent / "portfolio.json"


class PortfolioCandidate(BaseModel):
    """One configuration of the pool, and the data set whose search produced it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    config: TrialConfig
    source: str
    """A training data set's name, or ``default`` for a family's default configuration;
    leave-one-out drops a set's own candidates so the set cannot inform itself."""


class Portfolio(BaseModel):
    """Everything the greedy portfolio was chosen from, so it can be rebuilt without a set.

    ``scores[i][j]`` is candidate ``i``'s mean CV accuracy on ``datasets[j]`` (None: the
    evaluation failed or ran past its cap); ``order`` indexes ``candidates``.
    """

    model_config = ConfigDict(extra="forbid")
    candidates: list[PortfolioCandidate] = Field(min_length=1)
    datasets: list[str] = Field(min_length=1)
    meta_vectors: dict[str, list[float]]
    """Each data set's ``DatasetProfile.meta_vector()`` (on all its rows)."""
    scores: list[list[float | None]]
    order: list[int]
    """The greedy portfolio: indices into ``candidates``, tried first in this order."""
    provenance: dict[str, Any] = Field(default_factory=dict)
    """How it was made: date, command, git commit, data sets, row cap, folds, versions."""

    @model_validator(mode="after")
    def _check_shapes(self) -> Portfolio:
        if len(self.scores) != len(self.candidates):
            raise ValueError(
                f"scores has {len(self.scores)} rows for {len(self.candidates)} candidates"
            )
        if any(len(row) != len(self.datasets) for row in self.scores):
            raise ValueError(
                f"every scores row needs {len(self.datasets)} columns, one per data set"
            )
        if sorted(self.meta_vectors) != sorted(self.datasets):
            raise ValueError("meta_vectors must name exactly the data sets")
        if any(not 0 <= i < len(self.candidates) for i in self.order) or len(
            set(self.order)
        ) != len(self.order):
            raise ValueError("order must list distinct candidate indices")
        known = set(self.datasets) | {"default"}
        strangers = sorted({c.source for c in self.candidates} - known)
        if strangers:
            raise ValueError(f"candidates come from unknown data sets {strangers}")
        return self

    def normalised_errors(self) -> list[list[float]]:
        """Errors in [0, 1] per data set (0 best, 1 worst or failed); see normalise_errors."""
        return normalise_errors(self.scores)

    def with_order(self, order: list[int]) -> Portfolio:
        return self.model_copy(update={"order": list(order)})

    def configs(self) -> list[TrialConfig]:
        """The portfolio's configurations in greedy order."""
        return [self.candidates[i].config for i in self.order]

    def without(self, dataset: str) -> Portfolio:
        """The portfolio rebuilt as if ``dataset`` had never been seen: its column, its
        meta-vector and the candidates its search produced removed, the greedy order
        chosen again over the remaining sets (same size)."""
        if dataset not in self.datasets:
            raise BackendError(
                f"{dataset!r} is not in the portfolio; it has {', '.join(self.datasets)}"
            )
        j = self.datasets.index(dataset)
        keep = [i for i, c in enumerate(self.candidates) if c.source != dataset]
        rest = Portfolio(
            candidates=[self.candidates[i] for i in keep],
            datasets=[d for d in self.datasets if d != dataset],
            meta_vectors={d: v for d, v in self.meta_vectors.items() if d != dataset},
            scores=[[s for k, s in enumerate(self.scores[i]) if k != j] for i in keep],
            order=[],
            provenance={**self.provenance, "left_out": dataset},
        )
        return rest.with_order(greedy_order(rest.normalised_errors(), len(self.order)))


def load_portfolio(path: str | Path | None = None) -> Portfolio:
    """The shipped portfolio (or the one at ``path``); a bad file is one-line error.

    The shipped file is read and validated once per process: every search queues from it,
    and the co-scientist runs many. Callers get new objects from ``without`` and
    ``with_order`` and never change the one returned."""
    if path is None:
        return _shipped_portfolio()
    return _read_portfolio(Path(path))


@functools.cache
def _shipped_portfolio() -> Portfolio:
    return _read_portfolio(SHIPPED)


def _read_portfolio(path: Path) -> Portfolio:
    try:
        return Portfolio.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackendError(
            f"portfolio file {path} is missing; rebuild it: python bench/portfolio.py build"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackendError(f"portfolio file {path} is invalid at {where}: {first['msg']}") from None
