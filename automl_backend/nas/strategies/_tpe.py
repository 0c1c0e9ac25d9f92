"""Optuna's TPE sampler over the same categorical encoding (multi-trial)."""

from __future__ import annotations

import numpy as np

from automl_backend.nas._space import SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal


class TPESearch:
    name = "tpe"

    def __init__(
        self, space: SearchSpace, *, epochs: int, seed: int = 0, n_startup_trials: int = 8
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.space = space
        self.epochs = epochs
        self.rng = np.random.default_rng(seed)
        sampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=n_startup_trials, multivariate=True
        )
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        # Choice indices, not values: Optuna then treats every decision alike.
        self.distributions = {
            space.decisions[k].name: optuna.distributions.CategoricalDistribution(
                list(range(len(space.decisions[k].choices)))
            )
            for k in space.free()
        }
        self.notes: list[str] = []

    def ask(self) -> Proposal:
        for _ in range(100):
            trial = self.study.ask(self.distributions)
            genome = [0] * len(self.space.decisions)
            for name, idx in trial.params.items():
                genome[self.space.index[name]] = int(idx)
            g = self.space.canonical(tuple(genome))
            if self.space.is_valid(g):
                return Proposal(g, self.epochs, info={"trial": trial.number})
            # An invalid cell is a failed trial to TPE: it learns to avoid the region.
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        return Proposal(self.space.sample(self.rng), self.epochs)

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        if "trial" in proposal.info:
            self.study.tell(proposal.info["trial"], evaluation.accuracy)
