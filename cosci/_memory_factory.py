"""Build the memory store the settings ask for: a chromadb server when ``chroma_url`` is set
(COSCI_CHROMA_URL), else a local PersistentClient under ``Settings.memory_path``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosci._settings import Settings

if TYPE_CHECKING:
    from memory import MemoryStore


def build_memory_store(settings: Settings) -> MemoryStore:
    """The store for ``settings``; nothing is opened until it is first used."""
    from memory import MemoryStore

    if settings.chroma_url:
        return MemoryStore(url=settings.chroma_url)
    return MemoryStore(path=settings.memory_path)


def describe_memory(settings: Settings) -> str:
    """Where ``build_memory_store`` would keep the memory, in words."""
    if settings.chroma_url:
        return f"chromadb server at {settings.chroma_url} (COSCI_CHROMA_URL)"
    return f"local store in {settings.memory_path}"
