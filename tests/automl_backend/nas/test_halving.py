"""Low-fidelity estimates: the rung arithmetic, ASHA promotion, and the strategies and
runner pieces that use them (toy scores, then one tiny end-to-end run per strategy)."""

from __future__ import annotations

import csv

import pytest
import torch

from automl_backend.nas import Evaluation, MLPSpace, NASSpec, Proposal, SearchSpace, run_nas
from automl_backend.nas._evaluate import Evaluator
from automl_backend.nas._result import TrialRecord
from automl_backend.nas._search import _better
from automl_backend.nas._train import TensorData
from automl_backend.nas.strategies import RegularizedEvolution, TPESearch
from automl_backend.nas.strategies._halving import (
    AsyncHalving,
    Rung,
    fidelity_rungs,
    promotion_count,
)

SPACE = SearchSpace(MLPSpace())


def toy_evaluation(space: SearchSpace, proposal: Proposal) -> Evaluation:
    """Wider is better, and a cheap estimate sees the same order, a little damped."""
    arch = space.to_arch(proposal.genome)
    score = sum(arch["widths"]) / 1024 + 0.3 * (arch["lr"] == 1e-2)
    return Evaluation(score * (0.5 + 0.5 * proposal.rows), 1, 0.0, proposal.epochs, 0.0)


def test_rungs_go_from_cheap_to_full_fidelity_by_a_factor_of_eta() -> None:
    assert fidelity_rungs(4, 3) == [Rung(1, 0.4444), Rung(1, 1.0), Rung(4, 1.0)]
    assert fidelity_rungs(9, 3) == [Rung(1, 1.0), Rung(3, 1.0), Rung(9, 1.0)]
    assert fidelity_rungs(5, 1) == [Rung(5, 1.0)]
    for epochs in (1, 2, 4, 27):
        rungs = fidelity_rungs(epochs, 4, eta=3)
        assert rungs[-1] == Rung(epochs, 1.0)
        costs = [r.cost for r in rungs]
        assert costs == sorted(set(costs))  # strictly cheaper going down, no duplicates
        assert all(r.rows >= 0.1 for r in rungs)


def test_rungs_that_would_coincide_are_merged_and_bad_arguments_refused() -> None:
    assert fidelity_rungs(1, 6, min_rows=0.3) == [Rung(1, 0.3), Rung(1, 0.3333), Rung(1, 1.0)]
    with pytest.raises(ValueError, match="eta >= 2"):
        fidelity_rungs(4, 3, eta=1)


def test_promotion_count_is_the_top_third_rounded_down() -> None:
    assert [promotion_count(n, 3) for n in (0, 2, 3, 5, 6, 9)] == [0, 0, 1, 1, 2, 3]


def test_async_halving_promotes_the_best_of_each_rung_once_higher_rungs_first() -> None:
    asha = AsyncHalving(3, eta=3)
    assert asha.promotion() is None
    for key, score in zip("abcdef", [0.1, 0.9, 0.5, 0.7, 0.2, 0.9], strict=True):
        asha.record(0, key, score)
    # Two of six may move up: the best, ties in arrival order (b before f).
    assert [asha.promotion(), asha.promotion(), asha.promotion()] == [("b", 1), ("f", 1), None]
    for key, score in (("b", 0.6), ("f", 0.8), ("b", 0.99)):  # b's second score is ignored
        asha.record(1, key, score)
    assert asha.results[1] == {"b": 0.6, "f": 0.8}
    asha.record(0, "g", 0.95)
    asha.record(1, "d", 0.7)
    # Rung 1 now holds three results: its best (f) goes to rung 2 before rung 0's next.
    assert asha.promotion() == ("f", 2)
    assert asha.promotion() == ("g", 1)
    assert asha.promotion() is None


def _run(strategy, n: int) -> list:
    history = []
    for _ in range(n):
        proposal = strategy.ask()
        evaluation = toy_evaluation(SPACE, proposal)
        strategy.tell(proposal, evaluation)
        history.append((proposal, evaluation))
    return history


