"""Hyperband (Li et al. 2018) with training epochs as the budget.

Each bracket runs successive halving: many architectures get a few epochs, the best
1/eta continue training from their weights for eta times as many epochs, and so on up
to ``max_epochs``. Brackets trade many cheap starts against few long runs; they cycle
until the runner's time is up.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal


class Hyperband:
    name = "hyperband"

    def __init__(
        self,
        space: SearchSpace,
        *,
        max_epochs: int,
        eta: int = 3,
        min_epochs: int = 1,
        seed: int = 0,
    ) -> None:
        self.space = space
        self.max_epochs = max_epochs
        self.eta = eta
        self.min_epochs = min(min_epochs, max_epochs)
        self.rng = np.random.default_rng(seed)
        ratio = max_epochs / self.min_epochs
        self.s_max = math.floor(math.log(ratio) / math.log(eta) + 1e-9) if ratio > 1 else 0
        self._next_bracket = self.s_max
        self._queue: deque[Proposal] = deque()
        self._rung: list[tuple[Genome, float, int, dict | None]] = []
        self._rung_size = 0
        self._bracket = 0
        self._rung_index = 0
        self.notes: list[str] = []

    def _epochs_at(self, bracket: int, rung: int) -> int:
        epochs = self.max_epochs * self.eta ** (rung - bracket)
        return max(self.min_epochs, min(self.max_epochs, round(epochs)))

    def _start_bracket(self) -> None:
        s = self._next_bracket
        self._next_bracket = s - 1 if s > 0 else self.s_max
        n = math.ceil((self.s_max + 1) / (s + 1) * self.eta**s)
        self._bracket, self._rung_index = s, 0
        epochs = self._epochs_at(s, 0)
        last = s == 0
        for _ in range(n):
            self._queue.append(
                Proposal(
                    self.space.sample(self.rng),
                    epochs,
                    keep_state=not last,
                    info={"bracket": s, "rung": 0, "total_epochs": epochs},
                )
            )
        self._rung, self._rung_size = [], n

    def _promote(self) -> None:
        s, rung = self._bracket, self._rung_index + 1
        keep = max(1, len(self._rung) // self.eta)
        best = sorted(self._rung, key=lambda m: m[1], reverse=True)[:keep]
        target = self._epochs_at(s, rung)
        last = rung >= s or target >= self.max_epochs
        for genome, _, done, state in best:
            self._queue.append(
                Proposal(
                    genome,
                    max(1, target - done),
                    init_state=state,
                    keep_state=not last,
                    info={"bracket": s, "rung": rung, "total_epochs": target},
                )
            )
        self._rung_index, self._rung, self._rung_size = rung, [], keep

    def ask(self) -> Proposal:
        if not self._queue:
            rung_done = len(self._rung) >= self._rung_size
            more_rungs = self._rung_index < self._bracket and self._rung_size > 0
            if rung_done and more_rungs and self._rung and self._rung[0][3] is not None:
                self._promote()
            else:
                self._start_bracket()
        return self._queue.popleft()

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        total = int(proposal.info.get("total_epochs", proposal.epochs))
        state = evaluation.state if proposal.keep_state else None
        self._rung.append((proposal.genome, evaluation.accuracy, total, state))
