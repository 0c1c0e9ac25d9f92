"""NAS tests run single-threaded on tiny slices of sklearn digits."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """360 rows (36 per class) of the 8×8 digits, as flat 64-value rows."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:36] for c in range(10)])
    return X[rows], y[rows]
