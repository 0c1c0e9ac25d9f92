from __future__ import annotations

import numpy as np
import pytest

from automl_backend.nas import CellSpace, MLPSpace, NASError, SearchSpace
from automl_backend.nas._space import cell_edges


def test_mlp_genomes_decode_to_architectures_and_back() -> None:
    space = SearchSpace(MLPSpace())
    rng = np.random.default_rng(0)
    for _ in range(50):
        g = space.sample(rng)
        arch = space.to_arch(g)
        assert len(arch["widths"]) == arch["depth"]
        assert space.from_arch(arch) == g


def test_inactive_decisions_do_not_make_different_architectures() -> None:
    space = SearchSpace(MLPSpace(depths=[1, 2], widths=[8, 16]))
    shallow_a = space.canonical((0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    shallow_b = space.canonical((0, 0, 1, 0, 0, 0, 1, 0, 0, 0))  # width_1, residual unused
    assert space.key(shallow_a) == space.key(shallow_b)


def test_mutation_changes_exactly_one_active_decision() -> None:
    space = SearchSpace(CellSpace())
    rng = np.random.default_rng(1)
    g = space.sample(rng)
    for _ in range(30):
        child = space.mutate(g, rng)
        assert sum(a != b for a, b in zip(g, child, strict=True)) == 1
        assert space.is_valid(child)
        g = child


def test_cell_node_without_a_real_input_is_invalid() -> None:
    space = SearchSpace(CellSpace(nodes=2))
    arch = space.to_arch(space.sample(np.random.default_rng(0)))
    edges = cell_edges(2)
    arch["normal"] = ["zero" if node == 1 else "conv3x3" for node, _ in edges]
    assert not space.is_valid(space.from_arch(arch))


def test_constraint_that_rejects_everything_is_a_clear_error() -> None:
    space = SearchSpace(MLPSpace(), constraint=lambda arch: False)
    with pytest.raises(NASError, match="no valid architecture"):
        space.sample(np.random.default_rng(0))


def test_pinned_decisions_never_change() -> None:
    space = SearchSpace(CellSpace()).with_fixed({"channels": 1})
    rng = np.random.default_rng(2)
    assert all(space.to_arch(space.sample(rng))["channels"] == 16 for _ in range(20))
    assert space.index["channels"] not in space.free()
