"""Optuna's TPE sampler over the same categorical encoding (multi-trial).

With ``rungs`` above one, TPE models the cheapest fidelity's scores (every trial it
proposes is scored there first, so its observations stay comparable), and the best
1/eta of each rung are re-trained at the next fidelity (``_halving.py``), as in BOHB
(Falkner et al. 2018) with asynchronous promotion.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal
from automl_backend.nas.strategies._halving import AsyncHalving, Rung, fidelity_rungs


class TPESearch:
    name = "tpe"

    def __init__(
        self,
        space: SearchSpace,
        *,
        epochs: int,
        seed: int = 0,
        n_startup_trials: int = 8,
        rungs: int = 1,
        eta: int = 3,
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
        self.rungs: list[Rung] = fidelity_rungs(epochs, rungs, eta=eta) if rungs > 1 else []
        self.halving = AsyncHalving(len(self.rungs), eta) if len(self.rungs) > 1 else None
        self.notes: list[str] = []

    def _proposal(self, genome: Genome, rung: int, info: dict) -> Proposal:
        if self.halving is None:
            return Proposal(genome, self.epochs, info=info)
        r = self.rungs[rung]
        info = info | {"rung": rung, "fidelity": r.cost / self.rungs[-1].cost}
        return Proposal(genome, r.epochs, rows=r.rows, info=info)

    def ask(self) -> Proposal:
        if self.halving is not None:
            promotion = self.halving.promotion()
            if promotion is not None:
                genome, rung = promotion
                return self._proposal(cast(Genome, genome), rung, {})
        for _ in range(100):
            trial = self.study.ask(self.distributions)
            genome = [0] * len(self.space.decisions)
            for name, idx in trial.params.items():
                genome[self.space.index[name]] = int(idx)
            g = self.space.canonical(tuple(genome))
            if self.space.is_valid(g):
                return self._proposal(g, 0, {"trial": trial.number})
            # An invalid cell is a failed trial to TPE: it learns to avoid the region.
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        return self._proposal(self.space.sample(self.rng), 0, {})

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        if self.halving is not None:
            rung = int(proposal.info.get("rung", 0))
            self.halving.record(rung, proposal.genome, evaluation.accuracy)
        if "trial" in proposal.info:
            self.study.tell(proposal.info["trial"], evaluation.accuracy)
