import pytest

from agents._paired import compare_fold_scores


def test_consistent_large_difference_wins_with_three_folds() -> None:
    outcome = compare_fold_scores([0.97, 0.98, 0.96], [0.80, 0.82, 0.79])
    assert outcome.winner == "a"
    assert outcome.prob_a > 0.99
    assert outcome.mean_diff == pytest.approx(0.1667, abs=1e-3)


def test_order_of_arguments_mirrors_the_outcome() -> None:
    outcome = compare_fold_scores([0.80, 0.82, 0.79], [0.97, 0.98, 0.96])
    assert outcome.winner == "b" and outcome.score_a == 0.0


def test_noisy_small_difference_is_a_draw() -> None:
    outcome = compare_fold_scores([0.95, 0.93, 0.97], [0.94, 0.95, 0.95])
    assert outcome.winner == "draw" and outcome.score_a == 0.5


def test_difference_inside_rope_is_a_draw_even_if_consistent() -> None:
    outcome = compare_fold_scores([0.9010, 0.9011, 0.9012], [0.9000, 0.9000, 0.9001], rope=0.002)
    assert outcome.winner == "draw"


def test_identical_difference_on_every_fold_is_decisive() -> None:
    outcome = compare_fold_scores([0.9, 0.8, 0.7], [0.85, 0.75, 0.65])
    assert outcome.winner == "a" and outcome.prob_a == 1.0


def test_two_folds_need_a_large_consistent_difference() -> None:
    # df = 1: the posterior is a Cauchy, so a moderate difference stays a draw ...
    assert compare_fold_scores([0.95, 0.90], [0.93, 0.89]).winner == "draw"
    # ... and only a large, consistent one wins.
    assert compare_fold_scores([0.95, 0.96], [0.80, 0.80]).winner == "a"


def test_unpaired_or_single_fold_scores_are_rejected() -> None:
    with pytest.raises(ValueError, match="not paired"):
        compare_fold_scores([0.9, 0.8], [0.9])
    with pytest.raises(ValueError, match="at least 2 folds"):
        compare_fold_scores([0.9], [0.8])
