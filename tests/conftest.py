"""Suite-wide fixtures: an isolated cosci home and offline model hubs for every test, and
a real PostgreSQL server for the tests that ask for one (``postgres``, ``database``): a
cluster initdb'ed in a temporary folder, on a free loopback port, stopped afterwards.

PostgreSQL refuses to run as root, so as root the server runs as ``nobody``. Missing
server binaries fail the tests (they do not skip): ``make install`` installs Debian's
``postgresql`` package.

Also the test-only fakes (``fakes`` fixture, ``import cosci_test_fakes``).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_fakes() -> ModuleType:
    """tests/agents/fakes.py as the module ``cosci_test_fakes`` (the suite has no packages
    to import it from). Loaded when this conftest is, so test modules can write
    ``import cosci_test_fakes as fakes``."""
    name = "cosci_test_fakes"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parent / "agents" / "fakes.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


load_fakes()


@pytest.fixture(scope="session")
def fakes() -> ModuleType:
    """The test-only fakes module (ScriptedFakeLLM and helpers)."""
    return load_fakes()


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


# ---------------------------------------------------------------- PostgreSQL

_USER = "cosci"


def _bin_dir() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them off PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    folder: Path
    port: int
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its connection string."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: `make install` installs "
            "Debian's postgresql package (apt-get install -y postgresql)",
            pytrace=False,
        )
    as_user: list[str] = []
    # Outside pytest's private temporary folder, which an unprivileged server cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="cosci-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "nobody", "--"]
        shutil.chown(folder, user="nobody")
    initdb = [
        *as_user, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", _USER,
        "--auth=trust", "-E", "UTF8", "--no-sync",
    ]  # fmt: skip
    done = subprocess.run(initdb, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {done.stderr.strip()[-500:]}", pytrace=False)
    server = PostgresServer(bin_dir, folder, _free_port(), as_user)
    options = (
        f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c max_connections=200"
    )
    try:
        server.pg_ctl("-o", options, "-l", str(folder / "server.log"), "-w", "start")
    except subprocess.CalledProcessError:
        log = (folder / "server.log").read_text(errors="replace")[-800:]
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {log}", pytrace=False)
    try:
        yield server
    finally:
        try:
            server.pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    """A fresh database on the session's server: its connection string."""
    return postgres.create_database()
