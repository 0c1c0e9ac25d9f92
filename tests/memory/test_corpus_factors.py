"""The shipped corpus covers the hypothesis factors: each factor's query finds its own note.

Hypotheses change one factor each and query the memory with it, so a factor whose query
lands on another factor's note would ground the hypothesis in the wrong literature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memory import SHIPPED_CORPUS, MemoryStore

pytestmark = pytest.mark.slow  # embeds the whole shipped corpus with the real model

FACTOR_NOTES = {
    "model family choice: no free lunch, tree ensembles versus deep learning": (
        "tabular-choosing-a-model-family.md"
    ),
    "feature scaling for distance-based models such as kNN": "preprocessing-feature-scaling.md",
    "categorical encoding: one-hot versus target encoding": (
        "preprocessing-categorical-encoding.md"
    ),
    "feature selection: filter methods and k-best": "preprocessing-feature-selection.md",
    "class imbalance: class weighting and resampling": "preprocessing-class-imbalance.md",
    "feature engineering: ratios, products and log transforms": (
        "preprocessing-feature-engineering.md"
    ),
    "model size and compression: the smallest model within a tolerance": (
        "compression-smallest-model-within-tolerance.md"
    ),
    "would more training data help: learning curves": (
        "evaluation-learning-curves-and-more-data.md"
    ),
    "multiple comparisons and the Bayesian correlated t-test": (
        "evaluation-bayesian-comparison-and-multiple-testing.md"
    ),
    "hyperparameter search region: narrowing around good configurations": (
        "hpo-search-space-design-and-narrowing.md"
    ),
    "ensembling on or off": "ensembling-when-to-turn-it-on.md",
}


@pytest.fixture(scope="module")
def top3_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The sources of the three best passages for every factor query, from one store."""
    store: Any = MemoryStore(path=tmp_path_factory.mktemp("store"), corpus_dir=SHIPPED_CORPUS)
    return {
        query: [hit.source for hit in store.search_literature(query, k=3)] for query in FACTOR_NOTES
    }


def test_every_expected_note_ships() -> None:
    missing = [n for n in FACTOR_NOTES.values() if not (Path(SHIPPED_CORPUS) / n).is_file()]
    assert missing == []
    assert len(set(FACTOR_NOTES.values())) == len(FACTOR_NOTES), "one note per factor"


@pytest.mark.parametrize("query", list(FACTOR_NOTES))
def test_a_factor_query_ranks_its_own_note_first(
    query: str, top3_sources: dict[str, list[str]]
) -> None:
    assert top3_sources[query][0] == f"corpus/{FACTOR_NOTES[query]}", top3_sources[query]


def test_different_factors_retrieve_different_passages(
    top3_sources: dict[str, list[str]],
) -> None:
    top3_sets = {query: frozenset(sources) for query, sources in top3_sources.items()}
    assert len(set(top3_sets.values())) == len(FACTOR_NOTES), top3_sets
