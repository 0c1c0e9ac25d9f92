"""Compression tests run single-threaded on small digits slices."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits_data():
    from sklearn.datasets import load_digits

    from automl_backend.nas._train import TensorData

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return (
        TensorData.from_numpy(X[:1200], y[:1200], torch.device("cpu")),
        TensorData.from_numpy(X[1200:], y[1200:], torch.device("cpu")),
    )


@pytest.fixture(scope="session")
def trained_mlp(digits_data):
    """A two-layer MLP trained for a few epochs (about 0.95 accuracy)."""
    from automl_backend.nas._models import build_model
    from automl_backend.nas._train import train

    torch.manual_seed(0)
    arch = {
        "kind": "mlp",
        "depth": 2,
        "widths": [128, 128],
        "activation": "relu",
        "norm": "batch",
        "dropout": 0.0,
        "residual": True,
        "lr": 3e-3,
        "weight_decay": 0.0,
        "batch_size": 64,
    }
    net = build_model(arch, (64,), 10)
    train(net, digits_data[0], epochs=8, lr=3e-3, weight_decay=0.0, batch_size=64, seed=0)
    return net
