"""Pareto dominance, non-dominated sorting and crowding distance (minimisation form)."""

from __future__ import annotations

from collections.abc import Sequence

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    """a is no worse than b everywhere and strictly better somewhere."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def non_dominated_sort(points: Sequence[Point]) -> list[list[int]]:
    """Indices grouped into fronts: front 0 is the Pareto front, front 1 the next..."""
    n = len(points)
    dominated_by: list[list[int]] = [[] for _ in range(n)]
    count = [0] * n
    for i in range(n):
        for j in range(n):
            if i != j and dominates(points[i], points[j]):
                dominated_by[i].append(j)
            elif i != j and dominates(points[j], points[i]):
                count[i] += 1
    fronts: list[list[int]] = []
    current = [i for i in range(n) if count[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    following.append(j)
        current = following
    return fronts


def crowding_distance(points: Sequence[Point], front: Sequence[int]) -> dict[int, float]:
    """Deb et al. (2002): the side lengths of the cuboid each point's neighbours span."""
    dist = {i: 0.0 for i in front}
    if len(front) <= 2:
        return {i: float("inf") for i in front}
    for m in range(len(points[front[0]])):
        order = sorted(front, key=lambda i: points[i][m])
        lo, hi = points[order[0]][m], points[order[-1]][m]
        dist[order[0]] = dist[order[-1]] = float("inf")
        if hi == lo:
            continue
        for k in range(1, len(order) - 1):
            dist[order[k]] += (points[order[k + 1]][m] - points[order[k - 1]][m]) / (hi - lo)
    return dist


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated points (duplicates all kept)."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]
