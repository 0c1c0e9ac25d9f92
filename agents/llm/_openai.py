"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio).

Retries live here, not in the SDK (its own retries are switched off), so there is one
policy: exponential backoff with jitter on timeouts, connection failures, 408, 429 and
5xx, honouring Retry-After; no retry on other 4xx, which repeating cannot fix.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from agents.llm._batch import LLMRequest, Outcome, complete_one, share_latency
from agents.llm._errors import LLMError, LLMInvalidOutputError, redact_url
from agents.llm._failures import (
    NotAChatCompletionError,
    as_llm_error,
    cause,
    is_transient,
    retry_after_seconds,
)
from agents.llm._schema import (
    describe_problem,
    holds_json,
    parse_answer,
    schema_json,
    with_json_instruction,
    with_schema_in_prompt,
)
from agents.llm._types import ChatMessage, Completion

logger = logging.getLogger("agents.llm")

StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
"""How a schema is enforced: ``auto`` starts with ``json_schema`` and steps down to
``json_object`` and then to instructions only when the server rejects a response_format,
and straight to instructions (``prompt``: the schema in the prompt) when it ignores one
and answers prose. A named mode is used as it is, with no step-down."""

TokenParam = Literal["max_tokens", "max_completion_tokens"]
"""The request field that caps the answer; OpenAI's reasoning models accept only
``max_completion_tokens``, many local servers only ``max_tokens``."""

_FALLBACK: dict[str, str] = {"json_schema": "json_object", "json_object": "prompt"}
# A refused response_format is named in the server's message (OpenAI, vLLM, llama.cpp and
# Ollama all do); any other 400 is a real error that a simpler format would not fix.
_FORMAT_WORDS = re.compile(r"response_format|json|schema|grammar", re.IGNORECASE)


