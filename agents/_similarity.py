"""Embedding-based proximity of hypotheses: near-duplicate detection and clustering.

Vectors come from an injected embed function (MiniLM from memory in a real run), so
these helpers are pure and testable with any vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DUPLICATE_THRESHOLD = 0.95
"""Cosine similarity at or above which a new hypothesis repeats an existing one.
Sentence embeddings of paraphrases of the same claim sit around 0.9-0.97; distinct claims
about the same model family stay below, and identical experiments are caught by spec."""
CLUSTER_THRESHOLD = 0.80
"""Cosine similarity at or above which two hypotheses share a cluster (single linkage)."""


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities of the rows; zero rows are similar to nothing."""
    v = np.asarray(vectors, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def pairwise_similarity(vectors: Mapping[str, Sequence[float]]) -> dict[tuple[str, str], float]:
    """Cosine similarity of every unordered pair of ids, keyed ``(a, b)`` with ``a < b``."""
    ids = sorted(vectors)
    if len(ids) < 2:
        return {}
    sims = cosine_matrix(np.array([vectors[h] for h in ids]))
    return {
        (ids[i], ids[j]): float(sims[i, j]) for i in range(len(ids)) for j in range(i + 1, len(ids))
    }


def nearest_duplicate(
    vector: Sequence[float],
    existing: Mapping[str, Sequence[float]],
    threshold: float = DUPLICATE_THRESHOLD,
) -> tuple[str, float] | None:
    """The most similar existing id if it is at or above ``threshold``, else None."""
    if not existing:
        return None
    ids = sorted(existing)
    matrix = cosine_matrix(np.array([list(vector)] + [list(existing[h]) for h in ids]))
    sims = matrix[0, 1:]
    best = int(np.argmax(sims))
    if sims[best] >= threshold:
        return ids[best], float(sims[best])
    return None


def cluster_ids(
    vectors: Mapping[str, Sequence[float]], threshold: float = CLUSTER_THRESHOLD
) -> list[list[str]]:
    """Single-linkage clusters at ``threshold``; sorted members, clusters by first member."""
    ids = sorted(vectors)
    parent = {h: h for h in ids}

    def find(h: str) -> str:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    for (a, b), sim in pairwise_similarity(vectors).items():
        if sim >= threshold:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for h in ids:
        groups.setdefault(find(h), []).append(h)
    return sorted(groups.values(), key=lambda members: members[0])
