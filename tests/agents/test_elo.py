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


def test_an_anchor_moves_only_the_other_side_by_what_a_normal_match_would() -> None:
    from agents._elo import update_against_anchor

    moved = update_against_anchor(1200.0, 1250.0, 1.0, k=8)
    assert moved == pytest.approx(elo_update(1200.0, 1250.0, 1.0, k=8)[0])
    assert moved > 1200.0
    assert update_against_anchor(1200.0, 1200.0, 0.5) == 1200.0


def test_replay_plays_games_in_order_from_the_initial_rating() -> None:
    from agents._elo import replay

    games = [("H1", "H2", 1.0), ("H2", "H3", 0.5), ("H1", "H3", 0.0)]
    ratings = replay(games, ["H1", "H2", "H3", "H4"], k=32)
    h1, h2 = elo_update(INITIAL_ELO, INITIAL_ELO, 1.0, k=32)
    h2, h3 = elo_update(h2, INITIAL_ELO, 0.5, k=32)
    h1, h3 = elo_update(h1, h3, 0.0, k=32)
    assert ratings == {"H1": h1, "H2": h2, "H3": h3, "H4": INITIAL_ELO}
    assert sum(ratings.values()) == pytest.approx(4 * INITIAL_ELO)  # zero-sum from 1200
    # Order matters in Elo: the same results in another order rate differently.
    assert replay(list(reversed(games)), k=32) != {k: v for k, v in ratings.items() if k != "H4"}


def test_replay_of_draws_only_leaves_everyone_at_exactly_1200() -> None:
    from agents._elo import replay

    games = [("H1", "H2", 0.5), ("H2", "H3", 0.5), ("H1", "H3", 0.5)]
    assert replay(games) == {"H1": 1200.0, "H2": 1200.0, "H3": 1200.0}
