"""Regularized (aging) evolution: Real et al. 2019, the AmoebaNet search.

Tournament selection picks the parent, one mutation makes the child, and the *oldest*
member dies rather than the worst, so good architectures must keep being re-discovered,
which regularises against lucky evaluations.

With ``rungs`` above one, every child is first scored at the cheapest fidelity (see
``_halving.py``); the population and its tournaments use those cheap scores, and the
best 1/eta of each rung are re-trained at the next fidelity up to ``epochs`` on every
row. More of the budget then goes to exploring, and the final choice is still made on
full-fidelity scores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import cast

import numpy as np

from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal
from automl_backend.nas.strategies._halving import AsyncHalving, Rung, fidelity_rungs


class RegularizedEvolution:
    name = "evolution"

    def __init__(
        self,
        space: SearchSpace,
        *,
        epochs: int,
        population_size: int = 10,
        sample_size: int | None = None,
        seed: int = 0,
        make_proposal: Callable[[Genome], Proposal] | None = None,
        rungs: int = 1,
        eta: int = 3,
    ) -> None:
        if make_proposal is not None and rungs > 1:
            raise ValueError("evolution: give make_proposal or rungs > 1, not both")
        self.space = space
        self.population_size = population_size
        self.sample_size = sample_size or max(2, round(population_size / 3))
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[Genome, float]] = deque()
        self._asked = 0
        self.rungs: list[Rung] = fidelity_rungs(epochs, rungs, eta=eta) if rungs > 1 else []
        self.halving = AsyncHalving(len(self.rungs), eta) if len(self.rungs) > 1 else None
        self._make = make_proposal or (
            (lambda g: self._at_rung(g, 0)) if self.halving else (lambda g: Proposal(g, epochs))
        )
        self.notes: list[str] = []

    def _at_rung(self, genome: Genome, rung: int) -> Proposal:
        r = self.rungs[rung]
        fidelity = r.cost / self.rungs[-1].cost
        return Proposal(genome, r.epochs, rows=r.rows, info={"rung": rung, "fidelity": fidelity})

    def ask(self) -> Proposal:
        if self.halving is not None:
            promotion = self.halving.promotion()
            if promotion is not None:
                genome, rung = promotion
                return self._at_rung(cast(Genome, genome), rung)
        self._asked += 1
        if self._asked <= self.population_size or not self.population:
            return self._make(self.space.sample(self.rng))
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=True)
        parent = max((self.population[int(i)] for i in picks), key=lambda m: m[1])[0]
        return self._make(self.space.mutate(parent, self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        rung = int(proposal.info.get("rung", 0))
        if self.halving is not None:
            self.halving.record(rung, proposal.genome, evaluation.accuracy)
        if rung > 0:
            return  # promotions re-score known members; the tournaments compare cheap scores
        self.population.append((proposal.genome, evaluation.accuracy))
        if len(self.population) > self.population_size:
            self.population.popleft()
