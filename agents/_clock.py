"""The wall-clock ceiling of a run: ``--time-budget`` is a hard limit, not an estimate.

The supervisor plans with compute seconds (experiments plus LLM time, kept in the
state). On top of that, every session of a run gets a deadline on the wall clock: the
time budget less what earlier sessions spent. Experiments are capped to the time left;
an LLM call expected to pass the deadline is not made (the agent falls back to its rule,
which costs no time, and this is not counted as an unusable answer); and the supervisor
stops the run, which then closes cleanly with what it finished.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from agents.llm._batch import LLMRequest, Outcome, complete_each

END_RESERVE_S = 5.0
"""Seconds kept for closing the run (holdout scoring, overview) when deciding to stop."""


class LLMDeadlineError(Exception):
    """An LLM call was not made because it would end past the run's deadline."""


class RunClock:
    """A deadline on the monotonic clock; ``None`` seconds means no deadline."""

    def __init__(self, seconds: float | None, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.deadline = None if seconds is None else now() + max(0.0, seconds)

    def remaining(self) -> float | None:
        """Seconds left, or None without a deadline (never negative)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self._now())

    def expired(self, reserve_s: float = 0.0) -> bool:
        left = self.remaining()
        return left is not None and left <= reserve_s


class ClockedLLM:
    """An LLM client that declines calls expected to end past ``clock``'s deadline.

    The expectation is the median duration of this client's calls so far (0 before the
    first), so a call is declined once the time left is shorter than a typical call.
    Everything else is the wrapped client's.
    """

    def __init__(self, inner: Any, clock: RunClock) -> None:
        self.inner = inner
        self.clock = clock
        self.durations: list[float] = []

    def complete(self, messages: Any, schema: Any = None, **kwargs: Any) -> Any:
        self._refuse_if_late(1)
        start = time.monotonic()
        try:
            return self.inner.complete(messages, schema, **kwargs)
        finally:
            self.durations.append(time.monotonic() - start)

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        """The inner client's batch if all of it is expected to end before the deadline
        (a typical call's time per request: a batch takes at most that); else none of it."""
        self._refuse_if_late(len(requests))
        start = time.monotonic()
        try:
            return complete_each(self.inner, requests)
        finally:
            share = (time.monotonic() - start) / max(1, len(requests))
            self.durations.extend([share] * len(requests))

    def _refuse_if_late(self, calls: int) -> None:
        """An LLMDeadlineError when ``calls`` typical calls would not end before the deadline."""
        left = self.clock.remaining()
        expected = calls * statistics.median(self.durations) if self.durations else 0.0
        if left is not None and left <= expected:
            what = "a call takes" if calls == 1 else f"{calls} calls take"
            raise LLMDeadlineError(
                f"{left:.0f} s left of the time budget, {what} about {expected:.0f} s"
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


__all__ = ["END_RESERVE_S", "ClockedLLM", "LLMDeadlineError", "RunClock"]
