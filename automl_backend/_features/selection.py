"""``features: auto``: greedy forward selection of candidate transforms on inner folds.

Before the search, a fixed cheap model (the registry's default LightGBM configuration)
is cross-validated on 3 inner folds of the training data with the transforms kept so
far plus one candidate. Each round keeps the candidate with the largest gain if it
beats ``min_gain(score)``; candidates that did not help on their own in the first round
are not tried again. Selection stops when no candidate helps or its time is spent.
Only training rows are used, and every transform is fit inside each inner training fold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from automl_backend._dataset import Dataset
from automl_backend._errors import SpecError
from automl_backend._features.candidates import candidate_features
from automl_backend._features.vocabulary import FeatureTransform, check_features, describe_transform
from automl_backend._metrics import score
from automl_backend._preprocess import build_pipeline, coerce_columns
from automl_backend._registry import default_config
from automl_backend._spec import ExperimentSpec, TrialConfig

SELECTION_SHARE = 0.25
"""Share of the run's time budget that ``features: auto`` may spend."""
SELECTION_S_WITHOUT_BUDGET = 60.0
"""Selection time when a run has a trial budget but no time budget."""
RELATIVE_MIN_GAIN = 0.002
NOTE_PREFIX = "features:"
"""Result notes about the transforms start with this (report.md lists them apart)."""


def min_gain(current: float) -> float:
    """Smallest inner-CV gain that keeps a transform: 0.2 % of the score (at least 0.0002)."""
    return RELATIVE_MIN_GAIN * max(abs(current), 0.1)


@dataclass(frozen=True)
class KeptTransform:
    transform: FeatureTransform
    gain: float
    """Inner-CV score gain (higher is better; losses are negated) when it was added."""


@dataclass
class FeatureSelection:
    """What greedy selection tried and kept."""

    metric: str
    baseline: float
    """Inner-CV score of the fixed model without transforms."""
    kept: list[KeptTransform] = field(default_factory=list)
    n_candidates: int = 0
    n_evaluated: int = 0
    elapsed_s: float = 0.0
    stopped: str = "no candidate improved the score"

    @property
    def transforms(self) -> list[FeatureTransform]:
        return [k.transform for k in self.kept]

    def notes(self) -> list[str]:
        head = (
            f"{NOTE_PREFIX} auto selection kept {len(self.kept)} of {self.n_candidates} "
            f"candidates ({self.n_evaluated} inner-CV evaluations, {self.elapsed_s:.1f} s; "
            f"{self.stopped}); baseline inner-CV {self.metric} score {self.baseline:.5f}"
        )
        lines = [head]
        lines += [f"{NOTE_PREFIX} kept {describe_transform(k.transform)} (CV gain {k.gain:+.5f})"
                  for k in self.kept]  # fmt: skip
        return lines


@dataclass
class FeatureChoice:
    """The transforms a run uses, and how they were chosen."""

    transforms: list[FeatureTransform]
    selection: FeatureSelection | None = None

    def notes(self) -> list[str]:
        if self.selection is not None:
            return self.selection.notes()
        return [f"{NOTE_PREFIX} {describe_transform(t)} (from the spec)" for t in self.transforms]


def _encoded_target(dataset: Dataset) -> np.ndarray:
    if dataset.task == "regression":
        return dataset.y.to_numpy(dtype=float)
    index = {label: i for i, label in enumerate(dataset.classes)}
    return dataset.y.map(index).to_numpy(dtype=int)


def _inner_folds(y: np.ndarray, classification: bool, n_folds: int,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    from sklearn.model_selection import KFold, StratifiedKFold

    if classification and np.bincount(y).min() >= n_folds:
        return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(y, y))
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(y))


