from collections import Counter

from agents._schedule import pair_key, pair_weight, schedule_matches, top_by_elo


def _all_pairs(ids: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]


def test_same_inputs_give_the_same_schedule() -> None:
    ids = [f"H{i}" for i in range(1, 8)]
    elo = dict.fromkeys(ids, 1200.0)
    first = schedule_matches(_all_pairs(ids), 5, elo=elo, seed=3)
    assert first == schedule_matches(_all_pairs(ids), 5, elo=elo, seed=3)
    assert len(first) == len(set(first)) == 5


def test_weights_favour_similar_new_and_top_pairs_and_penalise_repeats() -> None:
    plain = pair_weight("H1", "H2", new_ids=(), top_ids=(), similarity=0.0, times_played=0)
    similar = pair_weight("H1", "H2", new_ids=(), top_ids=(), similarity=0.9, times_played=0)
    new = pair_weight("H1", "H2", new_ids={"H1"}, top_ids=(), similarity=0.0, times_played=0)
    top = pair_weight("H1", "H2", new_ids=(), top_ids={"H2"}, similarity=0.0, times_played=0)
    repeat = pair_weight("H1", "H2", new_ids=(), top_ids=(), similarity=0.0, times_played=2)
    assert similar > plain and new > plain and top > plain and repeat < plain


def test_new_and_similar_pairs_are_scheduled_more_often() -> None:
    ids = [f"H{i}" for i in range(1, 9)]
    elo = dict.fromkeys(ids, 1200.0)
    similarity = {pair_key("H3", "H4"): 0.95}
    counts: Counter[tuple[str, str]] = Counter()
    involving_new = 0
    for seed in range(300):
        chosen = schedule_matches(
            _all_pairs(ids), 3, elo=elo, new_ids={"H8"}, similarity=similarity, seed=seed
        )
        counts.update(chosen)
        involving_new += sum("H8" in pair for pair in chosen)
    average_pair = sum(counts.values()) / len(counts)
    assert counts[("H3", "H4")] > 1.5 * average_pair
    # H8 is in 7 of 28 pairs (25 %) but is new: it should get clearly more than its share.
    assert involving_new / (300 * 3) > 0.35


def test_top_by_elo_breaks_ties_by_id() -> None:
    assert top_by_elo({"H2": 1250, "H1": 1250, "H3": 1100}, 2) == ["H1", "H2"]


def test_no_pairs_or_no_matches_schedule_nothing() -> None:
    assert schedule_matches([], 3, elo={}) == []
    assert schedule_matches([("H1", "H2")], 0, elo={}) == []


def test_leaders_need_a_rating_above_the_median() -> None:
    from agents._schedule import leaders

    assert leaders({"H1": 1200.0, "H2": 1200.0}, 2) == []
    assert leaders({"H1": 1210.0, "H2": 1200.0, "H3": 1190.0}, 2) == ["H1"]


def test_standings_break_equal_elo_by_measured_score_then_creation_order() -> None:
    from agents._schedule import standings

    elo = {"H10": 1200.0, "H2": 1200.0, "H3": 1200.0, "H4": 1216.0, "H5": 1200.0}
    scores = {"H10": 0.81, "H2": 0.79, "H3": 0.81, "H4": 0.70}
    # H4 leads on Elo despite its score; H3 and H10 tie on score too, so the older H3
    # comes first; H5 has no measured score and comes last among the 1200s.
    assert standings(elo, scores) == ["H4", "H3", "H10", "H2", "H5"]
    assert standings({"H10": 1200.0, "H9": 1200.0}) == ["H9", "H10"]


def test_leaders_and_top_by_elo_use_the_same_tie_break() -> None:
    from agents._schedule import leaders

    elo = {"H1": 1216.0, "H2": 1216.0, "H3": 1184.0, "H4": 1184.0}
    scores = {"H1": 0.80, "H2": 0.90}
    assert top_by_elo(elo, 1, scores) == ["H2"]
    assert leaders(elo, 1, scores) == ["H2"]


def test_leader_order_rank_only_tested_hypotheses() -> None:
    from agents._messages import Hypothesis, Prediction
    from agents._schedule import leader_order
    from automl_backend import ExperimentResult, ExperimentSpec

    def hypothesis(hid: str, score: float | None) -> Hypothesis:
        result = None
        if score is not None:
            result = ExperimentResult(
                status="ok", metric="accuracy", best_score=score, fold_scores=[score] * 3
            )
        return Hypothesis(
            id=hid,
            round=1,
            origin="generation",
            statement="s",
            prediction=Prediction(direction="better", min_effect_points=1.0, control="b"),
            experiment=ExperimentSpec.for_families(["knn"]),
            status="tested" if result else "approved",
            result=result,
        )

    hypotheses = {"H1": hypothesis("H1", 0.7), "H2": hypothesis("H2", 0.9)}
    hypotheses["H3"] = hypothesis("H3", None)  # untested, highest Elo: not a candidate
    elo = {"H1": 1200.0, "H2": 1200.0, "H3": 1300.0}
    assert leader_order(hypotheses, elo) == ["H2", "H1"]
    assert leader_order(hypotheses, {}) == ["H2", "H1"]  # unrated counts as 1200
