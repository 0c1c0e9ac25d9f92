"""Random search: independent uniform samples of valid architectures."""

from __future__ import annotations

import numpy as np

from automl_backend.nas._space import SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal


class RandomSearch:
    name = "random"

    def __init__(self, space: SearchSpace, *, epochs: int, seed: int = 0) -> None:
        self.space = space
        self.epochs = epochs
        self.rng = np.random.default_rng(seed)
        self.notes: list[str] = []

    def ask(self) -> Proposal:
        return Proposal(self.space.sample(self.rng), self.epochs)

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Random search learns nothing from results."""
