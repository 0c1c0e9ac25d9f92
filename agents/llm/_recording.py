"""The call log: every call appended as one JSON line, and a client that replays such a log.

A recorded run can be replayed exactly without any model: the replay answers each prompt
with what was recorded for it, in the recorded order when the same prompt was asked twice.
Keys never reach the log: only messages, answers and counts are written, and an error's
text has any URL credentials redacted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.llm._batch import LLMRequest, Outcome, complete_each
from agents.llm._errors import (
    LLMAuthError,
    LLMError,
    LLMInvalidOutputError,
    LLMUnreachableError,
    redact_url,
)
from agents.llm._schema import schema_json
from agents.llm._types import ChatMessage, Completion, LLMClient

LOG_FORMAT_VERSION = 1

_REPLAYABLE_ERRORS: dict[str, type[LLMError]] = {
    cls.__name__: cls
    for cls in (LLMError, LLMUnreachableError, LLMAuthError, LLMInvalidOutputError)
}


def prompt_hash(messages: list[ChatMessage], schema: type[BaseModel] | None) -> str:
    """sha256 over the messages, the schema's name and its JSON schema: the replay key."""
    payload = {
        "messages": [m.model_dump() for m in messages],
        "schema_name": schema.__name__ if schema is not None else None,
        "schema": schema_json(schema) if schema is not None else None,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RecordingLLM:
    """Forwards to ``inner`` and appends every call, failed ones included, to ``log_path``."""

    def __init__(self, inner: LLMClient, log_path: Path | str) -> None:
        self.inner = inner
        self.log_path = Path(log_path)
        self._lock = threading.Lock()

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        entry = _entry(LLMRequest(messages, schema, role, max_tokens))
        start = time.perf_counter()
        try:
            completion = self.inner.complete(messages, schema, role=role, max_tokens=max_tokens)
        except LLMError as exc:
            exc.latency_s = time.perf_counter() - start
            self._append(_failed(entry, exc))
            raise
        self._append(_answered(entry, completion))
        return completion

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        """The inner client's batch, one log line per request in the requests' order (a
        replay answers them one by one, as it would have answered single calls)."""
        entries = [_entry(request) for request in requests]
        start = time.perf_counter()
        try:
            outcomes = complete_each(self.inner, requests)
        except LLMError as exc:
            # Logged as the first request's failure: a replay stops there, as the run did.
            exc.latency_s = time.perf_counter() - start
            self._append(_failed(entries[0], exc))
            raise
        for entry, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, Completion):
                self._append(_answered(entry, outcome))
            else:
                self._append(_failed(entry, outcome))
        return outcomes

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # One write per line in append mode, so a crash leaves whole lines behind.
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(line)


def _entry(request: LLMRequest) -> dict[str, Any]:
    """The log line of a call, before its answer."""
    return {
        "v": LOG_FORMAT_VERSION,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "prompt_hash": prompt_hash(request.messages, request.schema),
        "role": request.role,
        "schema": request.schema.__name__ if request.schema is not None else None,
        "max_tokens": request.max_tokens,
        "messages": [m.model_dump() for m in request.messages],
    }


def _answered(entry: dict[str, Any], completion: Completion) -> dict[str, Any]:
    return {
        **entry,
        "model": completion.model,
        "text": completion.text,
        "parsed": completion.parsed.model_dump(mode="json") if completion.parsed else None,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": completion.latency_s,
        "error": None,
    }


def _failed(entry: dict[str, Any], exc: LLMError) -> dict[str, Any]:
    return {
        **entry,
        "latency_s": round(exc.latency_s, 6),
        # Clients redact their own errors; this keeps a URL password off disk whatever
        # client raised it.
        "error": {"type": type(exc).__name__, "message": redact_url(str(exc))},
        # The tries that failed were still paid for.
        "prompt_tokens": exc.prompt_tokens,
        "completion_tokens": exc.completion_tokens,
    }


def read_call_log(log_path: Path | str) -> list[dict[str, Any]]:
    """All entries of a call log, in order; an LLMError naming the line if one is damaged."""
    path = Path(log_path)
    if not path.is_file():
        raise LLMError(f"no LLM call log at {path}")
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LLMError(f"{path}:{number} is not a JSON line ({exc.msg})") from exc
        if not isinstance(entry, dict) or "prompt_hash" not in entry:
            raise LLMError(f"{path}:{number} is not an LLM call record")
        entries.append(entry)
    return entries


class ReplayLLM:
    """Answers from a call log written by RecordingLLM; needs no model and no network.

    Token counts, latency and model name are the recorded ones, so usage figures of a
    replayed run match the original run. A recorded failure is raised again.
    """

    def __init__(self, log_path: Path | str) -> None:
        self.log_path = Path(log_path)
        self._answers: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._recorded: dict[str, int] = defaultdict(int)
        for entry in read_call_log(self.log_path):
            self._answers[entry["prompt_hash"]].append(entry)
            self._recorded[entry["prompt_hash"]] += 1
        self._lock = threading.Lock()

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        key = prompt_hash(messages, schema)
        schema_name = schema.__name__ if schema is not None else "text"
        with self._lock:
            if key not in self._recorded:
                raise LLMError(
                    f"{self.log_path} holds no answer for this prompt (role {role}, "
                    f"schema {schema_name}, hash {key[:12]}); the prompts changed since recording"
                )
            if not self._answers[key]:
                raise LLMError(
                    f"{self.log_path} recorded this prompt {self._recorded[key]} time(s) "
                    f"(role {role}, schema {schema_name}); the replay asked it once more"
                )
            entry = self._answers[key].popleft()
        if entry.get("error"):
            error = _recorded_error(entry["error"])
            error.prompt_tokens = entry.get("prompt_tokens") or 0
            error.completion_tokens = entry.get("completion_tokens") or 0
            raise error
        parsed = None
        if schema is not None:
            try:
                parsed = schema.model_validate(entry["parsed"])
            except ValidationError as exc:
                raise LLMError(
                    f"{self.log_path}: the recorded answer no longer fits {schema_name}"
                ) from exc
        return Completion(
            parsed=parsed,
            text=entry["text"],
            prompt_tokens=entry.get("prompt_tokens", 0),
            completion_tokens=entry.get("completion_tokens", 0),
            latency_s=entry.get("latency_s", 0.0),
            model=entry.get("model", "replay"),
        )


def _recorded_error(error: dict[str, str]) -> LLMError:
    cls = _REPLAYABLE_ERRORS.get(error.get("type", ""), LLMError)
    # The subclasses build their message from parts; the recorded message is already whole.
    exc = cls.__new__(cls)
    Exception.__init__(exc, error.get("message", "recorded LLM failure"))
    return exc
