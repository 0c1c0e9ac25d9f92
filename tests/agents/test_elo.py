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


def test_fitted_ratings_do_not_depend_on_the_order_of_the_games() -> None:
    from agents._elo import fit_ratings

    games = [("H1", "H2", 1.0), ("H2", "H3", 0.5), ("H1", "H3", 1.0), ("H3", "H4", 0.5)]
    ratings = fit_ratings(games, ["H1", "H2", "H3", "H4", "H5"])
    assert ratings == fit_ratings(list(reversed(games)), ["H5"])
    assert ratings == fit_ratings([(b, a, 1.0 - s) for a, b, s in games], ["H5"])
    assert ratings["H5"] == INITIAL_ELO  # no game: the prior alone
    assert ratings["H1"] > ratings["H2"] > INITIAL_ELO * 0.5
    assert ratings["H1"] > ratings["H3"]


def test_equal_records_rate_exactly_equal_and_draws_only_stay_at_1200() -> None:
    from agents._elo import fit_ratings

    draws = [("H1", "H2", 0.5), ("H2", "H3", 0.5), ("H1", "H3", 0.5)]
    assert fit_ratings(draws) == {"H1": 1200.0, "H2": 1200.0, "H3": 1200.0}
    # Three hypotheses that drew each other and all beat a fourth: level with each other.
    games = [*draws, ("H1", "H4", 1.0), ("H4", "H2", 0.0), ("H3", "H4", 1.0)]
    ratings = fit_ratings(games)
    assert ratings["H1"] == ratings["H2"] == ratings["H3"] > INITIAL_ELO > ratings["H4"]


def test_the_fit_is_the_maximum_of_the_posterior() -> None:
    import math

    from agents._elo import fit_ratings

    games = [("A", "B", 1.0), ("B", "C", 1.0), ("A", "C", 0.5)]
    ratings = fit_ratings(games, prior_draws=1.0)

    def log_posterior(r: dict[str, float]) -> float:
        total = sum(
            s * math.log(expected_score(r[a], r[b]))
            + (1 - s) * math.log(expected_score(r[b], r[a]))
            for a, b, s in games
        )
        return total + sum(
            0.5 * math.log(expected_score(v, 1200.0)) + 0.5 * math.log(expected_score(1200.0, v))
            for v in r.values()
        )

    best = log_posterior(ratings)
    for player in ratings:
        for nudge in (-1.0, 1.0):
            assert log_posterior({**ratings, player: ratings[player] + nudge}) < best
    # A hypothesis that wins every game keeps a finite rating.
    assert math.isfinite(fit_ratings([("A", "B", 1.0)] * 5)["A"])


def test_fit_rejects_bad_scores_and_priors() -> None:
    from agents._elo import fit_ratings

    with pytest.raises(ValueError):
        fit_ratings([("A", "B", 1.5)])
    with pytest.raises(ValueError):
        fit_ratings([("A", "B", 1.0)], prior_draws=0.0)
