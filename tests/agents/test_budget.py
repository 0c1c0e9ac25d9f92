import pytest

from agents._budget import allocate_trials, priority


def test_allocation_spends_the_budget_exactly_with_a_minimum_each() -> None:
    ids = ["H1", "H2", "H3"]
    trials = allocate_trials(ids, 20, elo=dict.fromkeys(ids, 1200.0), n_matches={})
    assert sum(trials.values()) == 20
    assert min(trials.values()) >= 2


def test_promising_and_uncertain_hypotheses_get_more() -> None:
    ids = ["H1", "H2", "H3"]
    elo = {"H1": 1300.0, "H2": 1200.0, "H3": 1200.0}
    trials = allocate_trials(ids, 30, elo=elo, n_matches={"H2": 8, "H3": 0})
    assert trials["H1"] > trials["H3"] > trials["H2"]
    assert priority(1200, 1200, 0) > priority(1200, 1200, 10)


def test_at_most_max_experiments_are_funded_best_first() -> None:
    elo = {"H1": 1100.0, "H2": 1300.0, "H3": 1200.0}
    trials = allocate_trials(["H1", "H2", "H3"], 12, elo=elo, n_matches={}, max_experiments=2)
    assert set(trials) == {"H2", "H3"}


def test_a_small_budget_funds_fewer_hypotheses() -> None:
    trials = allocate_trials(["H1", "H2", "H3"], 5, elo={}, n_matches={}, min_trials=2)
    assert len(trials) == 2 and sum(trials.values()) == 5


def test_max_trials_caps_each_share() -> None:
    trials = allocate_trials(["H1", "H2"], 40, elo={}, n_matches={}, max_trials=10)
    assert trials == {"H1": 10, "H2": 10}


def test_nothing_to_fund() -> None:
    assert allocate_trials([], 10, elo={}, n_matches={}) == {}
    assert allocate_trials(["H1"], 1, elo={}, n_matches={}) == {}
    with pytest.raises(ValueError):
        allocate_trials(["H1"], 10, elo={}, n_matches={}, min_trials=0)
