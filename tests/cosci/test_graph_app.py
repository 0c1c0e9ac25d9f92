"""langgraph.json: the graph loads the way LangGraph's server loads it, with the default
collaborators built from the settings (nothing heavy is loaded to build it)."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph.state import CompiledStateGraph

from agents.llm import LocalLLM, OpenAICompatibleLLM, RecordingLLM
from cosci._settings import load_settings
from cosci.graph_app import DEFAULT_DATA, default_collaborators

ROOT = Path(__file__).parents[2]
NODES = {
    "plan", "generation", "reflection", "human_review", "rank_proposals", "allocate",
    "experiment", "observe", "rank_results", "proximity", "meta_review", "supervisor",
    "evolution", "final_evaluation", "overview",
}  # fmt: skip


def _load_as_langgraph_does(spec: str) -> Any:
    """``./path/to/file.py:attr`` relative to langgraph.json, imported from its file."""
    path, _, attr = spec.partition(":")
    file = (ROOT / path).resolve()
    module_spec = importlib.util.spec_from_file_location("cosci_langgraph_graph", file)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return getattr(module, attr)


def test_langgraph_json_names_a_factory_that_builds_the_graph(tmp_path: Path) -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."] and set(config["graphs"]) == {"cosci"}
    factory = _load_as_langgraph_does(config["graphs"]["cosci"])
    started = time.perf_counter()
    graph = factory({"configurable": {"data": "sklearn:iris", "run_dir": str(tmp_path)}})
    assert time.perf_counter() - started < 5, "building the graph must not load a model"
    assert isinstance(graph, CompiledStateGraph)
    assert set(graph.get_graph().nodes) - {"__start__", "__end__"} == NODES
    assert "human_review" in graph.get_graph().draw_mermaid()
    assert graph.checkpointer is None  # LangGraph's server brings its own


def test_the_collaborators_follow_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm, tools = default_collaborators(load_settings(), {"run_dir": str(tmp_path)})
    assert isinstance(llm, RecordingLLM) and isinstance(llm.inner, LocalLLM)
    assert llm.log_path == tmp_path / "llm_calls.jsonl"
    assert tools.data == DEFAULT_DATA and tools.run_dir == tmp_path and tools.memory is not None

    monkeypatch.setenv("COSCI_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COSCI_LLM_MODEL", "some-model")
    monkeypatch.setenv("COSCI_GRAPH_DATA", "sklearn:wine")
    llm, tools = default_collaborators(load_settings(), {"use_memory": False})
    assert isinstance(llm, RecordingLLM) and isinstance(llm.inner, OpenAICompatibleLLM)
    assert tools.data == "sklearn:wine" and tools.memory is None
