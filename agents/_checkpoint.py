"""The run's checkpointer: LangGraph's SqliteSaver with an explicit deserialisation allowlist.

Checkpoints hold our pydantic records; naming the types that may be rebuilt (instead of
LangGraph's permissive default, which warns and will be locked down) keeps a checkpoint
file from instantiating anything else, and keeps the CLI's output free of warnings.
A file SQLite cannot read (damaged, or not a database at all) is a one-line
:class:`CheckpointError`, not a traceback.
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
from agents._effects import Effect
from agents._guard import CoScientistError
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
    _messages.ArmCost,
    _messages.NextAction,
    Effect,
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


class CheckpointError(CoScientistError):
    """A checkpoint file that cannot be read or written."""


def _as_checkpoint_error(path: Path, exc: sqlite3.DatabaseError) -> CheckpointError:
    if isinstance(exc, sqlite3.OperationalError):  # locked, disk full, unreadable, ...
        return CheckpointError(f"cannot use the checkpoints {path}: {exc}")
    return CheckpointError(
        f"the checkpoints {path} are damaged ({exc}); the run cannot continue from them: "
        "start a new run"
    )


def count_checkpoints(path: Path) -> int:
    """How many checkpoints ``path`` holds: 0 when it is missing, empty or never written."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    try:
        conn = sqlite3.connect(str(path))
    except sqlite3.DatabaseError as exc:
        raise _as_checkpoint_error(path, exc) from None
    try:
        tables = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='checkpoints'"
        ).fetchall()
        if not tables:
            return 0
        return int(conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise _as_checkpoint_error(path, exc) from None
    finally:
        conn.close()


@contextmanager
def open_checkpointer(path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on ``path`` (created if missing), closed on exit.

    SQLite errors raised while it is in use, inside the ``with`` block, become a
    :class:`CheckpointError`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False)
    except sqlite3.DatabaseError as exc:
        raise _as_checkpoint_error(path, exc) from None
    try:
        yield SqliteSaver(conn, serde=serializer())
    except sqlite3.DatabaseError as exc:
        raise _as_checkpoint_error(path, exc) from None
    finally:
        conn.close()
