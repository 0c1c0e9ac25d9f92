"""Deterministic construction of experiments: drafts and decisions become valid specs.

Every experiment of a run shares the plan's task, metric, folds and seed, so two results
are always paired fold by fold. Each experiment also builds the backend's greedy ensemble
of its best trials (that model is what ``best_model/`` keeps); the tournament compares the
per-fold scores of the best single configuration, which the ensemble does not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agents._messages import Hypothesis, Prediction, ResearchPlan
from automl_backend import (
    ExperimentSpec,
    ModelSpace,
    TrialConfig,
    family_info,
    family_names,
    metric_is_loss,
    narrow_space_around,
    parse_spec,
)

BASELINE_FAMILY = "hist_gradient_boosting"
"""The backend's strong default; every prediction is registered against its default config."""
BASELINE_TEXT = "the default hist_gradient_boosting configuration"


def run_settings(plan: ResearchPlan) -> dict[str, object]:
    """Spec fields every experiment of the run shares."""
    return {
        "task": plan.task,
        "metric": plan.metric,
        "cv": {"folds": plan.budgets.folds},
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
    data["cv"] = {**spec.cv.model_dump(mode="json"), "folds": plan.budgets.folds}
    return parse_spec(data, source="edited experiment")


def baseline_spec(plan: ResearchPlan) -> ExperimentSpec:
    """One trial of the baseline family's default configuration."""
    return parse_spec(
        {
            **run_settings(plan),
            "name": "baseline",
            "models": [{"family": BASELINE_FAMILY}],
            "search": {"enqueue_defaults": True},
            "budget": {"n_trials": 1, "time_s": None},
        },
        source="baseline experiment",
    )


def with_budget(spec: ExperimentSpec, n_trials: int, time_s: float) -> ExperimentSpec:
    """``spec`` with its compute allocation: trials first, a time cap as a safety net."""
    return spec.model_copy(
        update={"budget": spec.budget.model_copy(update={"n_trials": n_trials, "time_s": time_s})},
        deep=True,
    )


def margin_from_points(points: float, metric: str, baseline_score: float | None) -> float:
    """A registered gain in score units: a point is 0.01 of a bounded metric, or 1 % of the
    baseline's loss for an unbounded one (rmse, mae, log_loss)."""
    if metric_is_loss(metric) and baseline_score is not None:
        return round(abs(baseline_score) * points / 100.0, 6)
    return round(points / 100.0, 6)


def make_prediction(points: float, metric: str, baseline_score: float | None) -> Prediction:
    comparator = "better" if points > 0 else "not_worse"
    margin = margin_from_points(points if points > 0 else 1.0, metric, baseline_score)
    return Prediction(comparator=comparator, margin=margin, baseline=BASELINE_TEXT)


def prediction_held(prediction: Prediction, score: float, baseline_score: float) -> bool:
    """Whether a measured mean CV score confirms the registered prediction."""
    diff = score - baseline_score
    if prediction.comparator == "better":
        return diff >= prediction.margin - 1e-12
    return diff >= -prediction.margin - 1e-12


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
    return narrow_space_around(parent.experiment, parent.result.best_config, factor)


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
    "BASELINE_FAMILY",
    "baseline_spec",
    "build_spec",
    "combined_spec",
    "conform_spec",
    "make_prediction",
    "narrowed_spec",
    "prediction_held",
    "simplified_spec",
    "untried_families",
    "with_budget",
]


_FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    "logistic": ("logistic", "linear"),
    "ridge": ("ridge", "linear"),
    "elastic_net": ("elastic", "lasso", "linear"),
    "random_forest": ("random forest", "forest"),
    "extra_trees": ("extra trees", "extra-trees", "extremely randomi"),
    "hist_gradient_boosting": ("gradient boost", "histgradient", "hist gradient"),
    "lightgbm": ("lightgbm", "light gbm", "gradient boost"),
    "svm": ("svm", "support vector", "kernel"),
    "knn": ("knn", "k-nn", "nearest neighbo"),
    "mlp": ("mlp", "neural", "perceptron"),
}


def names_its_experiment(statement: str, families: Sequence[str]) -> bool:
    """Whether a claim names (one of) the model families its experiment searches.

    A weak model often writes a statement about nothing in particular ("A single
    sentence."); a claim that does not say what it tests cannot be refuted by the test.
    """
    text = statement.lower().replace("_", " ")
    return any(
        family.replace("_", " ") in text
        or any(word in text for word in _FAMILY_WORDS.get(family, ()))
        for family in families
    )


def rule_statement(families: Sequence[str], points: float, metric: str) -> str:
    """A falsifiable claim that says exactly what the experiment tests."""
    searched = " together with ".join(families)
    if points > 0:
        return f"A tuned {searched} search beats {BASELINE_TEXT} by at least {points:g} points of {metric}."
    return f"A tuned {searched} search does as well as {BASELINE_TEXT} on {metric}."
