"""agents: the co-scientist, a LangGraph graph of LLM agents grounded in experiments.

``build_graph(llm, tools, checkpointer=...)`` assembles it; ``RunContext`` configures a
run; the records (Hypothesis, Review, Match, ResearchPlan, MetaReview) are pydantic
models. Names load lazily so ``import agents.llm`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automl_backend.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "build_graph": "graph",
    "Answer": "_answer",
    "EvidenceRow": "_answer",
    "build_answer": "_answer",
    "Effect": "_effects",
    "measure_effect": "_effects",
    "judge_prediction": "_effects",
    "leader_order": "_schedule",
    "RunContext": "_context",
    "ResearchState": "_state",
    "Budgets": "_messages",
    "EloSnapshot": "_messages",
    "Hypothesis": "_messages",
    "Match": "_messages",
    "MetaReview": "_messages",
    "Prediction": "_messages",
    "ProgressEvent": "_messages",
    "ResearchPlan": "_messages",
    "Review": "_messages",
    "HumanDecision": "_human",
    "HumanHypothesis": "_human",
    "HumanReviewNote": "_human",
    "ReviewDecisions": "_human",
    "ReviewRequest": "_human",
    "apply_decisions": "_human",
    "check_decisions": "_human",
    "load_decisions": "_human",
    "CoScientistError": "_guard",
    "LLMUnusableError": "_guard",
    "open_checkpointer": "_checkpoint",
    "ResearchRun": "_session",
    "RunConfig": "_run_config",
    "INITIAL_ELO": "_elo",
    "elo_update": "_elo",
    "compare_fold_scores": "_paired",
    "schedule_matches": "_schedule",
    "allocate_trials": "_budget",
    "cluster_ids": "_similarity",
    "nearest_duplicate": "_similarity",
}

__all__ = [
    "INITIAL_ELO",
    "Answer",
    "Budgets",
    "CoScientistError",
    "Effect",
    "EloSnapshot",
    "EvidenceRow",
    "HumanDecision",
    "HumanHypothesis",
    "HumanReviewNote",
    "Hypothesis",
    "LLMUnusableError",
    "Match",
    "MetaReview",
    "Prediction",
    "ProgressEvent",
    "ResearchPlan",
    "ResearchRun",
    "ResearchState",
    "Review",
    "ReviewDecisions",
    "ReviewRequest",
    "RunConfig",
    "RunContext",
    "allocate_trials",
    "apply_decisions",
    "build_answer",
    "build_graph",
    "check_decisions",
    "cluster_ids",
    "compare_fold_scores",
    "elo_update",
    "judge_prediction",
    "leader_order",
    "load_decisions",
    "measure_effect",
    "nearest_duplicate",
    "open_checkpointer",
    "schedule_matches",
]

if TYPE_CHECKING:
    from agents._answer import Answer, EvidenceRow, build_answer
    from agents._budget import allocate_trials
    from agents._checkpoint import open_checkpointer
    from agents._context import RunContext
    from agents._effects import Effect, judge_prediction, measure_effect
    from agents._elo import INITIAL_ELO, elo_update
    from agents._guard import CoScientistError, LLMUnusableError
    from agents._human import (
        HumanDecision,
        HumanHypothesis,
        HumanReviewNote,
        ReviewDecisions,
        ReviewRequest,
        apply_decisions,
        check_decisions,
        load_decisions,
    )
    from agents._messages import (
        Budgets,
        EloSnapshot,
        Hypothesis,
        Match,
        MetaReview,
        Prediction,
        ProgressEvent,
        ResearchPlan,
        Review,
    )
    from agents._paired import compare_fold_scores
    from agents._run_config import RunConfig
    from agents._schedule import leader_order, schedule_matches
    from agents._session import ResearchRun
    from agents._similarity import cluster_ids, nearest_duplicate
    from agents._state import ResearchState
    from agents.graph import build_graph

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
