"""Errors a person can act on: each says what failed and which setting to change."""

from __future__ import annotations

import re

# The user:password part of every URL in a text: everything between "scheme://" and the
# last "@" before the path. A password may hold "@" or ":", never "/", "?" or "#".
_URL_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^/?#\s]*@", re.IGNORECASE)

_ENDPOINT_SETTINGS = (
    "the endpoint is chosen by COSCI_LLM_BASE_URL or llm_base_url in $COSCI_HOME/settings.yaml; "
    "unset both to use the embedded model"
)


def redact_url(text: str) -> str:
    """``text`` with the credentials of every URL in it (``user:password@``) shown as ``***@``.

    Used wherever an endpoint URL is printed, logged or stored: a URL may carry a password.
    """
    return _URL_CREDENTIALS.sub(r"\1***@", text)


class LLMError(Exception):
    """Base of every error raised by cosci's LLM clients.

    ``prompt_tokens`` and ``completion_tokens`` are what the failed call still spent: the
    usage of every try that got an answer, so call logs and usage count failures too.
    """

    user_facing = True
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    """Wall time of the failed call, set where a batch reports its requests one by one."""


class LLMUnreachableError(LLMError):
    """The endpoint did not answer usefully (connection, timeout, 429 or 5xx) after retries."""

    def __init__(self, url: str, attempts: int, cause: str) -> None:
        url = redact_url(url)
        self.url = url
        self.attempts = attempts
        super().__init__(
            f"LLM endpoint {url} unreachable after {attempts} attempt(s) ({cause}); "
            f"{_ENDPOINT_SETTINGS}"
        )


class LLMAuthError(LLMError):
    """The endpoint rejected the API key (HTTP 401 or 403). The key itself is never shown."""

    def __init__(self, url: str, status: int) -> None:
        url = redact_url(url)
        self.url = url
        self.status = status
        super().__init__(
            f"LLM endpoint {url} rejected the API key (HTTP {status}); check OPENAI_API_KEY "
            f"or llm_api_key in $COSCI_HOME/settings.yaml"
        )


class LLMInvalidOutputError(LLMError):
    """The model kept answering something that does not fit the schema."""

    def __init__(self, schema_name: str, tries: int, last_error: str) -> None:
        self.schema_name = schema_name
        self.tries = tries
        super().__init__(
            f"the model gave no valid {schema_name} in {tries} tries; last problem: {last_error}"
        )
