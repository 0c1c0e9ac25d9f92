"""The closed list of interventions a run may test, built by rules from the plan and data.

Each intervention changes one factor between a control arm and a treatment arm (two
validated ExperimentSpecs sharing the run's folds, seed and budget) and registers a
prediction before compute. The LLM never writes a spec: generation offers it the keys of
these interventions (a Literal enum) and the model picks one, or a rule picks in order.

The list covers every factor of the vocabulary that applies to the data; the plan's
factors come first, interleaved so that one round tests each of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from agents._messages import Prediction, ResearchPlan, Secondary
from agents._questions import Factor
from agents._specs import build_spec
from automl_backend import (
    BackendError,
    DatasetProfile,
    ExperimentSpec,
    FeatureTransform,
    describe_transform,
    family_info,
    family_names,
    parse_spec,
)

SIMPLE_FAMILIES = ("logistic", "ridge", "elastic_net", "knn")
"""Small models for constrained questions, smallest first (measured sizes decide)."""
SCALING_LEVELS = ("standard", "robust", "quantile", "minmax")
LEARNING_CURVE_FRACTION = 0.5


@dataclass(frozen=True)
class Intervention:
    """One candidate hypothesis: a factor, two arms and the registered prediction."""

    key: str
    """Stable id offered to the LLM, e.g. ``scaling:knn:none->standard``."""
    factor: Factor
    control: ExperimentSpec
    treatment: ExperimentSpec
    control_label: str
    treatment_label: str
    direction: Literal["better", "not_worse"]
    min_effect_points: float
    secondary: Secondary | None = None

    def prediction(self) -> Prediction:
        return Prediction(
            direction=self.direction,
            min_effect_points=self.min_effect_points,
            control=self.control_label,
            secondary=self.secondary,
        )

    def statement(self, metric: str) -> str:
        """The claim, written by rule from the two arms (it says exactly what is tested)."""
        if self.direction == "better":
            text = (
                f"{self.treatment_label} beats {self.control_label} by at least "
                f"{self.min_effect_points:g} points of {metric}."
            )
        else:
            goal = {"model_size": ", with a smaller model", "latency": ", predicting faster"}
            extra = goal[self.secondary] if self.secondary else ""
            text = (
                f"{self.treatment_label} scores within {self.min_effect_points:g} points of "
                f"{self.control_label} on {metric}{extra}."
            )
        return "A" + text[1:] if text.startswith("a ") else text


def _spec(
    plan: ResearchPlan,
    family: str,
    *,
    scaling: str = "auto",
    selection: str = "none",
    encoding: str = "auto",
    params: dict[str, object] | None = None,
    train_fraction: float = 1.0,
    oversampling: str = "none",
    features: Sequence[FeatureTransform] = (),
) -> ExperimentSpec | None:
    try:
        spec = build_spec(plan, [family], scaling=scaling, feature_selection=selection)
    except BackendError:
        return None
    data = spec.model_dump(mode="json")
    data["preprocessing"]["encoding"] = [encoding]
    data["preprocessing"]["oversampling"] = [oversampling]
    data["features"] = [t.model_dump(mode="json") for t in features]
    if params:
        data["models"][0]["params"] = {
            name: {"type": "categorical", "choices": [value]} for name, value in params.items()
        }
    data["cv"]["train_fraction"] = train_fraction
    try:
        return parse_spec(data, source="intervention")
    except BackendError:
        return None


def _label(family: str, scaling: str = "auto", extra: str = "") -> str:
    text = family
    if scaling != "auto":
        text += ", no scaling" if scaling == "none" else f", {scaling} scaling"
    return text + (f", {extra}" if extra else "")


def _pair(
    key: str,
    factor: Factor,
    arms: tuple[ExperimentSpec | None, ExperimentSpec | None],
    labels: tuple[str, str],
    points: float,
    *,
    direction: Literal["better", "not_worse"] = "better",
    secondary: Secondary | None = None,
) -> list[Intervention]:
    """One intervention, or none when either arm does not validate for the data."""
    control, treatment = arms
    if control is None or treatment is None:
        return []
    return [
        Intervention(
            key=key,
            factor=factor,
            control=control,
            treatment=treatment,
            control_label=labels[0],
            treatment_label=labels[1],
            direction=direction,
            min_effect_points=points,
            secondary=secondary,
        )
    ]


def _family_factor(plan: ResearchPlan, families: Sequence[str], gain: float) -> list[Intervention]:
    """Control: the reference (or the question's own) family; treatment: another family."""
    valid = family_names(plan.task)
    if plan.focus_families:
        base = plan.focus_families[0]
        base_scaling = "standard" if family_info(base).scale_sensitive else "auto"
    else:
        base, base_scaling = plan.reference_family, "auto"
    control = _spec(plan, base, scaling=base_scaling)
    return [
        item
        for family in families
        if family != base and family in valid
        for item in _pair(
            f"family:{base}->{family}",
            "family",
            (control, _spec(plan, family)),
            (f"a tuned {_label(base, base_scaling)}", f"a tuned {family}"),
            gain,
        )
    ]


def _scaling_factor(plan: ResearchPlan, gain: float) -> list[Intervention]:
    valid = family_names(plan.task)
    sensitive = [f for f in valid if family_info(f).scale_sensitive]
    families = [f for f in plan.focus_families if f in valid] or [
        f for f in ("knn", "svm", "logistic", "ridge", "mlp") if f in sensitive
    ]
    return [
        item
        for level in SCALING_LEVELS
        for family in families
        for item in _pair(
            f"scaling:{family}:none->{level}",
            "scaling",
            (_spec(plan, family, scaling="none"), _spec(plan, family, scaling=level)),
            (f"{family} on unscaled features", f"{family} with {level} scaling"),
            gain,
        )
    ]


def _base_family(plan: ResearchPlan, needs_param: str | None = None) -> str:
    valid = family_names(plan.task)
    candidates = [*plan.focus_families, plan.reference_family, "random_forest", "logistic"]
    for family in candidates:
        if family not in valid:
            continue
        if needs_param and needs_param not in family_info(family).hyperparameters:
            continue
        return family
    return valid[0]


def _constrained(plan: ResearchPlan) -> list[Intervention]:
    """Small families against the reference family, predicted not worse within tolerance."""
    valid = family_names(plan.task)
    tolerance = plan.tolerance_points if plan.tolerance_points is not None else 1.0
    reference = plan.reference_family
    control = _spec(plan, reference)
    return [
        item
        for family in [f for f in SIMPLE_FAMILIES if f in valid] + ["random_forest"]
        if family != reference
        for item in _pair(
            f"smaller:{reference}->{family}",
            "family",
            (control, _spec(plan, family)),
            (f"a tuned {reference}", f"a tuned {family}"),
            tolerance,
            direction="not_worse",
            secondary=plan.secondary or "model_size",
        )
    ]


def interventions(
    plan: ResearchPlan,
    profile: DatasetProfile,
    *,
    gain_points: float = 1.0,
    feature_candidates: Sequence[FeatureTransform] = (),
) -> list[Intervention]:
    """Every intervention that applies to this plan and data, in priority order.

    ``feature_candidates`` are the backend's rule-made transform candidates for the data
    (``automl_backend.candidate_features``); each becomes a "with vs without" pair."""
    by_factor: dict[str, list[Intervention]] = {}
    valid = family_names(plan.task)
    by_factor["family"] = _family_factor(
        plan,
        [f for f in (plan.reference_family, "logistic", "ridge", "random_forest", "lightgbm",
                     "extra_trees", "svm", "knn", "mlp", "elastic_net") if f in valid],
        gain_points,
    )  # fmt: skip
    by_factor["scaling"] = _scaling_factor(plan, gain_points)
    base = _base_family(plan)
    if profile.n_categorical > 0:
        by_factor["encoding"] = [
            item
            for level in ("ordinal", "target")
            for item in _pair(
                f"encoding:{base}:onehot->{level}", "encoding",
                (_spec(plan, base, encoding="onehot"), _spec(plan, base, encoding=level)),
                (f"{base} with one-hot encoding", f"{base} with {level} encoding"), gain_points,
            )
        ]  # fmt: skip
    by_factor["feature_selection"] = _pair(
        f"feature_selection:{base}:none->kbest", "feature_selection",
        (_spec(plan, base), _spec(plan, base, selection="kbest")),
        (f"{base} on all features", f"{base} on the k best features"), gain_points,
    )  # fmt: skip
    if plan.task != "regression":
        weighted = _base_family(plan, "class_weight")
        if "class_weight" in family_info(weighted).hyperparameters:
            by_factor["class_weighting"] = _pair(
                f"class_weighting:{weighted}:none->balanced", "class_weighting",
                (_spec(plan, weighted, params={"class_weight": None}),
                 _spec(plan, weighted, params={"class_weight": "balanced"})),
                (f"{weighted} without class weights", f"{weighted} with balanced class weights"),
                gain_points,
            ) + _pair(
                f"class_weighting:{base}:none->smote", "class_weighting",
                (_spec(plan, base), _spec(plan, base, oversampling="smote")),
                (f"{base} on the data as it is", f"{base} with SMOTE oversampling in each training fold"),
                gain_points,
            )  # fmt: skip
    by_factor["train_fraction"] = _pair(
        f"train_fraction:{base}:{LEARNING_CURVE_FRACTION:g}->1", "train_fraction",
        (_spec(plan, base, train_fraction=LEARNING_CURVE_FRACTION), _spec(plan, base)),
        (f"{base} trained on {LEARNING_CURVE_FRACTION:.0%} of each training fold",
         f"{base} trained on all of it"), gain_points,
    )  # fmt: skip
    named = set(plan.focus_transforms)
    by_factor["features"] = [
        item
        for transform in feature_candidates
        if not named or transform.kind in named
        for item in _pair(
            f"features:{base}:+{describe_transform(transform)}",
            "features",
            (_spec(plan, base), _spec(plan, base, features=[transform])),
            (f"{base} on the given features", f"{base} with {describe_transform(transform)}"),
            gain_points,
        )
    ]
    first: list[list[Intervention]] = []
    if plan.question == "constrained":
        # The family factor of a constrained question is "a smaller family, not worse":
        # the same arms with a "better" claim would answer another question.
        first.append(_constrained(plan))
        by_factor.pop("family", None)
    first += [by_factor.pop(f) for f in plan.factors if f in by_factor]
    ordered = _interleave(first) + _interleave(list(by_factor.values()))
    seen: set[str] = set()
    unique = []
    for item in ordered:
        if item.key not in seen:
            seen.add(item.key)
            unique.append(item)
    return unique


def _interleave(groups: Iterable[list[Intervention]]) -> list[Intervention]:
    """Round-robin over groups: the first of each, then the second of each, ..."""
    lists = [list(g) for g in groups if g]
    out: list[Intervention] = []
    while any(lists):
        for items in lists:
            if items:
                out.append(items.pop(0))
    return out


__all__ = ["Intervention", "interventions"]
