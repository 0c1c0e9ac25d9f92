"""The co-scientist graph with its default collaborators, for ``langgraph dev`` / Studio.

``langgraph.json`` names :func:`make_graph`. LangGraph's server calls it with the
run's ``RunnableConfig``; its ``configurable`` may name the data (``data``, ``target``)
and the folder experiments are written to (``run_dir``). Everything else comes from the
settings (``$COSCI_HOME/settings.yaml`` and the COSCI_* variables), as for ``cosci run``:
the LLM (the embedded model unless an endpoint is configured), the memory store and
where it lives. The server brings its own checkpointer; the graph's input is
``{"goal": "..."}`` and its context an ``agents.RunContext``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agents import RunContext, build_graph
from agents.llm import LLMClient
from cosci._llm_factory import build_llm
from cosci._memory_factory import build_memory_store
from cosci._settings import Settings, load_settings
from tools import Toolbox

DEFAULT_DATA = "sklearn:breast_cancer"
"""The data set of a graph opened without one (``configurable.data`` or COSCI_GRAPH_DATA)."""


def default_collaborators(
    settings: Settings, configurable: Mapping[str, Any] | None = None
) -> tuple[LLMClient, Toolbox]:
    """The LLM and toolbox (with memory) the settings and ``configurable`` ask for.

    Nothing heavy is loaded here: the embedded model loads on its first call and the
    memory store on its first look-up.
    """
    configurable = configurable or {}
    data = str(configurable.get("data") or os.environ.get("COSCI_GRAPH_DATA") or DEFAULT_DATA)
    target = configurable.get("target") or os.environ.get("COSCI_GRAPH_TARGET") or None
    run_dir = Path(configurable.get("run_dir") or settings.home / "graph-runs" / "studio")
    use_memory = bool(configurable.get("use_memory", True))
    context = RunContext()
    llm = build_llm(settings, log_path=run_dir / "llm_calls.jsonl")
    tools = Toolbox(
        data,
        target,
        run_dir=run_dir,
        memory=build_memory_store(settings) if use_memory else None,
        run_name=run_dir.name,
        holdout_fraction=context.holdout,
        seed=context.seed,
    )
    return llm, tools


def make_graph(config: Mapping[str, Any] | None = None) -> CompiledStateGraph:
    """The compiled co-scientist graph for LangGraph's server (no checkpointer of its own)."""
    llm, tools = default_collaborators(load_settings(), (config or {}).get("configurable"))
    return build_graph(llm, tools)


__all__ = ["DEFAULT_DATA", "default_collaborators", "make_graph"]
