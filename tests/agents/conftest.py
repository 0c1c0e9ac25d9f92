"""Fixtures for the co-scientist tests: the scripted fake LLM, tiny data, tiny budgets."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


def load_fakes() -> ModuleType:
    """tests/agents/fakes.py as a module (the suite has no packages to import it from)."""
    name = "cosci_test_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fakes() -> ModuleType:
    return load_fakes()


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
