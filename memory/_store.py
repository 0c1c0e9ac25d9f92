"""MemoryStore: the chromadb-backed memory (literature passages and the runs ledger).

Its core is two methods, :meth:`MemoryStore.add` and :meth:`MemoryStore.query`; the
literature and runs operations are thin layers over them in ``_literature`` and ``_runs``.
chromadb is imported only when the store is first used, so importing this is cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel

from memory import _literature, _runs
from memory._collections import COLLECTIONS, LITERATURE, RUNS, Hit
from memory._embedding import embed_texts
from memory._errors import MemoryStoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from automl_backend import DatasetProfile
    from memory._literature import IngestReport
    from memory._records import LiteratureHit, RunRecord, SimilarRun

SHIPPED_CORPUS = Path(__file__).resolve().parent / "corpus"


class StoreStats(BaseModel):
    """What a store holds."""

    location: str
    literature_chunks: int
    corpus_chunks: int
    user_chunks: int
    user_sources: list[str]
    runs: int


class MemoryStore:
    """Vector memory over chromadb: a PersistentClient under ``path``, or a server at ``url``.

    ``corpus_dir`` is the folder of shipped ``*.md`` notes loaded into the literature
    collection on first search (None: no corpus). Nothing is fetched from the network
    except the chromadb server itself when ``url`` is given; telemetry is off.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        url: str | None = None,
        *,
        corpus_dir: Path | None = SHIPPED_CORPUS,
    ) -> None:
        if (path is None) == (url is None):
            raise MemoryStoreError("a memory store needs exactly one of a folder path or a URL")
        self._path = Path(path).expanduser() if path is not None else None
        self._url = url
        self._corpus_dir = corpus_dir
        self._client_instance: ClientAPI | None = None
        self._collections: dict[str, Collection] = {}
        self._corpus_current = False

    def __repr__(self) -> str:
        return f"MemoryStore({self.location})"

    @property
    def location(self) -> str:
        return str(self._path) if self._path is not None else str(self._url)

    # ------------------------------------------------------------------ core

    def add(
        self,
        collection: str,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        embeddings: np.ndarray | None = None,
    ) -> None:
        """Insert or replace items by id, embedding ``texts`` unless ``embeddings`` are given.

        Embedding happens before anything is written, so a failure leaves the store as it was.
        """
        if not (len(ids) == len(texts) == len(metadatas)):
            raise ValueError("ids, texts and metadatas must have the same length")
        if not ids:
            return
        vectors = embed_texts(texts) if embeddings is None else np.asarray(embeddings)
        if vectors.shape[0] != len(ids):
            raise ValueError("one embedding per item is needed")
        col = self._collection(collection)
        batch = self._client().get_max_batch_size()
        with self._chroma_errors(f"write to {collection!r}"):
            for start in range(0, len(ids), batch):
                stop = start + batch
                col.upsert(
                    ids=list(ids[start:stop]),
                    documents=list(texts[start:stop]),
                    metadatas=[dict(m) for m in metadatas[start:stop]],
                    embeddings=vectors[start:stop],
                )

    def query(
        self, collection: str, text: str, k: int = 5, where: Mapping[str, Any] | None = None
    ) -> list[Hit]:
        """The ``k`` stored items closest in meaning to ``text``, optionally filtered by metadata."""
        if not text or not text.strip():
            raise MemoryStoreError("the search query is empty")
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1, got {k}")
        col = self._collection(collection)
        total = self.count(collection)
        if total == 0:
            raise MemoryStoreError(
                f"the {collection!r} collection in {self.location} is empty; nothing to search"
            )
        with self._chroma_errors(f"search {collection!r}"):
            found = col.query(
                query_texts=[text],
                n_results=min(k, total),
                where=dict(where) if where else None,
                include=["documents", "metadatas", "distances"],
            )
        return [
            Hit(id=i, text=doc or "", metadata=dict(meta or {}), distance=float(dist))
            for i, doc, meta, dist in zip(
                found["ids"][0],
                (found["documents"] or [[]])[0],
                (found["metadatas"] or [[]])[0],
                (found["distances"] or [[]])[0],
                strict=True,
            )
        ]

    def count(self, collection: str) -> int:
        with self._chroma_errors(f"count {collection!r}"):
            return int(self._collection(collection).count())

    def get_metadatas(
        self,
        collection: str,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Metadata of the items matching ``where`` (no embedding involved)."""
        with self._chroma_errors(f"read {collection!r}"):
            found = self._collection(collection).get(
                where=dict(where) if where else None, limit=limit, include=["metadatas"]
            )
        return [dict(m or {}) for m in found["metadatas"] or []]

    def delete(
        self,
        collection: str,
        *,
        ids: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        """Remove items by id or by metadata filter."""
        if ids is None and where is None:
            raise ValueError("delete needs ids or where; refusing to empty a collection")
        with self._chroma_errors(f"delete from {collection!r}"):
            self._collection(collection).delete(
                ids=list(ids) if ids is not None else None,
                where=dict(where) if where is not None else None,
            )

    # ------------------------------------------------------------ literature

    def load_corpus(self) -> int:
        """Load the shipped notes if they are missing or changed; returns chunks written."""
        if self._corpus_dir is None or self._corpus_current:
            return 0
        written = _literature.load_corpus(self, self._corpus_dir)
        self._corpus_current = True
        return written

    def search_literature(
        self, query: str, k: int = 5, where: Mapping[str, Any] | None = None
    ) -> list[LiteratureHit]:
        """Passages from the shipped notes and the user's documents closest to ``query``.

        ``where`` filters on metadata, e.g. ``{"topic": "hpo"}`` or ``{"kind": "user"}``.
        """
        self.load_corpus()
        return _literature.search_literature(self, query, k, where)

    def ingest(self, paths: Sequence[Path | str]) -> IngestReport:
        """Add .md, .txt and .pdf files (folders: every such file below), chunked.

        Every file is read and embedded before anything is stored, so one bad file leaves
        the store as it was. Re-adding a file replaces its earlier chunks.
        """
        return _literature.ingest(self, [Path(p) for p in paths])

    # ------------------------------------------------------------------ runs

    def record_run(self, record: RunRecord) -> None:
        """Add a finished experiment to the runs ledger (same run_id: replaced)."""
        _runs.record_run(self, record)

    def similar_runs(self, profile: DatasetProfile, k: int = 5) -> list[SimilarRun]:
        """Best configuration per past data set, nearest data sets first (warm start)."""
        return _runs.similar_runs(self, profile, k)

    def search_runs(self, text: str, k: int = 5) -> list[SimilarRun]:
        """Past runs whose hypothesis and data set read closest to ``text`` (novelty checks)."""
        return _runs.search_runs(self, text, k)

    def stats(self) -> StoreStats:
        lit = self.get_metadatas(LITERATURE)
        user_sources = sorted({str(m.get("source")) for m in lit if m.get("kind") == "user"})
        corpus = sum(1 for m in lit if m.get("kind") == "corpus")
        return StoreStats(
            location=self.location,
            literature_chunks=len(lit),
            corpus_chunks=corpus,
            user_chunks=len(lit) - corpus,
            user_sources=user_sources,
            runs=self.count(RUNS),
        )

    # -------------------------------------------------------------- plumbing

    def _client(self) -> ClientAPI:
        if self._client_instance is None:
            self._client_instance = self._connect()
        return self._client_instance

    def _connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if self._path is not None:
            if self._path.exists() and not self._path.is_dir():
                raise MemoryStoreError(f"memory path {self._path} exists and is not a folder")
            try:
                self._path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise MemoryStoreError(f"cannot create memory folder {self._path}: {exc}") from exc
            with self._chroma_errors(f"open the store in {self._path}"):
                return chromadb.PersistentClient(path=str(self._path), settings=settings)
        assert self._url is not None
        parts = urlsplit(self._url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MemoryStoreError(
                f"chromadb URL {self._url!r} must look like http://HOST:PORT or https://HOST:PORT"
            )
        ssl = parts.scheme == "https"
        port = parts.port or (443 if ssl else 8000)
        with self._chroma_errors("connect"):
            return chromadb.HttpClient(host=parts.hostname, port=port, ssl=ssl, settings=settings)

    def _collection(self, name: str) -> Collection:
        if name not in COLLECTIONS:
            raise ValueError(f"unknown collection {name!r}; known: {', '.join(COLLECTIONS)}")
        if name not in self._collections:
            from memory._chroma_embedding import EMBEDDING_FUNCTION_NAME, MiniLMEmbeddingFunction

            client = self._client()
            with self._chroma_errors(f"open collection {name!r}"):
                try:
                    col = client.get_or_create_collection(
                        name,
                        embedding_function=MiniLMEmbeddingFunction(),  # type: ignore[arg-type]
                        configuration={"hnsw": {"space": "cosine"}},
                    )
                except ValueError as exc:
                    if "embedding function" not in str(exc).lower():
                        raise
                    raise MemoryStoreError(
                        f"collection {name!r} in {self.location} was made with another "
                        f"embedding function ({exc}); use a different store"
                    ) from exc
            persisted = (col.configuration_json or {}).get("embedding_function") or {}
            if persisted.get("name") not in (None, EMBEDDING_FUNCTION_NAME):
                raise MemoryStoreError(
                    f"collection {name!r} in {self.location} is embedded with "
                    f"{persisted.get('name')!r}, not {EMBEDDING_FUNCTION_NAME!r}; use a different store"
                )
            self._collections[name] = col
        return self._collections[name]

    @contextlib.contextmanager
    def _chroma_errors(self, action: str) -> Iterator[None]:
        """Turn storage and connection failures into one-line user errors; bugs pass through."""
        from chromadb.errors import ChromaError

        try:
            yield
        except MemoryStoreError:
            raise
        except ChromaError as exc:
            raise MemoryStoreError(f"memory store {self.location}: cannot {action}: {exc}") from exc
        except (ConnectionError, TimeoutError) as exc:
            raise MemoryStoreError(self._unreachable(action, exc)) from exc
        except Exception as exc:
            import httpx

            if isinstance(exc, httpx.TransportError):
                raise MemoryStoreError(self._unreachable(action, exc)) from exc
            if self._url is not None and "could not connect" in str(exc).lower():
                raise MemoryStoreError(self._unreachable(action, exc)) from exc
            raise

    def _unreachable(self, action: str, exc: BaseException) -> str:
        return (
            f"cannot {action}: the chromadb server at {self._url} is unreachable ({exc}); "
            "start it (e.g. `chroma run --port 8000`) or use a local store"
        )
