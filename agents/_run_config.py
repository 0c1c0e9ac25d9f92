"""What a co-scientist run was asked to do (run.json), and the checks on the databases it
names: a run directory stores their URLs without a password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from agents._context import RunContext
from automl_backend import BackendError
from automl_backend.distributed import is_shared_storage, open_storage, redact

THREAD_ID = "cosci"
"""One run directory holds one LangGraph thread."""


class RunConfig(BaseModel):
    """What a run was asked to do; saved as run.json so resume and replay repeat it."""

    model_config = ConfigDict(extra="forbid")
    goal: str = Field(min_length=1)
    data: str
    """What ``load_dataset`` was given: a path or a built-in name."""
    target: str | None = None
    context: RunContext
    use_memory: bool = True
    replay_of: str | None = None
    """Run directory whose LLM and memory logs this run replays."""
    storage: str | None = None
    """Database server URL (``postgresql://...``) of the experiments' Optuna studies,
    which ``cosci worker`` processes join; None: each experiment keeps its own study."""
    study_prefix: str | None = None
    """The experiments' study names start with this (``<run folder>/``) when ``storage``
    is set: ``cosci worker --follow`` takes it."""
    checkpointer: str | None = None
    """PostgreSQL URL of the LangGraph checkpoints; None: checkpoints.sqlite."""
    thread_id: str = THREAD_ID
    """The run's LangGraph thread: its own on a shared PostgreSQL checkpointer."""
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


Status = Literal["new", "waiting_for_review", "finished", "stopped"]


def without_password(url: str) -> str:
    """``url`` with no password (``user:secret@`` becomes ``user@``, ``password=`` is
    dropped from the query): what a run directory stores."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key.lower() == "password" for key, _ in pairs):
        query = urlencode([(k, v) for k, v in pairs if k.lower() != "password"])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def check_storage(url: str, prefix: str) -> None:
    """Refuse a storage that is not a reachable database server, or that holds studies
    of another run of the same folder name."""
    import optuna

    if not is_shared_storage(url):
        raise BackendError(
            f"--storage {redact(url)} is not a database server: give a postgresql:// URL "
            "(without --storage each experiment keeps its own study in its folder)"
        )
    names = optuna.get_all_study_names(open_storage(url))
    taken = sorted(name for name in names if name.startswith(prefix))
    if taken:
        raise BackendError(
            f"{redact(url)} already holds studies of a run named {prefix.rstrip('/')!r} "
            f"({', '.join(taken[:3])}); choose another --out folder name"
        )
