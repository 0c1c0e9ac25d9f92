"""Human review: pause before compute is spent on new hypotheses, unless auto-approved."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agents._context import RunContext
from agents._guard import CoScientistError
from agents._human import ReviewDecisions, ReviewRequest, apply_decisions
from agents._state import ResearchState
from agents.nodes._text import embedding_text, emit
from tools import Toolbox


def human_review(
    state: ResearchState, runtime: Runtime[RunContext], *, tools: Toolbox
) -> dict[str, Any]:
    """Ask a person about the waiting proposals; resumed with a ReviewDecisions."""
    hypotheses = state.get("hypotheses", {})
    waiting = sorted(
        (h.id for h in hypotheses.values() if h.status == "proposed"), key=lambda i: int(i[1:])
    )
    if not waiting:
        return {}
    round_ = state.get("round", 1)
    if runtime.context.auto_approve:
        decisions = ReviewDecisions()
    else:
        emit(
            runtime, "agent", f"waiting for a person to review {', '.join(waiting)}", agent="human"
        )
        # Everything above is deterministic: LangGraph re-runs this node from the top on resume.
        raw = interrupt(ReviewRequest(round=round_, hypothesis_ids=waiting))
        try:
            decisions = (
                raw if isinstance(raw, ReviewDecisions) else ReviewDecisions.model_validate(raw)
            )
        except ValidationError as exc:
            raise CoScientistError(f"the review decisions do not validate: {exc}") from None
    updates = apply_decisions(
        decisions,
        hypotheses=hypotheses,
        waiting=waiting,
        plan=state["plan"],
        round_=round_,
        embed=lambda added: tools.embed([embedding_text(h) for h in added]),
    )
    approved = [h for h, v in updates["hypotheses"].items() if v.status == "approved"]
    emit(runtime, "agent", f"approved {', '.join(approved) or 'nothing'}", agent="human")
    return updates
