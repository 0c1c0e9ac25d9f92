"""The run's checkpointer: LangGraph's SqliteSaver (or PostgresSaver) with an explicit
deserialisation allowlist.

Checkpoints hold our pydantic records; naming the types that may be rebuilt (instead of
LangGraph's permissive default, which warns and will be locked down) keeps a checkpoint
file from instantiating anything else, and keeps the CLI's output free of warnings.
A file SQLite cannot read (damaged, or not a database at all) is a one-line
:class:`CheckpointError`, not a traceback; so is a PostgreSQL server that cannot be reached.
"""

from __future__ import annotations

import pathlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agents import _human, _messages
from agents._effects import Effect
from agents._guard import CoScientistError
from automl_backend import DatasetProfile, ExperimentResult, ExperimentSpec, TrialConfig
from automl_backend.distributed import redact

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


# ---------------------------------------------------------------- PostgreSQL

_SETUP_LOCK = 0x636F736369
"""PostgreSQL advisory lock held while the checkpoint tables are created: two runs
starting at once on a new database would otherwise race in LangGraph's migrations."""


def _postgres_error(url: str, exc: BaseException) -> CheckpointError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = ""
    if "password" in first.lower():
        hint = " (a run keeps no password: give it in PGPASSWORD or ~/.pgpass)"
    return CheckpointError(f"cannot use the checkpoints at {redact(url)}: {first}{hint}")


@contextmanager
def open_postgres_checkpointer(url: str) -> Iterator[Any]:
    """LangGraph's PostgresSaver on the database ``url`` (tables created if missing),
    closed on exit. An unreachable server, or a database error while it is in use, is a
    :class:`CheckpointError` without the URL's password."""
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError:
        raise CheckpointError(
            "checkpoints on PostgreSQL need langgraph-checkpoint-postgres: "
            "pip install 'cosci-automl[postgres]'"
        ) from None
    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except (psycopg.Error, ValueError) as exc:
        raise _postgres_error(url, exc) from None
    try:
        saver = PostgresSaver(conn, serde=serializer())
        conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        yield saver
    except psycopg.Error as exc:
        raise _postgres_error(url, exc) from None
    finally:
        conn.close()


def has_checkpoints(saver: Any, thread_id: str) -> bool:
    """Whether an opened saver holds a checkpoint of ``thread_id``."""
    return any(True for _ in saver.list({"configurable": {"thread_id": thread_id}}, limit=1))
