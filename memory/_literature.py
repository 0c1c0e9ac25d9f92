"""The literature collection: the shipped corpus of notes plus the user's own documents."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from memory._collections import LITERATURE, Collections
from memory._documents import Chunk, read_document, read_documents
from memory._embedding import embed_texts
from memory._errors import MemoryStoreError
from memory._records import LiteratureHit

# The corpus is the same for every store in a process: embed it once. Keyed by digest so
# an edited corpus is re-embedded.
_corpus_cache: dict[str, tuple[list[Chunk], np.ndarray]] = {}
_corpus_lock = threading.Lock()


class IngestReport(BaseModel):
    """What ``ingest`` stored."""

    files: list[str]
    chunks: int
    replaced: int
    """Chunks of earlier versions of the same files that were removed."""


def _embedding_text(chunk: Chunk) -> str:
    # Prefixing the title keeps a later chunk of a note tied to its subject.
    return f"{chunk.title}\n{chunk.text}"


def _metadata(chunk: Chunk, **extra: str | int) -> dict[str, str | int]:
    return {**chunk.metadata(), "chunk_id": chunk.id, **extra}


def corpus_digest(corpus_dir: Path) -> str:
    files = sorted(corpus_dir.glob("*.md"))
    if not files:
        raise MemoryStoreError(f"no .md notes in the corpus folder {corpus_dir}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def corpus_chunks(corpus_dir: Path) -> tuple[str, list[Chunk], np.ndarray]:
    """The corpus notes as chunks with their embeddings (cached per process)."""
    digest = corpus_digest(corpus_dir)
    with _corpus_lock:
        if digest not in _corpus_cache:
            chunks: list[Chunk] = []
            for path in sorted(corpus_dir.glob("*.md")):
                # File names start with the topic: hpo-tpe.md, nas-darts.md, ...
                topic = path.stem.split("-", 1)[0]
                chunks.extend(
                    read_document(path, kind="corpus", topic=topic, source=f"corpus/{path.name}")
                )
            vectors = embed_texts([_embedding_text(c) for c in chunks])
            _corpus_cache[digest] = (chunks, vectors)
        chunks, vectors = _corpus_cache[digest]
    return digest, chunks, vectors


def load_corpus(store: Collections, corpus_dir: Path) -> int:
    """Write the corpus if this version is not stored yet, then drop older versions.

    Ids are stable (file and position), so loading twice rewrites the same items instead of
    duplicating them; the new version is written before the old one is removed.
    """
    digest = corpus_digest(corpus_dir)
    if store.get_metadatas(LITERATURE, where={"corpus_digest": digest}, limit=1):
        return 0
    digest, chunks, vectors = corpus_chunks(corpus_dir)
    store.add(
        LITERATURE,
        ids=[c.id for c in chunks],
        texts=[c.text for c in chunks],
        metadatas=[_metadata(c, corpus_digest=digest) for c in chunks],
        embeddings=vectors,
    )
    store.delete(
        LITERATURE, where={"$and": [{"kind": "corpus"}, {"corpus_digest": {"$ne": digest}}]}
    )
    return len(chunks)


def search_literature(
    store: Collections, query: str, k: int, where: Mapping[str, Any] | None
) -> list[LiteratureHit]:
    hits = store.query(LITERATURE, query, k, where)
    return [
        LiteratureHit(
            text=hit.text,
            title=str(hit.metadata.get("title", "")),
            source=str(hit.metadata.get("source", "")),
            page=hit.metadata.get("page"),
            kind=str(hit.metadata.get("kind", "user")),
            topic=hit.metadata.get("topic"),
            references=hit.metadata.get("references"),
            distance=hit.distance,
        )
        for hit in hits
    ]


def ingest(store: Collections, paths: Sequence[Path]) -> IngestReport:
    """Read and embed every file, then write; re-adding a file replaces its old chunks."""
    chunks = read_documents(paths)
    vectors = embed_texts([_embedding_text(c) for c in chunks])
    sources = sorted({c.source for c in chunks})
    previous = {
        str(m["chunk_id"])
        for source in sources
        for m in store.get_metadatas(LITERATURE, where={"source": source})
    }
    store.add(
        LITERATURE,
        ids=[c.id for c in chunks],
        texts=[c.text for c in chunks],
        metadatas=[_metadata(c) for c in chunks],
        embeddings=vectors,
    )
    stale = sorted(previous - {c.id for c in chunks})
    if stale:
        # Only after the new version is stored: an edited file that got shorter.
        store.delete(LITERATURE, ids=stale)
    return IngestReport(files=sources, chunks=len(chunks), replaced=len(stale))
