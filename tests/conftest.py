"""Suite-wide fixtures: an isolated cosci home and offline model hubs for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cosci_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point COSCI_HOME at a temporary folder so tests never touch the user's files.

    Session-scoped so the embedded model's converted copy is made at most once per run.
    """
    home = tmp_path_factory.mktemp("cosci-home")
    old = os.environ.get("COSCI_HOME")
    os.environ["COSCI_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("COSCI_HOME", None)
    else:
        os.environ["COSCI_HOME"] = old
