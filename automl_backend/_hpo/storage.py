"""Storages that several processes share: an Optuna RDB storage and an artifact store.

A study on a database server (PostgreSQL, MySQL) can be joined by processes on other
machines. Every process opens it with heartbeats: a process that dies mid-trial stops
beating, and the next process to look marks its trial failed and enqueues a retry of
the same configuration (Optuna's ``RetryHeartbeatStaleTrialCallback``).

Files the processes exchange (the problem, out-of-fold predictions) go to an Optuna
artifact store: a shared folder (``FileSystemArtifactStore``), or, by default, a table
in the study's own database, so workers need nothing but the connection string.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any, BinaryIO

from automl_backend._errors import BackendError

HEARTBEAT_INTERVAL_S = 2
"""Seconds between heartbeats of a running trial."""
GRACE_PERIOD_S = 6
"""A trial without a heartbeat for this long belongs to a dead process."""
MAX_RETRY = 2
"""Retries of a dead process's trial before it is left failed."""
_ARTIFACT_TABLE = "cosci_artifacts"


def is_shared_storage(url: str | None) -> bool:
    """True for a database server URL (other processes may join); SQLite and None are local."""
    return url is not None and not url.startswith("sqlite") and "://" in url


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` names the psycopg2 driver in SQLAlchemy; use psycopg 3 when that
    is the one installed (the ``postgres`` extra installs psycopg 3)."""
    if url.startswith(("postgres://", "postgresql://")):
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None:
            return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _driver_missing(exc: BaseException) -> bool:
    return isinstance(exc, ModuleNotFoundError) or "No module named" in str(exc)


def open_storage(url: str, *, heartbeat_interval: int = HEARTBEAT_INTERVAL_S,
                 grace_period: int = GRACE_PERIOD_S) -> Any:  # fmt: skip
    """An Optuna RDB storage at ``url`` with heartbeats and retry of dead processes' trials.

    Raises :class:`BackendError` (one line) when the server cannot be reached.
    """
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return RDBStorage(
                sqlalchemy_url(url),
                engine_kwargs={"pool_pre_ping": False},
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRY
                ),
            )
        except Exception as exc:
            if _driver_missing(exc):
                raise BackendError(
                    "a PostgreSQL storage needs psycopg: pip install 'cosci-automl[postgres]'"
                ) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise BackendError(
                f"cannot open Optuna storage {redact(url)}: {type(exc).__name__}: {first}"
            ) from None


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


class DatabaseArtifactStore:
    """An Optuna artifact store in one table of the study's database (no shared folder)."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self._engine = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True)
        self._table = sa.Table(
            _ARTIFACT_TABLE,
            sa.MetaData(),
            sa.Column("artifact_id", sa.String(128), primary_key=True),
            sa.Column("body", sa.LargeBinary, nullable=False),
        )
        self._table.metadata.create_all(self._engine, checkfirst=True)

    def open_reader(self, artifact_id: str) -> BinaryIO:
        import sqlalchemy as sa

        with self._engine.connect() as connection:
            body = connection.execute(
                sa.select(self._table.c.body).where(self._table.c.artifact_id == artifact_id)
            ).scalar_one_or_none()
        if body is None:
            from optuna.artifacts.exceptions import ArtifactNotFound

            raise ArtifactNotFound(f"artifact {artifact_id} not found")
        return io.BytesIO(body)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                self._table.insert().values(artifact_id=artifact_id, body=content_body.read())
            )

    def remove(self, artifact_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(self._table.delete().where(self._table.c.artifact_id == artifact_id))


def open_artifact_store(storage_url: str, folder: str | Path | None = None) -> Any:
    """A shared folder's store when ``folder`` is given, else the database's own table."""
    if folder is not None:
        from optuna.artifacts import FileSystemArtifactStore

        path = Path(folder).expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot use artifact folder {path}: {exc.strerror}") from None
        return FileSystemArtifactStore(str(path))
    return DatabaseArtifactStore(storage_url)
