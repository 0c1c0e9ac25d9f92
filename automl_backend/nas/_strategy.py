"""The ask/tell interface every search strategy implements, and the records it trades."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from automl_backend.nas._space import Genome


@dataclass
class Proposal:
    """An architecture a strategy wants evaluated, and how."""

    genome: Genome
    epochs: int
    """Training epochs before measuring (0: measure the inherited weights as they are)."""
    init_state: dict[str, Any] | None = None
    """Weights to start from: a Hyperband rung's survivor, or an SPOS supernet."""
    keep_state: bool = False
    """The strategy will continue from the trained weights (Hyperband), so an earlier
    evaluation of the same architecture cannot stand in for this one."""
    info: dict[str, Any] = field(default_factory=dict)
    """Strategy bookkeeping shown in the history (bracket, rung, generation...). A
    ``fidelity`` entry below 1 marks a low-fidelity estimate: the runner picks its winner
    among the highest-fidelity results first."""
    rows: float = 1.0
    """Share of the training rows to train on (a low-fidelity estimate when below 1)."""


@dataclass
class Evaluation:
    """What measuring one proposal gave."""

    accuracy: float
    """Validation accuracy (higher is better)."""
    params: int
    latency_ms: float
    """Median CPU latency of one row."""
    epochs: int
    seconds: float
    complete: bool = True
    """False when the search deadline cut training short."""
    state: dict[str, Any] | None = None

    def objective(self, name: str) -> float:
        """Objective value in minimisation form (accuracy is negated)."""
        if name == "accuracy":
            return -self.accuracy
        if name == "latency":
            return self.latency_ms
        return float(self.params)


@runtime_checkable
class SearchStrategy(Protocol):
    """Proposes architectures and learns from their evaluations.

    ``ask`` returns None once the strategy has nothing more to propose (one-shot methods
    finish; multi-trial ones go on until the runner's budget ends the search).
    """

    name: str
    notes: list[str]
    """Events worth reporting (e.g. the DARTS skip-connection guard firing)."""

    def ask(self) -> Proposal | None: ...

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None: ...
