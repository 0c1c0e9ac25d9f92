"""Every multi-trial strategy against one shared contract, on a toy score (no training).

The toy score rewards wide, shallow-ish MLPs with a high learning rate, so a strategy
that learns should find it faster than chance.
"""

from __future__ import annotations

import numpy as np
import pytest

from automl_backend.nas import Evaluation, MLPSpace, Proposal, SearchSpace, SearchStrategy
from automl_backend.nas.strategies import (
    NSGA2,
    Hyperband,
    RandomSearch,
    RegularizedEvolution,
    Reinforce,
    TPESearch,
)

SPACE = SearchSpace(MLPSpace())


def toy_evaluation(space: SearchSpace, proposal: Proposal) -> Evaluation:
    arch = space.to_arch(proposal.genome)
    score = (
        0.5 * (np.mean(arch["widths"]) / 256)
        + 0.3 * (arch["lr"] == 1e-2)
        + 0.2 * (arch["activation"] == "gelu")
        - 0.05 * abs(arch["depth"] - 2)
    )
    params = sum(arch["widths"]) * 64
    return Evaluation(
        accuracy=float(score),
        params=params,
        latency_ms=params / 1e4,
        epochs=proposal.epochs,
        seconds=0.0,
    )


FACTORIES = {
    "random": lambda seed: RandomSearch(SPACE, epochs=2, seed=seed),
    "evolution": lambda seed: RegularizedEvolution(SPACE, epochs=2, population_size=8, seed=seed),
    "rl": lambda seed: Reinforce(SPACE, epochs=2, seed=seed),
    "tpe": lambda seed: TPESearch(SPACE, epochs=2, seed=seed),
    # With low-fidelity rungs (the run default): same contract.
    "evolution-rungs": lambda seed: RegularizedEvolution(
        SPACE, epochs=4, population_size=8, seed=seed, rungs=3
    ),
    "tpe-rungs": lambda seed: TPESearch(SPACE, epochs=4, seed=seed, rungs=3),
    "hyperband": lambda seed: Hyperband(SPACE, max_epochs=4, eta=2, seed=seed),
    "nsga2": lambda seed: NSGA2(
        SPACE, epochs=2, objectives=["accuracy", "params"], population_size=6, seed=seed
    ),
}


def run(strategy: SearchStrategy, n: int) -> list[tuple[Proposal, Evaluation]]:
    history = []
    for _ in range(n):
        proposal = strategy.ask()
        assert proposal is not None
        evaluation = toy_evaluation(SPACE, proposal)
        strategy.tell(proposal, evaluation)
        history.append((proposal, evaluation))
    return history


@pytest.mark.parametrize("name", sorted(FACTORIES))
class TestStrategyContract:
    def test_is_a_search_strategy(self, name: str) -> None:
        strategy = FACTORIES[name](0)
        assert isinstance(strategy, SearchStrategy)
        assert strategy.name == name.removesuffix("-rungs") and strategy.notes == []

    def test_proposes_valid_canonical_genomes_with_epochs(self, name: str) -> None:
        for proposal, _ in run(FACTORIES[name](0), 40):
            assert SPACE.is_valid(proposal.genome)
            assert SPACE.canonical(proposal.genome) == proposal.genome
            assert proposal.epochs >= 1

    def test_same_seed_same_proposals(self, name: str) -> None:
        a = [p.genome for p, _ in run(FACTORIES[name](3), 25)]
        b = [p.genome for p, _ in run(FACTORIES[name](3), 25)]
        assert a == b


@pytest.mark.parametrize("name", ["evolution", "rl", "tpe", "evolution-rungs", "tpe-rungs"])
def test_learning_strategies_beat_random_on_the_toy_score(name: str) -> None:
    """Mean of the best full-fidelity score after the training work of 60 full-fidelity
    evaluations, over 5 seeds (a cheap estimate costs its share of the epochs and rows)."""

    def best(factory) -> float:
        scores = []
        for seed in range(5):
            strategy, spent, found = factory(seed), 0.0, []
            while spent < 60:
                proposal = strategy.ask()
                evaluation = toy_evaluation(SPACE, proposal)
                strategy.tell(proposal, evaluation)
                spent += proposal.info.get("fidelity", 1.0)
                if proposal.info.get("fidelity", 1.0) >= 1.0:
                    found.append(evaluation.accuracy)
            scores.append(max(found))
        return float(np.mean(scores))

    assert best(FACTORIES[name]) > best(FACTORIES["random"])


def test_evolution_population_ages_out_the_oldest() -> None:
    evo = RegularizedEvolution(SPACE, epochs=1, population_size=5, seed=0)
    history = run(evo, 12)
    assert len(evo.population) == 5
    assert [g for g, _ in evo.population] == [p.genome for p, _ in history[-5:]]


def test_reinforce_policy_concentrates_on_rewarded_choice() -> None:
    rl = Reinforce(SPACE, epochs=1, seed=0)
    lr_index = SPACE.index["lr"]
    before = rl.policy(lr_index)[2]
    run(rl, 150)
    assert rl.policy(lr_index)[2] > max(before, 0.5)  # lr = 1e-2 is index 2


def test_hyperband_promotes_survivors_with_their_weights() -> None:
    hb = Hyperband(SPACE, max_epochs=4, eta=2, seed=0)
    seen = []
    for _ in range(7):  # bracket s=2: 4 at 1 epoch, 2 continue to 2, 1 continues to 4
        p = hb.ask()
        ev = toy_evaluation(SPACE, p)
        ev.state = {"tag": p.genome} if p.keep_state else None
        hb.tell(p, ev)
        seen.append(p)
    assert [p.info["rung"] for p in seen] == [0, 0, 0, 0, 1, 1, 2]
    assert [p.info["total_epochs"] for p in seen] == [1, 1, 1, 1, 2, 2, 4]
    promoted = seen[4]
    assert promoted.init_state == {"tag": promoted.genome} and promoted.epochs == 1
    top_two = sorted(seen[:4], key=lambda p: -toy_evaluation(SPACE, p).accuracy)[:2]
    assert {p.genome for p in seen[4:6]} == {p.genome for p in top_two}
    assert not seen[6].keep_state  # last rung keeps nothing


def test_nsga2_keeps_a_population_of_the_best_fronts() -> None:
    nsga = NSGA2(SPACE, epochs=1, objectives=["accuracy", "params"], population_size=6, seed=0)
    run(nsga, 30)
    assert nsga.generation >= 3 and len(nsga.population) == 6
