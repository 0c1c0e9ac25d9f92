"""Low-fidelity estimates with asynchronous successive halving (ASHA, Li et al. 2020).

Evolution and TPE evaluate every new architecture first at the cheapest rung (one epoch,
part of the training rows), and promote the best 1/eta of each rung to the next one,
retrained from scratch at the higher fidelity. A fixed time budget then scores about
three times as many architectures as full-fidelity training would, and the winner is
still chosen among full-fidelity results (the runner prefers the highest fidelity).

Promotion is asynchronous: a candidate moves up as soon as it is in the top 1/eta of
the results its rung holds so far, so the ask/tell loop never waits for a rung to fill.
Nothing here is random, so a strategy's proposals stay a function of its seed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """One fidelity: epochs of training on a share of the training rows."""

    epochs: int
    rows: float
    """Share of the fit rows trained on (the same subset for every candidate)."""

    @property
    def cost(self) -> float:
        """Training work in full-data epochs."""
        return self.epochs * self.rows


def fidelity_rungs(
    max_epochs: int, n_rungs: int, *, eta: int = 3, min_rows: float = 0.1
) -> list[Rung]:
    """Rungs from cheapest to full fidelity (``max_epochs`` on every row).

    Rung k costs about ``eta ** -(n_rungs - 1 - k)`` of the top rung: epochs shrink
    first, and once they are down to one, the share of rows shrinks (never below
    ``min_rows``). Rungs that would coincide are merged.
    """
    if max_epochs < 1 or n_rungs < 1 or eta < 2:
        raise ValueError(
            f"fidelity rungs need max_epochs >= 1, n_rungs >= 1, eta >= 2; "
            f"got {max_epochs}, {n_rungs}, {eta}"
        )
    rungs: list[Rung] = []
    for k in range(n_rungs):
        target = max_epochs * float(eta) ** -(n_rungs - 1 - k)
        epochs = max(1, min(max_epochs, math.floor(target + 1e-9)))
        rows = round(min(1.0, max(min_rows, target / epochs)), 4)
        rung = Rung(epochs, rows)
        if not rungs or rung.cost > rungs[-1].cost:
            rungs.append(rung)
    return rungs


def promotion_count(n_results: int, eta: int) -> int:
    """How many of a rung's results may move up: the top 1/eta, rounded down."""
    return n_results // eta


class AsyncHalving:
    """Which candidate to promote next, from the scores each rung holds so far."""

    def __init__(self, n_rungs: int, eta: int = 3) -> None:
        self.n_rungs = n_rungs
        self.eta = eta
        self.results: list[dict[Hashable, float]] = [{} for _ in range(n_rungs)]
        self.promoted: list[set[Hashable]] = [set() for _ in range(n_rungs)]

    def record(self, rung: int, key: Hashable, score: float) -> None:
        """A candidate's score at a rung (the first score a candidate gets there stands)."""
        self.results[rung].setdefault(key, score)

    def promotion(self) -> tuple[Hashable, int] | None:
        """The next (candidate, rung to evaluate it at), or None when none qualifies.

        Higher rungs go first, so full-fidelity results appear early in a short search.
        Among a rung's qualifying candidates the best score goes first (ties: earliest).
        """
        for rung in range(self.n_rungs - 2, -1, -1):
            held = self.results[rung]
            ranked = sorted(held, key=lambda k: -held[k])  # stable: ties keep arrival order
            for key in ranked[: promotion_count(len(held), self.eta)]:
                if key not in self.promoted[rung]:
                    self.promoted[rung].add(key)
                    return key, rung + 1
        return None
