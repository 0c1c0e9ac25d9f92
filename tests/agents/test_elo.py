import pytest

from agents._elo import INITIAL_ELO, elo_update, expected_score


def test_equal_ratings_expect_half_and_a_win_moves_half_k() -> None:
    assert expected_score(INITIAL_ELO, INITIAL_ELO) == pytest.approx(0.5)
    a, b = elo_update(1200, 1200, 1.0, k=32)
    assert (a, b) == pytest.approx((1216, 1184))


def test_update_is_zero_sum_and_a_draw_pulls_ratings_together() -> None:
    a, b = elo_update(1400, 1200, 0.5, k=32)
    assert a + b == pytest.approx(2600)
    assert a < 1400 and b > 1200


def test_upset_moves_more_than_expected_win() -> None:
    favourite_win = elo_update(1400, 1200, 1.0)[0] - 1400
    underdog_win = elo_update(1200, 1400, 1.0)[0] - 1200
    assert underdog_win > favourite_win > 0


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_scores_outside_unit_interval_are_rejected(score: float) -> None:
    with pytest.raises(ValueError):
        elo_update(1200, 1200, score)
