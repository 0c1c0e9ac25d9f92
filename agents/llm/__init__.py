"""Language models for the agents: one Protocol, an endpoint client, the embedded model,
a call log with replay, and usage accounting.

Every client answers ``complete(messages, schema=None, *, role=..., max_tokens=...)``; with a
pydantic ``schema`` the completion carries a validated instance of it. ``complete_each``
answers independent requests together where the client can (``complete_batch``). Heavy libraries
(torch, transformers, outlines) load only when the embedded model is first used.
"""

from agents.llm._batch import LLMRequest, Outcome, complete_each
from agents.llm._errors import (
    LLMAuthError,
    LLMError,
    LLMInvalidOutputError,
    LLMUnreachableError,
    redact_url,
)
from agents.llm._local import LocalLLM
from agents.llm._local_model import LocalModelStatus, local_model_status
from agents.llm._openai import OpenAICompatibleLLM
from agents.llm._recording import RecordingLLM, ReplayLLM, prompt_hash, read_call_log
from agents.llm._types import ChatMessage, Completion, LLMClient
from agents.llm._usage import RoleUsage, TrackedLLM, UsageSummary, UsageTracker

__all__ = [
    "ChatMessage",
    "Completion",
    "LLMAuthError",
    "LLMClient",
    "LLMError",
    "LLMInvalidOutputError",
    "LLMRequest",
    "LLMUnreachableError",
    "LocalLLM",
    "LocalModelStatus",
    "OpenAICompatibleLLM",
    "Outcome",
    "RecordingLLM",
    "ReplayLLM",
    "RoleUsage",
    "TrackedLLM",
    "UsageSummary",
    "UsageTracker",
    "complete_each",
    "local_model_status",
    "prompt_hash",
    "read_call_log",
    "redact_url",
]
