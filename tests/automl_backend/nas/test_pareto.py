from __future__ import annotations

from automl_backend.nas._pareto import (
    crowding_distance,
    dominates,
    non_dominated_sort,
    pareto_front,
)


def test_dominance_and_fronts_on_known_points() -> None:
    pts = [(1, 5), (2, 2), (5, 1), (3, 3), (6, 6), (2, 2)]
    assert dominates((2, 2), (3, 3)) and not dominates((2, 2), (2, 2))
    fronts = non_dominated_sort(pts)
    assert sorted(fronts[0]) == [0, 1, 2, 5]
    assert fronts[1] == [3] and fronts[2] == [4]
    assert sorted(pareto_front(pts)) == [0, 1, 2, 5]


def test_crowding_distance_favours_boundaries() -> None:
    pts = [(0, 4), (1, 3), (2, 2), (4, 0)]
    dist = crowding_distance(pts, [0, 1, 2, 3])
    assert dist[0] == dist[3] == float("inf")
    assert dist[2] > dist[1]  # (2, 2) has the wider gap around it
