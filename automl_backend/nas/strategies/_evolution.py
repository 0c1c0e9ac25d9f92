"""Regularized (aging) evolution: Real et al. 2019, the AmoebaNet search.

Tournament selection picks the parent, one mutation makes the child, and the *oldest*
member dies rather than the worst, so good architectures must keep being re-discovered,
which regularises against lucky evaluations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal


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
    ) -> None:
        self.space = space
        self.population_size = population_size
        self.sample_size = sample_size or max(2, round(population_size / 3))
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[Genome, float]] = deque()
        self._asked = 0
        self._make = make_proposal or (lambda g: Proposal(g, epochs))
        self.notes: list[str] = []

    def ask(self) -> Proposal:
        self._asked += 1
        if self._asked <= self.population_size or not self.population:
            return self._make(self.space.sample(self.rng))
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=True)
        parent = max((self.population[int(i)] for i in picks), key=lambda m: m[1])[0]
        return self._make(self.space.mutate(parent, self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        self.population.append((proposal.genome, evaluation.accuracy))
        if len(self.population) > self.population_size:
            self.population.popleft()
