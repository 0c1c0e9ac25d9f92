"""Errors a person can act on: each says what failed and which setting to change."""

from __future__ import annotations

_ENDPOINT_SETTINGS = (
    "the endpoint is chosen by COSCI_LLM_BASE_URL or llm_base_url in $COSCI_HOME/settings.yaml; "
    "unset both to use the embedded model"
)


class LLMError(Exception):
    """Base of every error raised by cosci's LLM clients."""

    user_facing = True


class LLMUnreachableError(LLMError):
    """The endpoint did not answer usefully (connection, timeout, 429 or 5xx) after retries."""

    def __init__(self, url: str, attempts: int, cause: str) -> None:
        self.url = url
        self.attempts = attempts
        super().__init__(
            f"LLM endpoint {url} unreachable after {attempts} attempt(s) ({cause}); "
            f"{_ENDPOINT_SETTINGS}"
        )


class LLMAuthError(LLMError):
    """The endpoint rejected the API key (HTTP 401 or 403). The key itself is never shown."""

    def __init__(self, url: str, status: int) -> None:
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
