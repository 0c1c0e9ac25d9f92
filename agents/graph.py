"""The co-scientist graph, assembled in one place.

One round::

    generation -> reflection -> human_review -> rank_proposals -> allocate
        -> experiment (one Send per funded hypothesis) -> observe -> rank_results
        -> proximity -> meta_review -> supervisor -> evolution -> generation ...
                                                 \\-> final_evaluation -> overview -> END

``plan`` runs once before the first round (profile, plan, baseline). Collaborators are
injected: the LLM client, the toolbox (backend and memory) and the checkpointer. Run
configuration is the runtime context (:class:`agents.RunContext`), passed per invocation.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents._context import RunContext
from agents._state import ResearchState
from agents.llm import LLMClient
from agents.nodes import (
    evolution,
    experiment,
    generation,
    human_review,
    meta_review,
    planning,
    proximity,
    ranking,
    reflection,
    supervisor,
)
from tools import Toolbox


def build_graph(
    llm: LLMClient,
    tools: Toolbox,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> CompiledStateGraph:
    """The compiled co-scientist graph for one run's collaborators."""
    graph = StateGraph(ResearchState, context_schema=RunContext)
    graph.add_node("plan", partial(planning.plan, llm=llm, tools=tools))
    graph.add_node("generation", partial(generation.generate, llm=llm, tools=tools))
    graph.add_node("reflection", partial(reflection.reflect, llm=llm, tools=tools))
    graph.add_node("human_review", partial(human_review.human_review, tools=tools))
    graph.add_node("rank_proposals", partial(ranking.rank_proposals, llm=llm))
    graph.add_node("allocate", partial(supervisor.allocate, tools=tools))
    graph.add_node("experiment", partial(experiment.run_experiment, tools=tools))
    graph.add_node("observe", reflection.observe)
    graph.add_node("rank_results", ranking.rank_results)
    graph.add_node("proximity", proximity.proximity)
    graph.add_node("meta_review", partial(meta_review.meta_review, llm=llm))
    graph.add_node("supervisor", partial(supervisor.supervise, tools=tools))
    graph.add_node("evolution", partial(evolution.evolve, llm=llm))
    graph.add_node("final_evaluation", partial(meta_review.final_evaluation, tools=tools))
    graph.add_node("overview", partial(meta_review.overview, llm=llm))

    graph.add_edge(START, "plan")
    graph.add_edge("plan", "generation")
    graph.add_edge("generation", "reflection")
    graph.add_edge("reflection", "human_review")
    graph.add_edge("human_review", "rank_proposals")
    graph.add_edge("rank_proposals", "allocate")
    graph.add_conditional_edges("allocate", supervisor.route_experiments, ["experiment", "observe"])
    graph.add_edge("experiment", "observe")
    graph.add_edge("observe", "rank_results")
    graph.add_edge("rank_results", "proximity")
    graph.add_edge("proximity", "meta_review")
    graph.add_edge("meta_review", "supervisor")
    graph.add_conditional_edges(
        "supervisor", supervisor.route_after_supervisor, ["evolution", "final_evaluation"]
    )
    graph.add_edge("evolution", "generation")
    graph.add_edge("final_evaluation", "overview")
    graph.add_edge("overview", END)
    return graph.compile(checkpointer=checkpointer)
