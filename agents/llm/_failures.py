"""What a failed request to an OpenAI-compatible endpoint means: whether to retry it,
how long the server asked to wait, and the one-line error the caller sees."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from agents.llm._errors import LLMAuthError, LLMError, LLMUnreachableError

TRANSIENT_STATUS = {408, 429}
"""HTTP statuses worth retrying besides 5xx."""


class NotAChatCompletionError(LLMError):
    """The endpoint answered 200 with a body that is no chat completion (an HTML page from
    a proxy, bytes that are not text, JSON of another shape)."""

    def __init__(self, url: str, got: str) -> None:
        got = got if len(got) <= 200 else got[:197] + "..."
        super().__init__(
            f"LLM endpoint {url} answered something that is not a chat completion ({got}); "
            "check COSCI_LLM_BASE_URL (OpenAI-style URLs end in /v1)"
        )


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: a timeout, a failed connection, HTTP 408, 429 or 5xx."""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # timeouts are a subclass
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in TRANSIENT_STATUS or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The wait a server asked for in Retry-After (seconds or HTTP date) or retry-after-ms."""
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def as_llm_error(exc: BaseException, attempts: int, base_url: str, model: str,
                 redact: Callable[[str], str]) -> LLMError:  # fmt: skip
    """The error a caller sees once a request has failed for good: bad credentials,
    unreachable after ``attempts`` tries, an unknown model, or a refusal with the server's
    words (``redact`` removes secrets from them)."""
    import openai

    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return LLMAuthError(base_url, exc.status_code)
    if is_transient(exc):
        return LLMUnreachableError(base_url, attempts, redact(cause(exc)))
    if isinstance(exc, openai.NotFoundError):
        return LLMError(
            f"LLM endpoint {base_url} answered HTTP 404 for model {model!r}; "
            "check COSCI_LLM_MODEL and COSCI_LLM_BASE_URL (OpenAI-style URLs end in /v1)"
        )
    return LLMError(f"LLM endpoint {base_url} refused the request: {redact(cause(exc))}")


def cause(exc: BaseException | None) -> str:
    """One line on why a request failed, for logs and error messages."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        root = exc.__cause__ or exc
        return f"connection failed: {type(root).__name__}: {root}".rstrip(": ")
    if isinstance(exc, openai.APIStatusError):
        message = exc.message if len(exc.message) <= 300 else exc.message[:297] + "..."
        return f"HTTP {exc.status_code}: {message}"
    return f"{type(exc).__name__}: {exc}"
