import numpy as np
import pytest

from agents._similarity import cluster_ids, cosine_matrix, nearest_duplicate, pairwise_similarity


def test_cosine_matrix_handles_zero_rows() -> None:
    sims = cosine_matrix(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]]))
    assert sims[0, 2] == pytest.approx(1.0)
    assert sims[0, 1] == 0.0


def test_near_duplicate_found_above_threshold_only() -> None:
    existing = {"H1": [1.0, 0.0, 0.0], "H2": [0.0, 1.0, 0.0]}
    assert nearest_duplicate([0.99, 0.05, 0.0], existing, threshold=0.95)[0] == "H1"
    assert nearest_duplicate([0.7, 0.7, 0.0], existing, threshold=0.95) is None
    assert nearest_duplicate([1.0, 0.0, 0.0], {}, threshold=0.95) is None


def test_clusters_are_single_linkage_and_deterministic() -> None:
    vectors = {
        "H1": [1.0, 0.0],
        "H2": [0.95, 0.31],  # close to H1
        "H3": [0.0, 1.0],
        "H10": [0.05, 1.0],  # close to H3
    }
    assert cluster_ids(vectors, threshold=0.9) == [["H1", "H2"], ["H10", "H3"]]
    assert pairwise_similarity(vectors)[("H1", "H2")] == pytest.approx(0.95, abs=0.01)