class OpenAICompatibleLLM:
    """Chat completions from an OpenAI-compatible endpoint, with validated structured output.

    ``sleep`` and the backoff bounds are injectable so tests can check the waits without
    waiting. The API key, and any ``user:password@`` in ``base_url``, go to the SDK
    client only; they are never logged, stored in completions or shown in errors
    (``self.base_url`` is the URL with its credentials redacted).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | SecretStr | None = None,
        *,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        structured_output: StructuredMode = "auto",
        repair_tries: int = 2,
        temperature: float | None = 0.0,
        default_max_tokens: int | None = 1024,
        token_param: TokenParam = "max_tokens",
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_concurrency: int = 4,
    ) -> None:
        if max_concurrency < 1:
            raise LLMError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.base_url = redact_url(base_url)
        self.max_concurrency = max_concurrency
        self.model = model
        self.max_retries = max_retries
        self.structured_output = structured_output
        self.repair_tries = repair_tries
        self.temperature = temperature
        self.default_max_tokens = default_max_tokens
        self.token_param = token_param
        self._mode = "json_schema" if structured_output == "auto" else structured_output
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        # Texts from the SDK or the server may quote a secret outside any URL: scrub both.
        self._secrets = [s for s in (secret, urlsplit(base_url).password) if s]
        import openai  # ~0.6 s to import: deferred until an endpoint is actually used

        self._client = openai.OpenAI(
            base_url=base_url,
            # Local servers (vLLM, Ollama, llama.cpp) want no key, but the SDK insists on one.
            api_key=secret or "no-key",
            # The SDK's own Timeout type: the HTTP library under it changes between releases
            # (httpx2 2.17 refuses an httpx.Timeout), and the SDK re-exports the right one.
            timeout=openai.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            max_retries=0,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def structured_mode(self) -> str:
        """The way schemas are currently enforced (after any fallback)."""
        return self._mode

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        start = time.perf_counter()
        limit = max_tokens if max_tokens is not None else self.default_max_tokens
        if schema is None:
            response = self._create(messages, None, limit)
            prompt_tokens, completion_tokens = _usage(response)
            return Completion(
                text=_content(response),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_s=time.perf_counter() - start,
                model=response.model or self.model,
            )
        spent = [0, 0]  # prompt and completion tokens of every try, failed ones included
        try:
            return self._complete_structured(messages, schema, role, limit, start, spent)
        except LLMError as exc:
            exc.prompt_tokens, exc.completion_tokens = spent
            raise

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        """Independent requests sent concurrently, at most ``max_concurrency`` at a time
        (a serving engine batches them on its side); outcomes in the requests' order, each
        completion's latency its share of the batch's wall time."""
        start = time.perf_counter()
        workers = min(self.max_concurrency, len(requests))
        if workers <= 1:
            outcomes = [complete_one(self, request) for request in requests]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(lambda r: complete_one(self, r), requests))
        return share_latency(outcomes, time.perf_counter() - start)

    def _complete_structured(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel],
        role: str,
        limit: int | None,
        start: float,
        spent: list[int],
    ) -> Completion:
        conversation = self._conversation(messages, schema)
        problem = "no answer"
        tries = 1 + self.repair_tries
        attempt = asked = 0
        while attempt < tries:
            attempt += 1
            asked += 1
            mode = self._mode
            try:
                response = self._create_structured(conversation, schema, limit)
            except NotAChatCompletionError as exc:
                # Garbage is an unusable answer, not a reason to stop: the caller decides.
                problem = str(exc)
                logger.info("LLM answer for %s rejected (%s)", role, problem)
                continue
            prompt_tokens, completion_tokens = _usage(response)
            spent[0] += prompt_tokens
            spent[1] += completion_tokens
            text = _content(response)
            if attempt == 1 and self._ignores_format(mode, text):
                self._step_down_to_prompt(mode, text)
                # A fresh conversation with the schema in the prompt, and every try left.
                conversation = self._conversation(messages, schema)
                attempt = 0
                continue
            try:
                parsed = parse_answer(schema, text)
            except ValueError as exc:
                problem = describe_problem(exc)
                if response.choices and response.choices[0].finish_reason == "length":
                    problem += " (the answer was cut off at the token limit: keep it shorter)"
                logger.info("LLM answer for %s rejected (%s); asking for a repair", role, problem)
                conversation = [
                    *conversation,
                    ChatMessage(role="assistant", content=text),
                    ChatMessage(
                        role="user",
                        content=f"That answer was rejected: {problem}. "
                        f"Reply again with the corrected JSON object only.",
                    ),
                ]
                continue
            return Completion(
                parsed=parsed,
                text=text,
                prompt_tokens=spent[0],
                completion_tokens=spent[1],
                latency_s=time.perf_counter() - start,
                model=response.model or self.model,
            )
        raise LLMInvalidOutputError(schema.__name__, asked, problem)

    def _conversation(
        self, messages: list[ChatMessage], schema: type[BaseModel]
    ) -> list[ChatMessage]:
        if self._mode == "prompt":
            return with_schema_in_prompt(messages, schema)
        return with_json_instruction(messages, schema)

    def _ignores_format(self, mode: str, text: str) -> bool:
        """Prose where a response_format asked for JSON: the server dropped the format."""
        return self.structured_output == "auto" and mode != "prompt" and not holds_json(text)

    def _step_down_to_prompt(self, mode: str, text: str) -> None:
        # Agents in parallel threads may all meet the prose at once: say it once.
        if self._mode == "prompt":
            return
        self._mode = "prompt"
        preview = " ".join(text.split())[:80]
        logger.warning(
            "%s ignored response_format %s (it answered prose: %r); the schema goes in the "
            "prompt from now on (set COSCI_LLM_STRUCTURED_OUTPUT=prompt to start there)",
            self.base_url,
            mode,
            preview,
        )

    def _create_structured(
        self, conversation: list[ChatMessage], schema: type[BaseModel], max_tokens: int | None
    ) -> Any:
        import openai

        while True:
            mode = self._mode
            if mode == "json_schema":
                response_format: dict[str, Any] | None = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema.__name__[:64],
                        "schema": schema_json(schema),
                        # Strict mode wants every property required and no extras, which
                        # ordinary pydantic schemas are not; validation happens here anyway.
                        "strict": False,
                    },
                }
            elif mode == "json_object":
                response_format = {"type": "json_object"}
            else:
                response_format = None
            try:
                return self._create(conversation, response_format, max_tokens)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if (
                    self.structured_output != "auto"
                    or mode not in _FALLBACK
                    or not _FORMAT_WORDS.search(exc.message)
                ):
                    raise as_llm_error(exc, 1, self.base_url, self.model, self._redact) from exc
                logger.info(
                    "%s refused response_format %s (HTTP %s); falling back to %s",
                    self.base_url,
                    mode,
                    exc.status_code,
                    _FALLBACK[mode],
                )
                self._mode = _FALLBACK[mode]

    def _create(
        self,
        messages: list[ChatMessage],
        response_format: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> Any:
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
        }
        if response_format is not None:
            kwargs["response_format"] = response_format
        if max_tokens is not None:
            kwargs[self.token_param] = max_tokens
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        attempts = 0
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    response = self._client.chat.completions.create(**kwargs)
        except openai.APIError as exc:
            refused = isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError)
            if refused and response_format is not None:
                raise  # the caller may step down to a simpler response_format
            raise as_llm_error(exc, attempts, self.base_url, self.model, self._redact) from exc
        except ValueError as exc:  # a body that is not JSON, or not even text
            raise NotAChatCompletionError(self.base_url, f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(getattr(response, "choices", None), list):
            raise NotAChatCompletionError(self.base_url, f"a {type(response).__name__}")
        return response

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc)
        if asked is not None:
            return min(asked, self._max_retry_after_s)
        # Exponential backoff with "equal jitter": the wait grows, and clients that failed
        # together spread out instead of retrying in lockstep.
        ceiling = min(
            self._backoff_max_s, self._backoff_initial_s * 2 ** (state.attempt_number - 1)
        )
        return ceiling * random.uniform(0.5, 1.0)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # INFO, not WARNING: the CLI promises one line on failure, and retries are routine.
        logger.info(
            "LLM call to %s failed (%s); retry %d of %d in %.1f s",
            self.base_url,
            self._redact(cause(exc)),
            state.attempt_number,
            self.max_retries,
            wait,
        )

    def _redact(self, text: str) -> str:
        text = redact_url(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _content(response: Any) -> str:
    if not response.choices:
        return ""
    return response.choices[0].message.content or ""


def _usage(response: Any) -> tuple[int, int]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return 0, 0
    return usage.prompt_tokens or 0, usage.completion_tokens or 0
