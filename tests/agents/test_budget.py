import pytest

from agents._budget import (
    MIN_CALL_S,
    MIN_EXPERIMENT_S,
    LLMOutlook,
    allocate_trials,
    llm_outlook,
    next_round_blocker,
    priority,
    share_seconds,
)


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


# ------------------------------------------------------------------ pricing rounds in seconds


def test_the_plan_counts_as_spent_but_not_as_the_size_of_a_round() -> None:
    # Round 1 still open: 44 s over the 11 calls before its meta-review.
    cost = llm_outlook({0: 30.0, 1: 44.0}, current_round=1, round_done=False, calls_per_round=12)
    assert cost.spent_s == pytest.approx(74.0)
    assert cost.call_s == pytest.approx(4.0)
    assert cost.round_s == pytest.approx(48.0)  # the pending meta-review included
    assert cost.end_reserve_s == pytest.approx(8.0)  # meta-review and overview
    done = llm_outlook(
        {0: 30.0, 1: 48.0, 2: 36.0}, current_round=2, round_done=True, calls_per_round=12
    )
    assert done.round_s == pytest.approx(48.0)  # the largest round, not the last
    assert done.call_s == pytest.approx(4.0)


def test_the_per_call_estimate_has_a_floor() -> None:
    cost = llm_outlook({}, current_round=1, round_done=False, calls_per_round=12)
    assert cost == LLMOutlook(spent_s=0.0, round_s=MIN_CALL_S, call_s=MIN_CALL_S)


def test_the_llm_share_cap_blocks_a_round_that_would_pass_it() -> None:
    cost = LLMOutlook(spent_s=0.0, round_s=50.0, call_s=5.0)
    common: dict = {"time_budget_s": 300.0, "left_s": 1000.0, "outlook": cost}
    # Cap 75 s: 20 spent + 50 for a round + 5 for the overview fits exactly.
    assert next_round_blocker(llm_share=0.25, llm_spent_s=20.0, **common) is None
    reason = next_round_blocker(llm_share=0.25, llm_spent_s=21.0, **common)
    assert reason is not None and reason.startswith("LLM share cap:")
    assert "25% of the 300 s budget" in reason
    assert next_round_blocker(llm_share=None, llm_spent_s=500.0, **common) is None


def test_a_round_needs_time_for_its_llm_work_and_as_much_for_experiments() -> None:
    cost = LLMOutlook(spent_s=0.0, round_s=50.0, call_s=5.0)
    common: dict = {"time_budget_s": 300.0, "llm_share": None, "llm_spent_s": 0.0}
    assert next_round_blocker(left_s=105.0, outlook=cost, **common) is None  # 2 x 50 + 5
    reason = next_round_blocker(left_s=104.0, outlook=cost, **common)
    assert reason is not None and reason.startswith("time budget nearly spent")


def test_seconds_are_shared_in_proportion_to_trials_with_a_floor() -> None:
    assert share_seconds({"H1": 30, "H2": 10}, 200.0) == {"H1": 150.0, "H2": 50.0}
    floored = share_seconds({"H1": 99, "H2": 1}, 100.0)
    assert floored["H2"] == MIN_EXPERIMENT_S and floored["H1"] == pytest.approx(99.0)
    assert share_seconds({}, 100.0) == {}
