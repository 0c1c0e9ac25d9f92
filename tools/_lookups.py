"""A log of memory look-ups, so a replayed run sees exactly what the original run saw.

The memory changes between runs (every finished experiment is added to the ledger), so a
replay that queried the live memory would get other warm starts, other prompts and no
recorded LLM answers. Each look-up is appended to ``memory_calls.jsonl`` in the run
directory; a replay answers from the original run's file, in order per key.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter

from tools._errors import ToolError

M = TypeVar("M", bound=BaseModel)


class LookupLog:
    """Records look-ups to ``path``; with ``replay_from`` answers from that log instead."""

    def __init__(self, path: Path | None, replay_from: Path | None = None) -> None:
        self.path = path
        self.replay_from = replay_from
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], deque[list]] = defaultdict(deque)
        # The last answer given per key: a run killed after a look-up but before its step
        # was checkpointed asks it again when resumed, and gets the same answer.
        self._last: dict[tuple[str, str], list] = {}
        if replay_from is not None:
            if not replay_from.is_file():
                raise ToolError(f"no memory look-up log to replay at {replay_from}")
            for number, line in enumerate(replay_from.read_text("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    self._answers[(entry["tool"], entry["key"])].append(entry["result"])
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ToolError(f"{replay_from}:{number} is not a look-up record") from exc
            # A resumed replay has already consumed what its own log holds.
            if path is not None and path.is_file():
                for line in path.read_text("utf-8").splitlines():
                    if line.strip():
                        entry = json.loads(line)
                        key = (entry["tool"], entry["key"])
                        queue = self._answers.get(key)
                        if queue:
                            self._last[key] = queue.popleft()

    def call(
        self, tool: str, key: str, model: type[M], compute: Callable[[], Sequence[M]]
    ) -> list[M]:
        """The look-up's answer: recorded (replay) or computed now, and logged either way."""
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        if self.replay_from is not None:
            with self._lock:
                queue = self._answers.get((tool, key))
                if queue:
                    raw = self._last[(tool, key)] = queue.popleft()
                elif (tool, key) in self._last:
                    raw = self._last[(tool, key)]
                else:
                    raise ToolError(
                        f"{self.replay_from} holds no recorded {tool} answer for this query; "
                        "the run being replayed asked something else"
                    )
            result = adapter.validate_python(raw)
        else:
            result = list(compute())
        if self.path is not None:
            line = json.dumps(
                {"tool": tool, "key": key, "result": adapter.dump_python(result, mode="json")},
                ensure_ascii=False,
            )
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        return result
