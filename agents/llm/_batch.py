"""Several independent calls at once: the embedded model decodes them side by side, an
endpoint client sends them concurrently, and any other client answers them in turn.

A client that can do better than one call after another offers ``complete_batch``;
:func:`complete_each` uses it when there is one. Wrappers (usage tracking, the call log,
the run's deadline) offer it too and pass the batch on, so the batching reaches the model
whatever sits in front of it. An answer that does not fit its schema comes back in its
slot as the :class:`LLMInvalidOutputError` the single call would have raised; any other
error ends the whole batch, as it would have ended the first call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from agents.llm._errors import LLMInvalidOutputError
from agents.llm._types import ChatMessage, Completion

Outcome = Completion | LLMInvalidOutputError
"""What one request of a batch gets: its completion, or why its answer was unusable."""


@dataclass(frozen=True)
class LLMRequest:
    """One call's arguments to ``complete``."""

    messages: list[ChatMessage]
    schema: type[BaseModel] | None = None
    role: str = "default"
    max_tokens: int | None = None


def complete_each(client: Any, requests: list[LLMRequest]) -> list[Outcome]:
    """One outcome per request, in order: through the client's ``complete_batch`` if it has
    one, else one ``complete`` call after another."""
    if not requests:
        return []
    batch = getattr(client, "complete_batch", None)
    if batch is not None and len(requests) > 1:
        outcomes: list[Outcome] = batch(requests)
        return outcomes
    return [complete_one(client, request) for request in requests]


def complete_one(client: Any, request: LLMRequest) -> Outcome:
    """``client.complete`` for one request, an unusable answer returned instead of raised."""
    try:
        completion: Completion = client.complete(
            request.messages, request.schema, role=request.role, max_tokens=request.max_tokens
        )
    except LLMInvalidOutputError as exc:
        return exc
    return completion


def share_latency(outcomes: list[Outcome], seconds: float) -> list[Outcome]:
    """The outcomes with the batch's wall time split evenly over its completions, so usage
    sums to the time actually spent (each answer did not take the whole batch's time)."""
    if not outcomes:
        return outcomes
    each = seconds / len(outcomes)
    shared: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, Completion):
            outcome = outcome.model_copy(update={"latency_s": each})
        else:
            outcome.latency_s = each
        shared.append(outcome)
    return shared