def select_features(
    dataset: Dataset,
    metric: str,
    *,
    candidates: list[FeatureTransform] | None = None,
    time_s: float = 15.0,
    n_folds: int = 3,
    seed: int = 0,
) -> FeatureSelection:
    """Greedy forward selection of ``candidates`` (default: :func:`candidate_features`)."""
    started = time.monotonic()
    deadline = started + time_s
    classification = dataset.task != "regression"
    X = coerce_columns(dataset.X, dataset.column_types)
    y = _encoded_target(dataset)
    n_classes = len(dataset.classes)
    folds = _inner_folds(y, classification, n_folds, seed)
    config = TrialConfig(family="lightgbm", params=default_config("lightgbm", dataset.task))

    def evaluate(transforms: list[FeatureTransform]) -> float:
        scores = []
        for train, valid in folds:
            pipeline = build_pipeline(
                config, dataset.column_types, classification=classification, seed=seed,
                n_train=len(train), features=transforms,
            )  # fmt: skip
            pipeline.fit(X.iloc[train], y[train])
            if classification:
                proba = pipeline.predict_proba(X.iloc[valid])
                prediction = np.zeros((len(valid), n_classes))
                prediction[:, np.asarray(pipeline.classes_, dtype=int)] = proba
            else:
                prediction = pipeline.predict(X.iloc[valid])
            scores.append(score(metric, y[valid], prediction))
        return float(np.mean(scores))

    pool = candidates if candidates is not None else candidate_features(dataset, seed=seed)
    pool = [t for t in pool if _fits(t, dataset)]
    baseline = evaluate([])
    one_eval_s = time.monotonic() - started
    selection = FeatureSelection(metric=metric, baseline=baseline, n_candidates=len(pool))
    current, kept, remaining = baseline, [], list(pool)
    first_round = True
    while remaining:
        gains: list[tuple[float, FeatureTransform]] = []
        for candidate in remaining:
            if time.monotonic() + 1.5 * one_eval_s > deadline:
                selection.stopped = "selection time spent"
                break
            gains.append((evaluate([*kept, candidate]) - current, candidate))
            selection.n_evaluated += 1
        if first_round:
            remaining = [t for g, t in gains if g > 0]  # the rest did not help on their own
            first_round = False
        best_gain, best = max(gains, key=lambda g: g[0], default=(0.0, None))
        if best is None or best_gain <= min_gain(current):
            break
        kept.append(best)
        selection.kept.append(KeptTransform(best, best_gain))
        current += best_gain
        remaining = [t for t in remaining if t != best]
        if selection.stopped == "selection time spent":
            break
    else:
        selection.stopped = "every candidate was tried"
    selection.elapsed_s = time.monotonic() - started
    return selection


def _fits(transform: FeatureTransform, dataset: Dataset) -> bool:
    try:
        check_features([transform], dataset.column_types, n_rows=dataset.n_rows,
                       n_classes=len(dataset.classes))  # fmt: skip
    except SpecError:
        return False
    return True


def prepare_features(spec: ExperimentSpec, dataset: Dataset, metric: str,
                     time_s: float | None) -> FeatureChoice:  # fmt: skip
    """The transforms ``spec`` asks for, checked against ``dataset`` (training rows).

    ``features: auto`` runs :func:`select_features` for :data:`SELECTION_SHARE` of
    ``time_s`` (the run's budget). A named column that does not exist or has the
    wrong type is a one-line :class:`SpecError` listing the valid columns.
    """
    if spec.features == "auto":
        share = SELECTION_SHARE * time_s if time_s is not None else SELECTION_S_WITHOUT_BUDGET
        selection = select_features(dataset, metric, time_s=share, seed=spec.seed)
        return FeatureChoice(selection.transforms, selection)
    check_features(list(spec.features), dataset.column_types, n_rows=dataset.n_rows,
                   n_classes=len(dataset.classes))  # fmt: skip
    return FeatureChoice(list(spec.features))


def with_notes(dataset: Dataset, choice: FeatureChoice) -> Dataset:
    """``dataset`` whose notes also say which transforms the run uses."""
    return replace(dataset, notes=[*dataset.notes, *choice.notes()])


__all__ = [
    "FeatureChoice",
    "FeatureSelection",
    "KeptTransform",
    "min_gain",
    "prepare_features",
    "select_features",
    "with_notes",
]