@pytest.mark.parametrize("make", [
    lambda seed: RegularizedEvolution(SPACE, epochs=4, population_size=6, seed=seed, rungs=3),
    lambda seed: TPESearch(SPACE, epochs=4, seed=seed, rungs=3),
])  # fmt: skip
def test_strategies_promote_only_what_a_lower_rung_ranked_in_its_top_third(make) -> None:
    history = _run(make(0), 80)
    rungs = fidelity_rungs(4, 3)
    by_rung: list[list] = [[], [], []]
    for proposal, evaluation in history:
        rung = proposal.info["rung"]
        assert (proposal.epochs, proposal.rows) == (rungs[rung].epochs, rungs[rung].rows)
        assert proposal.info["fidelity"] == pytest.approx(rungs[rung].cost / 4)
        if rung > 0:
            below = [(p.genome, e.accuracy) for p, e in by_rung[rung - 1]]
            assert proposal.genome in dict(below)
            ranked = sorted(dict(below).values(), reverse=True)
            keep = promotion_count(len(dict(below)), 3)
            assert dict(below)[proposal.genome] >= ranked[keep - 1]
        by_rung[rung].append((proposal, evaluation))
    # Asynchronous: a candidate moves up while it is in the top third *so far*, so a rung
    # can pass on more than a third of its final count, but most work stays cheap.
    assert len(by_rung[0]) > len(by_rung[1]) > len(by_rung[2]) >= 1
    again = [p.genome for p, _ in _run(make(0), 80)]
    assert again == [p.genome for p, _ in history]  # deterministic for a seed


def test_evolution_tournaments_compare_only_cheap_scores() -> None:
    evo = RegularizedEvolution(SPACE, epochs=4, population_size=5, seed=1, rungs=3)
    history = _run(evo, 40)
    cheap = [(p.genome, e.accuracy) for p, e in history if p.info["rung"] == 0]
    assert list(evo.population) == cheap[-5:]


def test_tpe_models_the_cheapest_rung_only() -> None:
    tpe = TPESearch(SPACE, epochs=4, seed=0, rungs=3)
    history = _run(tpe, 40)
    told = [t for t in tpe.study.trials if t.value is not None]
    assert len(told) == sum(p.info["rung"] == 0 for p, _ in history)
    assert any(p.info["rung"] > 0 for p, _ in history)


def _record(accuracy: float, fidelity: float | None, params: int = 10) -> TrialRecord:
    info = {} if fidelity is None else {"fidelity": fidelity}
    return TrialRecord(trial=0, architecture={}, accuracy=accuracy, params=params,
                       latency_ms=0.0, epochs=1, seconds=0.0, info=info)  # fmt: skip


def test_the_runner_prefers_a_full_fidelity_winner_over_a_better_cheap_estimate() -> None:
    assert _better(_record(0.80, 1.0), _record(0.95, 0.11))
    assert _better(_record(0.80, None), _record(0.95, 0.25))
    assert _better(_record(0.90, 1.0), _record(0.80, None))
    assert _better(_record(0.90, 1.0, params=5), _record(0.90, 1.0, params=6))


def test_evaluator_trains_low_fidelity_on_one_fixed_seeded_subset() -> None:
    X, y = torch.randn(500, 4), torch.arange(500) % 3
    ev = Evaluator(TensorData(X, y), TensorData(X[:10], y[:10]), (4,), 3, seed=7)
    assert ev.rows(1.0) is ev.train_data
    part = ev.rows(0.3)
    assert len(part) == 150 and ev.rows(0.3) is part
    again = Evaluator(TensorData(X, y), TensorData(X[:10], y[:10]), (4,), 3, seed=7)
    assert torch.equal(again.rows(0.3).X, part.X)
    assert len(ev.rows(0.01)) == 64  # never fewer than 64 rows


@pytest.mark.parametrize("strategy", ["evolution", "tpe"])
def test_tiny_low_fidelity_search_returns_a_full_fidelity_winner(
    digits, strategy, tmp_path
) -> None:
    X, y = digits
    spec = NASSpec(space=MLPSpace(depths=[1, 2], widths=[16, 32]), strategy=strategy,
                   time_budget_s=None, max_trials=14, epochs_per_trial=3, final_epochs=2,
                   population_size=4, fidelity_rungs=3)  # fmt: skip
    result = run_nas(spec, X, y, test_size=0.25, out_dir=tmp_path / "run")
    rungs = [t.info["rung"] for t in result.trials]
    assert len(result.trials) == 14 and 0 in rungs and max(rungs) == 2
    winner = max(result.trials, key=lambda t: (t.info["fidelity"], t.accuracy))
    assert result.best_architecture == winner.architecture
    assert winner.info["fidelity"] == 1.0 and winner.epochs == 3
    assert result.test_accuracy is not None and 0.0 <= result.test_accuracy <= 1.0
    with (tmp_path / "run" / "leaderboard.csv").open() as fh:
        top = next(csv.DictReader(fh))
    assert int(top["trial"]) == winner.trial  # cheap estimates rank below full results


def test_one_rung_keeps_the_old_full_fidelity_search(digits) -> None:
    X, y = digits
    spec = NASSpec(space=MLPSpace(depths=[1], widths=[16]), strategy="evolution",
                   time_budget_s=None, max_trials=4, epochs_per_trial=2, final_epochs=1,
                   fidelity_rungs=1)  # fmt: skip
    result = run_nas(spec, X, y)
    assert all(t.epochs == 2 and "rung" not in t.info for t in result.trials)
