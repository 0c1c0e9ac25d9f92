"""The embedded model, for real: converted once per test session, then shared.

Everything here loads SmolLM2-135M (about 20 s to convert the GGUF, then a few seconds per
answer on one thread), so it is all marked slow; no other test loads the model. The shared
LLMClient contract runs against it in ``test_contract.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from agents.llm import ChatMessage, LocalLLM, local_model_status
from agents.llm._local_model import find_gguf

pytestmark = pytest.mark.slow


def _cache_dir() -> Path:
    # tests/conftest.py points COSCI_HOME at one temporary folder for the whole session.
    return Path(os.environ["COSCI_HOME"]) / "models"


class Metric(BaseModel):
    name: Literal["accuracy", "roc_auc", "f1", "log_loss"]
    higher_is_better: bool


class Experiment(BaseModel):
    hypothesis: str = Field(max_length=120)
    family: Literal["lightgbm", "random_forest", "logistic_regression", "mlp"]
    metric: Metric
    max_depth: int = Field(ge=1, le=12)
    learning_rate: float = Field(ge=0.001, le=0.3)
    features_to_drop: list[str] = Field(max_length=3)
    notes: str | None = None


def test_nested_schema_gives_a_valid_instance(local_llm: LocalLLM) -> None:
    messages = [
        ChatMessage(role="system", content="You design machine-learning experiments."),
        ChatMessage(
            role="user",
            content="Data: 569 rows, 30 numeric features, binary target (malignant or not). "
            "Propose one experiment.",
        ),
    ]
    completion = local_llm.complete(messages, Experiment, role="generation")
    experiment = completion.parsed_as(Experiment)
    assert Experiment.model_validate(experiment.model_dump()) == experiment
    assert 0.001 <= experiment.learning_rate <= 0.3
    assert completion.model == "SmolLM2-135M-Instruct"


def test_plain_text_respects_the_token_cap(local_llm: LocalLLM) -> None:
    completion = local_llm.complete(
        [ChatMessage(role="user", content="What is cross-validation?")], max_tokens=24
    )
    assert completion.parsed is None
    assert 0 < completion.completion_tokens <= 24
    assert completion.text


def test_model_is_converted_once_and_shared(local_llm: LocalLLM) -> None:
    loaded = local_llm.load()
    assert LocalLLM(_cache_dir()).load() is loaded
    status = local_model_status(_cache_dir())
    assert status.converted
    assert status.gguf_path == find_gguf()
    assert loaded.source == status.converted_path
    assert (loaded.source / "model.safetensors").is_file()
    assert not list(_cache_dir().glob(".*tmp*")), "no staging folder may be left behind"
