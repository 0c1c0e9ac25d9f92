"""The memory package's user-facing error."""

from __future__ import annotations


class MemoryStoreError(Exception):
    """A memory operation that cannot be done as asked; the message says why in one line."""

    user_facing = True
