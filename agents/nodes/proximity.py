"""Proximity: cluster hypotheses by embedding, for pairing, evolution and the report."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._similarity import cluster_ids
from agents._state import ResearchState
from agents.nodes._text import emit


def proximity(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Single-linkage clusters of the hypotheses still in play."""
    hypotheses = state.get("hypotheses", {})
    vectors = {
        hid: vector
        for hid, vector in state.get("embeddings", {}).items()
        if hid in hypotheses and hypotheses[hid].status in ("approved", "tested")
    }
    clusters = cluster_ids(vectors)
    emit(
        runtime,
        "agent",
        f"{len(vectors)} hypotheses in {len(clusters)} clusters",
        agent="proximity",
    )
    return {"clusters": clusters}
