from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_backend.nas import CellSpace, MLPSpace, SearchSpace
from automl_backend.nas._models import build_model, build_supernet, inherit_weights
from automl_backend.nas._train import TensorData, accuracy, configure_torch, count_params, train
from automl_backend.nas.strategies._darts import discretise
from automl_backend.nas.strategies._spos import pinned_space


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
def test_mlp_subnet_with_inherited_weights_equals_the_supernet_path(norm: str) -> None:
    space = SearchSpace(MLPSpace(norms=[norm]))
    rng = np.random.default_rng(0)
    supernet = build_supernet(space.config, {}, (12,), 3)
    x = torch.randn(7, 12)
    supernet.train()
    for _ in range(3):  # give batch norm non-trivial running statistics
        supernet(torch.randn(32, 12), space.to_arch(space.sample(rng)))
    supernet.eval()
    for _ in range(5):
        arch = space.to_arch(space.sample(rng))
        sub = build_model(arch, (12,), 3)
        inherit_weights(sub, supernet.state_dict())
        sub.eval()
        assert torch.allclose(supernet(x, arch), sub(x), atol=1e-5)


def test_cell_subnet_with_inherited_weights_equals_the_supernet_path() -> None:
    space = pinned_space(SearchSpace(CellSpace(channels=[4], normal_cells=[1])))
    rng = np.random.default_rng(0)
    template = space.to_arch(space.sample(rng))
    supernet = build_supernet(space.config, template, (1, 8, 8), 10).eval()
    arch = space.to_arch(space.sample(rng))
    sub = build_model(arch, (1, 8, 8), 10).eval()
    assert set(sub.state_dict()) <= set(supernet.state_dict())
    inherit_weights(sub, supernet.state_dict())
    x = torch.randn(3, 64)
    assert torch.allclose(supernet(x, arch), sub(x), atol=1e-5)
    assert count_params(sub) < count_params(supernet)


def test_darts_mixture_runs_and_reaches_every_parameterised_op() -> None:
    space = pinned_space(SearchSpace(CellSpace(channels=[4], normal_cells=[1], nodes=2)))
    template = space.to_arch(space.sample(np.random.default_rng(0)))
    net = build_supernet(space.config, template, (1, 8, 8), 10)
    n_edges, n_ops = len(template["normal"]), len(space.config.operations)
    weights = {
        c: torch.softmax(torch.zeros(n_edges, n_ops, requires_grad=True), -1)
        for c in ("normal", "reduce")
    }
    net(torch.randn(4, 64), weights=weights).sum().backward()
    convs = [p for n, p in net.named_parameters() if ".ops.conv3x3." in n]
    assert convs and all(p.grad is not None for p in convs)


def test_discretise_keeps_two_inputs_per_node_and_caps_skips() -> None:
    ops = ["conv3x3", "skip", "zero"]
    w = np.array([[0.1, 0.8, 0.1]] * 5)  # every edge prefers skip (2 nodes: 2 + 3 edges)
    w[4] = [0.05, 0.05, 0.9]  # node 1's third edge is weakest
    chosen, replaced = discretise(w, ops, nodes=2, max_skips=None)
    assert chosen.count("skip") == 4 and chosen[4] == "zero"
    capped, replaced = discretise(w, ops, nodes=2, max_skips=1)
    assert capped.count("skip") == 1 and replaced == 3
    assert capped.count("conv3x3") == 3


def test_training_is_reproducible_and_learns(digits) -> None:
    X, y = digits
    data = TensorData.from_numpy(X / 16.0, y, torch.device("cpu"))
    arch = SearchSpace(MLPSpace()).to_arch((0,) * 12)
    results = []
    for _ in range(2):
        configure_torch(1, 5)
        net = build_model(arch, (64,), 10)
        train(net, data, epochs=5, lr=1e-2, weight_decay=0.0, batch_size=32, seed=5)
        results.append((accuracy(net, data), [p.detach().clone() for p in net.parameters()]))
    assert results[0][0] > 0.8
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1], strict=True))
