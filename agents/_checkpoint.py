"""The run's checkpointer: LangGraph's SqliteSaver with an explicit deserialisation allowlist.

Checkpoints hold our pydantic records; naming the types that may be rebuilt (instead of
LangGraph's permissive default, which warns and will be locked down) keeps a checkpoint
file from instantiating anything else, and keeps the CLI's output free of warnings.
"""

from __future__ import annotations

import pathlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agents import _human, _messages
from automl_backend import DatasetProfile, ExperimentResult, ExperimentSpec, TrialConfig

_ALLOWED: tuple[type, ...] = (
    _messages.Budgets,
    _messages.ResearchPlan,
    _messages.Prediction,
    _messages.Hypothesis,
    _messages.Review,
    _messages.Match,
    _messages.EloSnapshot,
    _messages.MetaReview,
    _messages.ExperimentTask,
    _human.ReviewRequest,
    DatasetProfile,
    ExperimentResult,
    ExperimentSpec,
    TrialConfig,
    pathlib.Path,
    pathlib.PosixPath,
    pathlib.PurePosixPath,
)


def serializer() -> JsonPlusSerializer:
    """The checkpoint serializer allowing exactly the co-scientist's state types."""
    return JsonPlusSerializer(allowed_msgpack_modules=_ALLOWED)


@contextmanager
def open_checkpointer(path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on ``path`` (created if missing), closed on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serializer())
    finally:
        conn.close()
