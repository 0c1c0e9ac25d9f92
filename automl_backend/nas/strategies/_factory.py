"""Build the strategy a NASSpec names."""

from __future__ import annotations

from automl_backend.nas._space import SearchSpace
from automl_backend.nas._spec import NASSpec
from automl_backend.nas._strategy import SearchStrategy
from automl_backend.nas.strategies._context import OneShotContext
from automl_backend.nas.strategies._darts import DARTS
from automl_backend.nas.strategies._evolution import RegularizedEvolution
from automl_backend.nas.strategies._hyperband import Hyperband
from automl_backend.nas.strategies._nsga2 import NSGA2
from automl_backend.nas.strategies._random import RandomSearch
from automl_backend.nas.strategies._reinforce import Reinforce
from automl_backend.nas.strategies._spos import SPOS
from automl_backend.nas.strategies._tpe import TPESearch


def make_strategy(spec: NASSpec, space: SearchSpace, context: OneShotContext) -> SearchStrategy:
    epochs, seed = spec.epochs_per_trial, spec.seed
    name = spec.strategy
    if name == "random":
        return RandomSearch(space, epochs=epochs, seed=seed)
    if name == "evolution":
        return RegularizedEvolution(
            space,
            epochs=epochs,
            population_size=spec.population_size,
            seed=seed,
            rungs=spec.fidelity_rungs,
        )
    if name == "rl":
        return Reinforce(space, epochs=epochs, seed=seed)
    if name == "tpe":
        return TPESearch(space, epochs=epochs, seed=seed, rungs=spec.fidelity_rungs)
    if name == "hyperband":
        # eta=3 leaves a single rung below 9 epochs; halving (eta=2) keeps some early stopping.
        return Hyperband(space, max_epochs=epochs, eta=3 if epochs >= 9 else 2, seed=seed)
    if name == "nsga2":
        return NSGA2(
            space,
            epochs=epochs,
            objectives=list(spec.objectives),
            population_size=spec.population_size,
            seed=seed,
        )
    if name == "spos":
        return SPOS(space, context, population_size=spec.population_size)
    if name == "darts":
        return DARTS(space, context, epochs=epochs)
    raise ValueError(f"unknown strategy {name!r}")
