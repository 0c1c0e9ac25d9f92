"""Key/value states of recent prompts, so a new prompt skips the prefill of what it shares.

On one CPU thread the embedded model prefills about 200 prompt tokens a second, and the
calls of a co-scientist round repeat long stretches: the system message and JSON rules of
a role, the goal and data description, the list of interventions. Keeping the attention
states of the last few prompts lets a call prefill only the tokens after the longest
prefix it shares with one of them. Which prompt shares most is found by comparing token
ids, so no caller has to say where its shared part ends.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 6
"""Prompts kept (about 46 kB per token each: a 700-token prompt holds 32 MB)."""
MIN_SHARED = 8
"""Shorter shared prefixes are not worth a copy of the states."""


def shared_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PrefixCache:
    """The last :data:`MAX_ENTRIES` prompts' key/value caches (transformers ``DynamicCache``),
    least recently used dropped first. Entries are never handed out: a lookup returns a
    copy cropped to the shared prefix, which the caller extends as it decodes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, min_shared: int = MIN_SHARED) -> None:
        self.max_entries = max_entries
        self.min_shared = min_shared
        self._entries: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.reused_tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, ids: list[int]) -> tuple[int, Any]:
        """(tokens reused, a cache holding them) for a prompt; (0, None) on a miss.

        At least the prompt's last token is left to prefill: its logits start decoding.
        """
        key = tuple(ids)
        with self._lock:
            best, best_key = 0, None
            for stored in self._entries:
                n = shared_prefix(stored, key)
                if n > best:
                    best, best_key = n, stored
            best = min(best, len(ids) - 1)
            if best_key is None or best < self.min_shared:
                return 0, None
            self._entries.move_to_end(best_key)
            cache = copy.deepcopy(self._entries[best_key])
            self.hits += 1
            self.reused_tokens += best
        surplus = len(best_key) - best
        if surplus > 0:
            cache.crop(-surplus)  # this transformers version crops by a negative count
        return best, cache

    def store(self, ids: list[int], cache: Any) -> None:
        """Keep a copy of ``cache``, which holds exactly the states of ``ids``."""
        key = tuple(ids)
        kept = copy.deepcopy(cache)
        with self._lock:
            self._entries[key] = kept
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = 0
            self.reused_tokens = 0
