from __future__ import annotations

import copy
import io

import numpy as np
import pytest
import torch

from automl_backend.compression import (
    distill_student,
    magnitude_prune,
    quantize_int8,
    structured_prune_mlp,
)
from automl_backend.compression._prune import fine_tune_masked, prunable
from automl_backend.compression._storage import (
    compact_size_kb,
    load_compact,
    save_compact,
    weight_arrays,
)
from automl_backend.nas._train import accuracy


def test_magnitude_pruning_hits_the_sparsity_and_fine_tuning_keeps_zeros(
    trained_mlp, digits_data
) -> None:
    net = copy.deepcopy(trained_mlp)
    masks = magnitude_prune(net, 0.8)
    weights = torch.cat([w.detach().flatten() for w in prunable(net).values()])
    assert abs(float((weights == 0).float().mean()) - 0.8) < 0.01
    fine_tune_masked(net, digits_data[0], masks, epochs=2, lr=1e-3, batch_size=64, seed=0)
    for name, w in prunable(net).items():
        assert torch.all(w[~masks[name]] == 0)
    assert accuracy(net, digits_data[1]) > 0.85


def test_pruned_weights_are_stored_smaller_and_load_back_exactly(trained_mlp) -> None:
    net = copy.deepcopy(trained_mlp)
    dense_kb = compact_size_kb(net)
    magnitude_prune(net, 0.9)
    assert compact_size_kb(net) < dense_kb / 3
    buf = io.BytesIO()
    save_compact(net, buf)
    buf.seek(0)
    loaded = load_compact(buf)
    for key, value in net.state_dict().items():
        assert np.array_equal(loaded[key], value.numpy())


def test_structured_pruning_removes_neurons_and_keeps_residual_joins(
    trained_mlp, digits_data
) -> None:
    same = structured_prune_mlp(trained_mlp, 0.0)
    x = digits_data[1].X[:20]
    trained_mlp.eval()
    assert torch.allclose(same(x), trained_mlp(x), atol=1e-5)
    small = structured_prune_mlp(trained_mlp, 0.5)
    assert small.arch["widths"] == [64, 64]  # identity residual: both layers keep the same set
    assert compact_size_kb(small) < 0.5 * compact_size_kb(trained_mlp)
    assert small(x).shape == (20, 10)


def test_int8_quantization_shrinks_linear_layers_and_stays_accurate(
    trained_mlp, digits_data
) -> None:
    q = quantize_int8(trained_mlp)
    arrays = weight_arrays(q)
    assert any(a.dtype == np.int8 for a in arrays.values())
    assert compact_size_kb(q) < 0.4 * compact_size_kb(trained_mlp)
    assert abs(accuracy(q, digits_data[1]) - accuracy(trained_mlp, digits_data[1])) < 0.02


def test_distilled_student_learns_from_soft_labels(trained_mlp, digits_data) -> None:
    train, test = digits_data
    with torch.no_grad():
        proba = torch.softmax(trained_mlp.eval()(train.X), 1).numpy()
    student = distill_student(proba, train, [32], epochs=15, seed=0)
    assert student.arch["widths"] == [32]
    assert accuracy(student, test) > 0.85
    with pytest.raises(ValueError, match="one row of teacher probabilities"):
        distill_student(proba[:10], train, [8], epochs=1)
