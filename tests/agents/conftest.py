"""Fixtures for the co-scientist tests: the scripted fake LLM, tiny data, tiny budgets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def linear_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 rows whose class is a linear function of 4 of 16 features: logistic regression
    separates it almost perfectly, k-NN drowns in the noise features."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 16))
    y = (X[:, 0] + X[:, 1] - X[:, 2] + 0.5 * X[:, 3] > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(16)])
    frame["label"] = np.where(y == 1, "yes", "no")
    path = tmp_path_factory.mktemp("data") / "linear.csv"
    frame.to_csv(path, index=False)
    return path
