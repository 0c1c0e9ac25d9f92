"""Usage accounting: tokens in and out and wall time in the LLM, per agent role."""

from __future__ import annotations

import threading
import time

from pydantic import BaseModel, Field

from agents.llm._batch import LLMRequest, Outcome, complete_each
from agents.llm._errors import LLMError
from agents.llm._types import ChatMessage, Completion, LLMClient


class RoleUsage(BaseModel):
    """What one agent role spent on the LLM."""

    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


class UsageSummary(BaseModel):
    """Per-run usage, ready to be written into a run's results.json."""

    per_role: dict[str, RoleUsage] = Field(default_factory=dict)
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    """Wall time spent inside LLM calls, summed over calls."""


class UsageTracker:
    """Collects usage from completions; wrap a client with :meth:`track` to feed it.

    Thread-safe, so agents running in parallel can share one tracker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roles: dict[str, RoleUsage] = {}

    def record(self, role: str, completion: Completion) -> None:
        """Count one successful call."""
        with self._lock:
            usage = self._roles.setdefault(role, RoleUsage())
            usage.calls += 1
            usage.prompt_tokens += completion.prompt_tokens
            usage.completion_tokens += completion.completion_tokens
            usage.latency_s += completion.latency_s

    def record_failure(
        self, role: str, latency_s: float, prompt_tokens: int = 0, completion_tokens: int = 0
    ) -> None:
        """Count one call that raised: its time and the tokens of its tries were spent even
        though nothing usable came back."""
        with self._lock:
            usage = self._roles.setdefault(role, RoleUsage())
            usage.failed_calls += 1
            usage.latency_s += latency_s
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens

    def summary(self) -> UsageSummary:
        """A snapshot of the totals so far, per role and overall."""
        with self._lock:
            per_role = {role: usage.model_copy() for role, usage in sorted(self._roles.items())}
        return UsageSummary(
            per_role=per_role,
            calls=sum(u.calls for u in per_role.values()),
            failed_calls=sum(u.failed_calls for u in per_role.values()),
            prompt_tokens=sum(u.prompt_tokens for u in per_role.values()),
            completion_tokens=sum(u.completion_tokens for u in per_role.values()),
            latency_s=round(sum(u.latency_s for u in per_role.values()), 6),
        )

    def track(self, inner: LLMClient) -> TrackedLLM:
        """A client that answers like ``inner`` and counts every call here."""
        return TrackedLLM(inner, self)


class TrackedLLM:
    """An LLMClient that forwards to another and records usage in a tracker."""

    def __init__(self, inner: LLMClient, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        start = time.perf_counter()
        try:
            completion = self.inner.complete(messages, schema, role=role, max_tokens=max_tokens)
        except Exception as exc:
            self._record_raised(role, start, exc)
            raise
        self.tracker.record(role, completion)
        return completion

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        """The inner client's batch, each outcome counted for its request's role."""
        start = time.perf_counter()
        try:
            outcomes = complete_each(self.inner, requests)
        except Exception as exc:
            # The whole batch failed: its cost goes to the first request's role.
            self._record_raised(requests[0].role, start, exc)
            raise
        for request, outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, Completion):
                self.tracker.record(request.role, outcome)
            else:
                self.tracker.record_failure(
                    request.role,
                    outcome.latency_s,
                    outcome.prompt_tokens,
                    outcome.completion_tokens,
                )
        return outcomes

    def _record_raised(self, role: str, start: float, exc: Exception) -> None:
        """Count a call that raised: an LLMError carries the tokens its tries spent."""
        if isinstance(exc, LLMError):
            self.tracker.record_failure(
                role, time.perf_counter() - start, exc.prompt_tokens, exc.completion_tokens
            )
        else:
            self.tracker.record_failure(role, time.perf_counter() - start)
