"""Every setting is a COSCI_<NAME> variable and a settings.yaml key; repair tries reach
the LLM clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.llm import LocalLLM, OpenAICompatibleLLM
from cosci._llm_factory import build_llm
from cosci._settings import Settings, SettingsError, env_names, load_settings

SAMPLES = {
    "llm_base_url": ("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"),
    "llm_model": ("m", "m"),
    "llm_threads": ("3", 3),
    "llm_four_bit": ("false", False),
    "llm_timeout_s": ("7.5", 7.5),
    "llm_max_retries": ("2", 2),
    "llm_max_concurrency": ("3", 3),
    "llm_structured_output": ("prompt", "prompt"),
    "llm_temperature": ("none", None),
    "llm_token_param": ("max_completion_tokens", "max_completion_tokens"),
    "llm_repair_tries": ("3", 3),
    "chroma_url": ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
}


def test_every_setting_has_a_sample_here() -> None:
    assert set(Settings.model_fields) - {"home", "llm_api_key"} == set(SAMPLES)


@pytest.mark.parametrize("field", sorted(SAMPLES))
def test_each_setting_from_its_variable_and_from_the_file(field: str, tmp_path: Path) -> None:
    text, expected = SAMPLES[field]
    name = env_names(field)[0]
    assert name == f"COSCI_{field.upper()}"
    from_env = load_settings({"COSCI_HOME": str(tmp_path), name: text})
    assert getattr(from_env, field) == expected
    value = None if expected is None else expected
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({field: value}))
    assert getattr(load_settings({"COSCI_HOME": str(tmp_path)}), field) == expected


def test_api_key_and_earlier_names(tmp_path: Path) -> None:
    home = {"COSCI_HOME": str(tmp_path)}
    key = load_settings({**home, "OPENAI_API_KEY": "sk-a"}).llm_api_key
    assert key is not None and key.get_secret_value() == "sk-a"
    both = load_settings({**home, "COSCI_LLM_API_KEY": "sk-b", "OPENAI_API_KEY": "sk-a"})
    assert both.llm_api_key is not None and both.llm_api_key.get_secret_value() == "sk-b"
    assert load_settings({**home, "COSCI_LLM_TIMEOUT": "9"}).llm_timeout_s == 9
    assert (
        load_settings({**home, "COSCI_LLM_TIMEOUT_S": "8", "COSCI_LLM_TIMEOUT": "9"}).llm_timeout_s
        == 8
    )
    with pytest.raises(SettingsError, match="llm_repair_tries"):
        load_settings({**home, "COSCI_LLM_REPAIR_TRIES": "9"})


def test_repair_tries_reach_both_clients(tmp_path: Path) -> None:
    local = build_llm(Settings(home=tmp_path, llm_repair_tries=0))
    assert isinstance(local, LocalLLM) and local.repair_tries == 0
    remote = build_llm(
        Settings(home=tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m",
                 llm_repair_tries=4)
    )  # fmt: skip
    assert isinstance(remote, OpenAICompatibleLLM) and remote.repair_tries == 4
    default = build_llm(Settings(home=tmp_path))
    assert isinstance(default, LocalLLM) and default.repair_tries == LocalLLM(tmp_path).repair_tries


def test_max_concurrency_reaches_the_endpoint_client_and_zero_is_refused(tmp_path: Path) -> None:
    remote = build_llm(
        Settings(home=tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m",
                 llm_max_concurrency=2)
    )  # fmt: skip
    assert isinstance(remote, OpenAICompatibleLLM) and remote.max_concurrency == 2
    with pytest.raises(SettingsError, match="llm_max_concurrency"):
        load_settings({"COSCI_HOME": str(tmp_path), "COSCI_LLM_MAX_CONCURRENCY": "0"})
