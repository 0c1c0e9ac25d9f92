"""Experiment: one funded hypothesis, one backend run (fanned out with Send, so each
finished experiment is checkpointed on its own and never repeated after a crash)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._messages import ExperimentTask
from agents.nodes._text import emit
from tools import Toolbox


def run_experiment(
    task: ExperimentTask, runtime: Runtime[RunContext], *, tools: Toolbox
) -> dict[str, Any]:
    """Run the task's spec, attach the result, record it in the memory ledger."""
    h = task.hypothesis
    total = task.spec.budget.n_trials
    emit(
        runtime,
        "experiment",
        f"starting ({total} trials)",
        agent="experiment",
        hypothesis_id=h.id,
        done=0,
        total=total,
    )

    def progress(event: Any) -> None:
        # The backend's ProgressEvent: trials_done, best_score, phase.
        emit(
            runtime,
            "trial",
            "",
            agent="experiment",
            hypothesis_id=h.id,
            done=event.trials_done,
            total=total,
            best=event.best_score,
        )

    result = tools.run_experiment(h.id, task.spec, warm_start=task.warm_start, progress=progress)
    tools.record_run(h.id, h.statement, task.spec, result, task.profile)
    status = "tested" if result.ok else "failed"
    reason = None if result.ok else f"experiment failed: {result.reason}"
    message = (
        f"best {result.metric} {result.best_score:.4f} after {result.n_trials} trials"
        if result.ok and result.best_score is not None
        else reason or "failed"
    )
    emit(
        runtime,
        "experiment",
        message,
        agent="experiment",
        hypothesis_id=h.id,
        done=result.n_trials,
        total=total,
        best=result.best_score,
    )
    updated = h.model_copy(
        update={
            "status": status,
            "status_reason": reason,
            "result": result,
            "trials_allocated": total or 0,
        }
    )
    return {"hypotheses": {h.id: updated}, "spent_s": result.fit_time_s}
