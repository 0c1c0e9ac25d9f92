"""The collection primitives the literature and runs layers are written against.

``MemoryStore`` implements :class:`Collections`; ``_literature`` and ``_runs`` type their
store argument with it, so neither needs to import the store that calls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

LITERATURE = "literature"
RUNS = "runs"
COLLECTIONS = (LITERATURE, RUNS)


class Hit(BaseModel):
    """One stored item that matched a query."""

    id: str
    text: str
    metadata: dict[str, Any]
    distance: float


class Collections(Protocol):
    """Named collections of embedded texts with metadata."""

    def add(
        self,
        collection: str,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        embeddings: np.ndarray | None = None,
    ) -> None: ...

    def query(
        self, collection: str, text: str, k: int = 5, where: Mapping[str, Any] | None = None
    ) -> list[Hit]: ...

    def count(self, collection: str) -> int: ...

    def get_metadatas(
        self,
        collection: str,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...

    def delete(
        self,
        collection: str,
        *,
        ids: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None: ...
