"""Experiment: one funded hypothesis, its two arms on the backend (fanned out with Send, so
each finished hypothesis is checkpointed on its own and never repeated after a crash).

The control arm runs first unless an identical arm (same space, trials and seed) already
ran in this run, then the treatment arm; both with the same budget, seed, folds and warm
starts, and the treatment with no more trials than the control completed. For constrained questions each arm's model size and predict latency are measured.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents._context import RunContext
from agents._messages import ArmCost, ExperimentTask
from agents._signature import arm_key
from agents.nodes._text import emit
from automl_backend import ExperimentResult, ExperimentSpec
from tools import ArmRun, Toolbox


def _run_arm(
    name: str,
    spec: ExperimentSpec,
    task: ExperimentTask,
    runtime: Runtime[RunContext],
    tools: Toolbox,
) -> ArmRun:
    h = task.hypothesis
    total = spec.budget.n_trials
    emit(
        runtime,
        "experiment",
        f"starting {name} ({total} trials)",
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

    run_name = h.id if name == "treatment" else f"{h.id}-control"
    run = tools.run_arm(
        run_name,
        spec,
        warm_start=task.warm_start,
        progress=progress,
        reuse_key=arm_key(spec) if name == "control" else None,
    )
    result = run.result
    label = h.treatment_label if name == "treatment" else h.control_label
    tools.record_run(run_name, f"{h.statement} ({name}: {label})", spec, result, task.profile)
    message = (
        f"{name}: best {result.metric} {result.best_score:.4f} after {result.n_trials} trials"
        if result.ok and result.best_score is not None
        else f"{name} failed: {result.reason}"
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
    return run


def _as_many_trials_as(spec: ExperimentSpec, control: ExperimentResult | None) -> ExperimentSpec:
    """The treatment arm with no more trials than the control completed: where time ends
    the searches (the last round fills the budget), a faster arm would otherwise get more
    trials than its opponent. A slower treatment may still finish fewer, which can only
    hide an effect, never make one."""
    limit = spec.budget.n_trials
    if control is None or not control.ok or limit is None or control.n_trials >= limit:
        return spec
    budget = spec.budget.model_copy(update={"n_trials": max(1, control.n_trials)})
    return spec.model_copy(update={"budget": budget})


def _cost(tools: Toolbox, result: ExperimentResult | None) -> ArmCost | None:
    if result is None or not result.ok:
        return None
    measured = tools.measure_cost(result.run_dir)
    if measured is None:
        return None
    return ArmCost(size_kb=measured[0], latency_ms_per_1000_rows=measured[1])


def run_experiment(
    task: ExperimentTask, runtime: Runtime[RunContext], *, tools: Toolbox
) -> dict[str, Any]:
    """Run the task's arms, attach the results, record them in the memory ledger."""
    h = task.hypothesis
    arms: dict[str, ExperimentResult] = {}
    spent = 0.0
    control = task.control_result
    if task.control is not None and control is None:
        control_run = _run_arm("control", task.control, task, runtime, tools)
        control = control_run.result
        arms[arm_key(task.control)] = control
        # A control that another hypothesis of this round already ran costs nothing more.
        spent += control_run.charged_s
    elif control is not None:
        emit(
            runtime,
            "experiment",
            f"control: reusing the identical arm that already ran ({control.metric} "
            f"{control.best_score:.4f})",
            agent="experiment",
            hypothesis_id=h.id,
        )
    spec = _as_many_trials_as(task.spec, control)
    if spec is not task.spec:
        emit(
            runtime,
            "experiment",
            f"treatment: capped at the control's {spec.budget.n_trials} trials (equal trial "
            "budgets for both arms)",
            agent="experiment",
            hypothesis_id=h.id,
        )
    treatment_run = _run_arm("treatment", spec, task, runtime, tools)
    result = treatment_run.result
    arms[arm_key(spec)] = result
    spent += treatment_run.charged_s
    failed = [
        f"{name} arm failed: {r.reason}"
        for name, r in (("control", control), ("treatment", result))
        if r is not None and not r.ok
    ]
    updates: dict[str, Any] = {
        "status": "failed" if failed else "tested",
        "status_reason": "; ".join(failed) or None,
        "result": result,
        "control_result": control,
        "trials_allocated": spec.budget.n_trials or 0,
    }
    if task.measure_cost and not failed:
        updates["treatment_cost"] = _cost(tools, result)
        updates["control_cost"] = _cost(tools, control)
    updated = h.model_copy(update=updates)
    return {"hypotheses": {h.id: updated}, "arms": arms, "spent_s": spent}
