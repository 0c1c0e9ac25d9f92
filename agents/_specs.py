"""Deterministic construction of experiments: drafts and decisions become valid specs.

Every experiment of a run shares one fold plan, fixed before the first experiment: the
plan's task, metric, fold count, seed and an explicit CV strategy (stratified k-fold for
classification, k-fold for regression). The backend's ``auto`` strategy would switch a
large experiment to a holdout split, and two arms with different fold counts could not
be compared; an explicit strategy never switches. Each experiment also builds the
backend's greedy ensemble of its best trials; the comparisons use the per-fold scores of
the best single configuration, which the ensemble does not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agents._messages import Hypothesis, ResearchPlan
from automl_backend import (
    ExperimentSpec,
    ModelSpace,
    TrialConfig,
    family_info,
    family_names,
    narrow_space_around,
    parse_spec,
)

REFERENCE_FAMILY = "hist_gradient_boosting"
"""The backend's strong default: the control family of family interventions."""


def fold_plan(plan: ResearchPlan) -> dict[str, object]:
    """The run's one fold plan: an explicit strategy and fold count (never ``auto``)."""
    strategy = "kfold" if plan.task == "regression" else "stratified"
    return {"strategy": strategy, "folds": plan.budgets.folds}


def run_settings(plan: ResearchPlan) -> dict[str, object]:
    """Spec fields every experiment of the run shares."""
    return {
        "task": plan.task,
        "metric": plan.metric,
        "cv": fold_plan(plan),
        "seed": plan.budgets.seed,
        "ensemble": {"enabled": True},
    }


def build_spec(
    plan: ResearchPlan,
    families: Sequence[str],
    *,
    scaling: str = "auto",
    feature_selection: str = "none",
    name: str | None = None,
) -> ExperimentSpec:
    """A spec searching the default spaces of ``families`` under the run's settings."""
    return parse_spec(
        {
            **run_settings(plan),
            "name": name,
            "models": [{"family": f} for f in dict.fromkeys(families)],
            "preprocessing": {"scaling": [scaling], "feature_selection": [feature_selection]},
        },
        source="hypothesis experiment",
    )


def conform_spec(spec: ExperimentSpec, plan: ResearchPlan) -> ExperimentSpec:
    """``spec`` with the run's shared settings imposed (a person's edit keeps its space)."""
    data = spec.model_dump(mode="json")
    data.update(run_settings(plan))
    data["cv"] = {**spec.cv.model_dump(mode="json"), **fold_plan(plan)}
    return parse_spec(data, source="edited experiment")


def with_budget(spec: ExperimentSpec, n_trials: int, time_s: float) -> ExperimentSpec:
    """``spec`` with its compute allocation: trials first, a time cap as a safety net."""
    return spec.model_copy(
        update={"budget": spec.budget.model_copy(update={"n_trials": n_trials, "time_s": time_s})},
        deep=True,
    )


def used_families(hypotheses: Iterable[Hypothesis]) -> set[str]:
    return {f for h in hypotheses for f in h.families}


def untried_families(plan: ResearchPlan, hypotheses: Iterable[Hypothesis]) -> list[str]:
    """Families of the task no hypothesis has searched yet, cheapest first."""

    used = used_families(hypotheses)
    free = [f for f in family_names(plan.task) if f not in used]
    return sorted(free, key=lambda f: (family_info(f).relative_cost, f))


def narrowed_spec(parent: Hypothesis, factor: float) -> ExperimentSpec | None:
    """The parent's space narrowed around its best configuration, or None if untested."""
    if parent.result is None or parent.result.best_config is None:
        return None
    narrowed = narrow_space_around(parent.experiment, parent.result.best_config, factor)
    # The child competes against its parent: starting it from the parent's best
    # configuration would let it win by reproducing that configuration.
    return narrowed.model_copy(update={"warm_start": []})


def simplified_spec(parent: Hypothesis, plan: ResearchPlan) -> ExperimentSpec | None:
    """Only the parent's best family, plain preprocessing; None if nothing gets simpler."""
    best: TrialConfig | None = parent.result.best_config if parent.result else None
    family = best.family if best else parent.families[0]
    pre = parent.experiment.preprocessing
    plain = pre.feature_selection == ["none"] and len(pre.scaling) == 1
    if len(parent.families) == 1 and plain:
        return None
    return build_spec(plan, [family], scaling=pre.scaling[0])


def combined_spec(a: Hypothesis, b: Hypothesis, plan: ResearchPlan) -> ExperimentSpec | None:
    """The union of two hypotheses' families (at most three); None if it adds nothing."""
    families = list(dict.fromkeys([*a.families, *b.families]))[:3]
    if set(families) <= set(a.families):
        return None
    models = {m.family: m for m in [*b.experiment.models, *a.experiment.models]}
    spec = build_spec(plan, families, scaling=a.experiment.preprocessing.scaling[0])
    kept: list[ModelSpace] = [models.get(f, ModelSpace(family=f)) for f in families]
    return spec.model_copy(update={"models": kept}, deep=True)


__all__ = [
    "REFERENCE_FAMILY",
    "build_spec",
    "combined_spec",
    "conform_spec",
    "fold_plan",
    "narrowed_spec",
    "run_settings",
    "simplified_spec",
    "untried_families",
    "with_budget",
]
