"""Greedy portfolio selection over a candidate × data-set error matrix (pure maths)."""

from __future__ import annotations

from collections.abc import Sequence


def normalise_errors(scores: Sequence[Sequence[float | None]]) -> list[list[float]]:
    """Scores (candidate × data set, higher is better, None failed) as errors in [0, 1].

    Per data set, the best candidate gets 0 and the worst 1, so that an easy set (all
    near 100 %) weighs as much as a hard one; a failed evaluation counts as the worst.
    """
    n_sets = len(scores[0]) if scores else 0
    out = [[1.0] * n_sets for _ in scores]
    for j in range(n_sets):
        column = [row[j] for row in scores if row[j] is not None]
        if not column:
            continue
        best, worst = max(column), min(column)  # type: ignore[type-var]
        for i, row in enumerate(scores):
            value = row[j]
            if value is not None:
                out[i][j] = 0.0 if best == worst else (best - value) / (best - worst)  # type: ignore[operator]
    return out


def greedy_order(errors: Sequence[Sequence[float]], size: int,
                 columns: Sequence[int] | None = None,
                 allowed: Sequence[int] | None = None) -> list[int]:  # fmt: skip
    """Candidate indices chosen one at a time, each the one that most lowers the mean
    over data sets of the best error so far (auto-sklearn 2.0's portfolio).

    ``columns``: the data sets that count (default all); ``allowed``: the candidates
    that may be chosen (default all). Ties go to the lower mean error, then the lower
    index, so the order is deterministic. Once every set has its best, the rest follow
    by mean error.
    """
    cols = list(range(len(errors[0]) if errors else 0)) if columns is None else list(columns)
    pool = list(range(len(errors))) if allowed is None else list(allowed)
    if not cols:
        return pool[:size]
    best = [1.0] * len(cols)
    chosen: list[int] = []
    while pool and len(chosen) < size:
        keys = {i: _gain_key(errors[i], best, cols, i) for i in pool}
        pick = min(pool, key=keys.__getitem__)
        chosen.append(pick)
        pool.remove(pick)
        best = [min(b, errors[pick][c]) for b, c in zip(best, cols, strict=True)]
    return chosen


def _gain_key(row: Sequence[float], best: list[float], cols: list[int],
              index: int) -> tuple[float, float, int]:  # fmt: skip
    """Sort key of one candidate: mean best error after adding it, its own error, index."""
    after = sum(min(b, row[c]) for b, c in zip(best, cols, strict=True))
    own = sum(row[c] for c in cols)
    return round(after, 12), round(own, 12), index
