"""Which pairs of hypotheses meet in a tournament round.

The co-scientist pairs similar hypotheses (a comparison between close ideas is the
informative one) and gives new and top-ranked hypotheses more matches (new ones have an
uncertain rating; the top of the table is where the ranking matters). Pairs already
played are down-weighted so a round explores. Sampling is weighted and without
replacement, seeded, so the same state always gives the same schedule.

Who leads is decided here, in one place (``standings``), for everybody who picks a
leader or the best hypothesis: Elo first, then the measured mean CV score (so that
tested hypotheses whose measured matches all drew, and sit level, are ordered by what
was measured), then the id in creation order.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from agents._elo import INITIAL_ELO

if TYPE_CHECKING:
    from agents._messages import Hypothesis

Pair = tuple[str, str]

SIMILARITY_WEIGHT = 2.0
"""Extra weight for a pair at cosine similarity 1 (scaled linearly, negatives count 0)."""
NEW_WEIGHT = 1.5
"""Extra weight per side that is new this round."""
TOP_WEIGHT = 1.0
"""Extra weight per side that is among the current top-k by Elo."""


def pair_key(a: str, b: str) -> Pair:
    """Order-free key of a pair, for similarity and played-count look-ups."""
    return (a, b) if a <= b else (b, a)


def pair_weight(
    a: str,
    b: str,
    *,
    new_ids: Collection[str],
    top_ids: Collection[str],
    similarity: float,
    times_played: int,
) -> float:
    """Relative chance that (a, b) is scheduled; always positive."""
    weight = 1.0 + SIMILARITY_WEIGHT * max(0.0, min(1.0, similarity))
    weight += NEW_WEIGHT * ((a in new_ids) + (b in new_ids))
    weight += TOP_WEIGHT * ((a in top_ids) + (b in top_ids))
    return weight / (1.0 + times_played)


def id_order(hid: str) -> tuple[int, str]:
    """Creation order of ids like H1, H2, ..., H10 (shorter first, then by text)."""
    return len(hid), hid


def standings(elo: Mapping[str, float], scores: Mapping[str, float] | None = None) -> list[str]:
    """Every id in ``elo`` from first to last.

    Higher Elo first; at equal Elo the higher measured score (``scores``, usually
    ``measured_scores``; ids without a score come after those with one), then the
    earlier id. Exact float equality is meant: ratings rebuilt from all-drawn measured
    matches are exactly equal, and anything else is a real difference.
    """
    scores = scores or {}

    def key(hid: str) -> tuple[float, int, float, tuple[int, str]]:
        score = scores.get(hid)
        return (-elo[hid], score is None, -(score or 0.0), id_order(hid))

    return sorted(elo, key=key)


def measured_scores(hypotheses: Mapping[str, Hypothesis]) -> dict[str, float]:
    """Mean CV score (higher is better) of every tested hypothesis, for breaking Elo ties."""
    out: dict[str, float] = {}
    for hid, h in hypotheses.items():
        if h.tested and h.result is not None and h.result.best_score is not None:
            out[hid] = h.result.best_score
    return out


def leader_order(hypotheses: Mapping[str, Hypothesis], elo: Mapping[str, float]) -> list[str]:
    """Tested hypotheses from leader to last (see ``standings``); the first is the best."""
    tested = {hid: elo.get(hid, INITIAL_ELO) for hid, h in hypotheses.items() if h.tested}
    return standings(tested, measured_scores(hypotheses))


def top_by_elo(
    elo: Mapping[str, float], k: int, scores: Mapping[str, float] | None = None
) -> list[str]:
    """The first k of ``standings``."""
    return standings(elo, scores)[:k]


def leaders(
    elo: Mapping[str, float], k: int, scores: Mapping[str, float] | None = None
) -> list[str]:
    """The top k by Elo that rate above the median: with equal ratings nobody leads."""
    if not elo:
        return []
    median = statistics.median(elo.values())
    return [h for h in top_by_elo(elo, k, scores) if elo[h] > median]


def schedule_matches(
    pairs: Sequence[Pair],
    n_matches: int,
    *,
    elo: Mapping[str, float],
    new_ids: Collection[str] = (),
    similarity: Mapping[Pair, float] | None = None,
    played: Mapping[Pair, int] | None = None,
    seed: int = 0,
    top_k: int = 3,
    scores: Mapping[str, float] | None = None,
) -> list[Pair]:
    """Pick up to ``n_matches`` distinct pairs from ``pairs``, weighted as described above.

    Uses the Efraimidis-Spirakis keys ``u ** (1 / w)``: taking the largest keys is weighted
    sampling without replacement.
    """
    if n_matches <= 0 or not pairs:
        return []
    similarity = similarity or {}
    played = played or {}
    top_ids = set(leaders(elo, top_k, scores))
    rng = random.Random(seed)
    unique = sorted({pair_key(a, b) for a, b in pairs if a != b})
    keyed: list[tuple[float, Pair]] = []
    for a, b in unique:
        w = pair_weight(
            a,
            b,
            new_ids=new_ids,
            top_ids=top_ids,
            similarity=similarity.get((a, b), 0.0),
            times_played=played.get((a, b), 0),
        )
        keyed.append((rng.random() ** (1.0 / w), (a, b)))
    keyed.sort(key=lambda item: (-item[0], item[1]))
    return [pair for _, pair in keyed[:n_matches]]
