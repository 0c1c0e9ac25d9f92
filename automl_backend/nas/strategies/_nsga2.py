"""NSGA-II (Deb et al. 2002) over accuracy and a cost: measured CPU latency or parameters.

Each generation breeds as many children as the population holds (binary tournaments on
Pareto rank then crowding distance, uniform crossover, one mutation), and the next
population is the best of parents and children by the same order.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from automl_backend.nas._pareto import crowding_distance, non_dominated_sort
from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal

Member = tuple[Genome, tuple[float, ...]]


class NSGA2:
    name = "nsga2"

    def __init__(
        self,
        space: SearchSpace,
        *,
        epochs: int,
        objectives: list[str],
        population_size: int = 10,
        seed: int = 0,
    ) -> None:
        self.space = space
        self.epochs = epochs
        self.objectives = list(objectives)
        self.population_size = population_size
        self.rng = np.random.default_rng(seed)
        self.population: list[Member] = []
        self._children: list[Member] = []
        self._queue: deque[Genome] = deque(space.sample(self.rng) for _ in range(population_size))
        self.generation = 0
        self.notes: list[str] = []

    def _rank(self, members: list[Member]) -> list[int]:
        """Indices of ``members`` best first: by front, then by larger crowding distance."""
        points = [m[1] for m in members]
        order: list[int] = []
        for front in non_dominated_sort(points):
            crowd = crowding_distance(points, front)
            order += sorted(front, key=lambda i: -crowd[i])
        return order

    def _breed(self) -> None:
        order = self._rank(self.population)
        position = {i: p for p, i in enumerate(order)}

        def tournament() -> Genome:
            a, b = self.rng.integers(len(self.population), size=2)
            return self.population[int(a) if position[int(a)] < position[int(b)] else int(b)][0]

        for _ in range(self.population_size):
            mum, dad = tournament(), tournament()
            mask = self.rng.random(len(mum)) < 0.5
            child = self.space.canonical(
                tuple(m if keep else d for m, d, keep in zip(mum, dad, mask, strict=True))
            )
            if not self.space.is_valid(child):
                child = mum
            self._queue.append(self.space.mutate(child, self.rng))

    def ask(self) -> Proposal:
        if not self._queue:
            self._breed()
        return Proposal(self._queue.popleft(), self.epochs, info={"generation": self.generation})

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        point = tuple(evaluation.objective(o) for o in self.objectives)
        if self.generation == 0 and len(self.population) < self.population_size:
            self.population.append((proposal.genome, point))
            if len(self.population) == self.population_size:
                self.generation = 1
            return
        self._children.append((proposal.genome, point))
        if len(self._children) == self.population_size:
            merged = self.population + self._children
            self.population = [merged[i] for i in self._rank(merged)[: self.population_size]]
            self._children = []
            self.generation += 1
