"""Nothing cosci does on its own may touch the network: non-loopback sockets are refused.

The guard patches the socket layer (connect, connect_ex, create_connection, getaddrinfo)
and records every attempt, because libraries such as telemetry clients swallow the error;
a test passes only if nothing was even attempted. Loopback stays open for local servers.

Each area is exercised if it is importable, so this file keeps working while packages are
still being written: a missing piece skips its own test, never the others.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _is_local(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return True  # AF_UNIX paths and the like
    name = host.decode() if isinstance(host, bytes) else host
    if name in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def guarded_socket_functions(attempts: list[str]) -> dict[str, Callable[..., Any]]:
    """Replacements for the socket functions that refuse and record non-loopback use."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return OSError(f"network access blocked by the offline test: {what}")

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise refuse(f"connect {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise refuse(f"connect_ex {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_local(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"name resolution blocked by the offline test: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _is_local(address[0]):
            raise refuse(f"create_connection {address!r}")
        return real_create_connection(address, *args, **kwargs)

    return {
        "socket.connect": connect,
        "socket.connect_ex": connect_ex,
        "getaddrinfo": getaddrinfo,
        "create_connection": create_connection,
    }


def install_guard() -> list[str]:
    """Install the guard for the rest of the process (used in the fresh subprocess)."""
    attempts: list[str] = []
    fns = guarded_socket_functions(attempts)
    socket.socket.connect = fns["socket.connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = fns["socket.connect_ex"]  # type: ignore[method-assign]
    socket.getaddrinfo = fns["getaddrinfo"]
    socket.create_connection = fns["create_connection"]
    return attempts


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Block non-loopback sockets for one test; yields the list of attempts made."""
    attempts: list[str] = []
    fns = guarded_socket_functions(attempts)
    monkeypatch.setattr(socket.socket, "connect", fns["socket.connect"])
    monkeypatch.setattr(socket.socket, "connect_ex", fns["socket.connect_ex"])
    monkeypatch.setattr(socket, "getaddrinfo", fns["getaddrinfo"])
    monkeypatch.setattr(socket, "create_connection", fns["create_connection"])
    yield attempts


def test_the_guard_blocks_remote_hosts_and_allows_loopback(network_attempts: list[str]) -> None:
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1, never routed
    with pytest.raises(OSError, match="blocked"):
        socket.getaddrinfo("example.org", 443)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=1):
        pass
    server.close()
    assert len(network_attempts) == 2


def _require(module: str, attribute: str) -> Any:
    """The named object, or skip this test when that part of cosci is not there yet."""
    mod = pytest.importorskip(module)
    if not hasattr(mod, attribute):
        pytest.skip(f"{module}.{attribute} does not exist yet")
    return getattr(mod, attribute)


def test_memory_add_and_query_offline(network_attempts: list[str], tmp_path: Path) -> None:
    store_class = _require("memory", "MemoryStore")
    note = tmp_path / "note.md"
    note.write_text("# Offline\n\nBOHB combines Hyperband with a TPE-like model.\n", "utf-8")
    store = store_class(path=tmp_path / "store", corpus_dir=None)
    store.ingest([note])
    hits = store.search_literature("Hyperband with a model", k=1)
    assert hits[0].title == "Offline"
    assert network_attempts == []


def test_backend_dataset_and_profile_offline(network_attempts: list[str]) -> None:
    load_dataset = _require("automl_backend", "load_dataset")
    dataset = load_dataset("sklearn:wine")
    assert len(dataset.X) == 178
    profile_dataset = _require("automl_backend", "profile_dataset")
    assert profile_dataset(dataset).n_classes == 3
    assert network_attempts == []


_FRESH_PROCESS = textwrap.dedent(
    """
    import json, runpy, sys, pathlib
    attempts = runpy.run_path(sys.argv[1])["install_guard"]()
    import torch; torch.set_num_threads(1)
    done = []
    import memory
    corpus = pathlib.Path(sys.argv[2])
    store = memory.MemoryStore(path=sys.argv[3], corpus_dir=corpus)
    assert store.search_literature("weight sharing super-network", k=1)[0].title == "One-shot"
    done.append("memory")
    try:
        from automl_backend import load_dataset, profile_dataset
    except ImportError:
        pass
    else:
        profile = profile_dataset(load_dataset("sklearn:wine"))
        assert store.similar_runs(profile, 3) == []
        done.append("automl_backend")
    print(json.dumps({"attempts": attempts, "done": done}))
    """
)


@pytest.mark.slow
def test_a_fresh_process_loads_models_and_stores_offline(tmp_path: Path) -> None:
    """Cold start (model load, chromadb start-up, telemetry set-up) with the guard in place."""
    pytest.importorskip("memory")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "nas-one-shot.md").write_text(
        "# One-shot\n\nA super-network shares weights between all candidate architectures.\n",
        encoding="utf-8",
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    # Without the hub's offline switches: the code itself must not reach for the network.
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, __file__, str(corpus), str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []
    assert "memory" in out["done"]
