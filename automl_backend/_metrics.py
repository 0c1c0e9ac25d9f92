"""Metrics: which exist for which task, and how to compute them higher-is-better.

Every score the backend reports is *higher is better*: loss metrics (rmse, mae,
log_loss) are negated, the way scikit-learn's ``neg_*`` scorers do it.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict


class MetricInfo(BaseModel):
    """How one metric behaves."""

    model_config = ConfigDict(frozen=True)
    tasks: tuple[str, ...]
    loss: bool
    """True when smaller raw values are better (the reported score is the negation)."""
    needs_proba: bool


METRICS: dict[str, MetricInfo] = {
    "accuracy": MetricInfo(tasks=("binary", "multiclass"), loss=False, needs_proba=False),
    "balanced_accuracy": MetricInfo(tasks=("binary", "multiclass"), loss=False, needs_proba=False),
    "f1": MetricInfo(tasks=("binary",), loss=False, needs_proba=False),
    "f1_macro": MetricInfo(tasks=("binary", "multiclass"), loss=False, needs_proba=False),
    "mcc": MetricInfo(tasks=("binary", "multiclass"), loss=False, needs_proba=False),
    "roc_auc": MetricInfo(tasks=("binary", "multiclass"), loss=False, needs_proba=True),
    "log_loss": MetricInfo(tasks=("binary", "multiclass"), loss=True, needs_proba=True),
    "rmse": MetricInfo(tasks=("regression",), loss=True, needs_proba=False),
    "mae": MetricInfo(tasks=("regression",), loss=True, needs_proba=False),
    "r2": MetricInfo(tasks=("regression",), loss=False, needs_proba=False),
}

DEFAULT_METRIC: dict[str, str] = {
    "binary": "accuracy",
    "multiclass": "accuracy",
    "regression": "rmse",
}


def metric_names(task: str | None = None) -> list[str]:
    """Metric names valid for ``task`` (all when None or ``auto``)."""
    if task is None or task == "auto":
        return list(METRICS)
    return [name for name, info in METRICS.items() if task in info.tasks]


def metric_is_loss(metric: str) -> bool:
    """True when smaller raw values of ``metric`` are better (scores are then negated)."""
    return METRICS[metric].loss


def score(metric: str, y_true: np.ndarray, prediction: np.ndarray) -> float:
    """Higher-is-better score of ``prediction``.

    For classification ``y_true`` holds class indices 0..k-1 and ``prediction`` is the
    (n, k) probability matrix; for regression both are 1-D float arrays.
    """
    from sklearn import metrics as m

    info = METRICS[metric]
    if "regression" in info.tasks:
        pred = np.asarray(prediction, dtype=float)
        if metric == "rmse":
            return -float(np.sqrt(np.mean((y_true - pred) ** 2)))
        if metric == "mae":
            return -float(np.mean(np.abs(y_true - pred)))
        return float(m.r2_score(y_true, pred))
    proba = np.asarray(prediction, dtype=float)
    n_classes = proba.shape[1]
    labels = np.arange(n_classes)
    if metric == "log_loss":
        clipped = np.clip(proba, 1e-15, 1.0)
        clipped /= clipped.sum(axis=1, keepdims=True)
        return -float(m.log_loss(y_true, clipped, labels=labels))
    if metric == "roc_auc":
        if n_classes == 2:
            return float(m.roc_auc_score(y_true, proba[:, 1]))
        present = np.unique(y_true)
        if len(present) < n_classes:
            # One-vs-rest AUC is undefined for absent classes; score the present ones.
            sub = proba[:, present]
            sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-15, None)
            remap = np.searchsorted(present, y_true)
            return float(
                m.roc_auc_score(remap, sub, multi_class="ovr", labels=np.arange(len(present)))
            )
        return float(m.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    pred = proba.argmax(axis=1)
    if metric == "accuracy":
        return float(np.mean(pred == y_true))
    if metric == "balanced_accuracy":
        return float(m.balanced_accuracy_score(y_true, pred))
    if metric == "f1":
        return float(m.f1_score(y_true, pred, zero_division=0))
    if metric == "f1_macro":
        return float(m.f1_score(y_true, pred, average="macro", labels=labels, zero_division=0))
    if metric == "mcc":
        return float(m.matthews_corrcoef(y_true, pred))
    raise ValueError(f"unknown metric {metric!r}")


def natural_value(metric: str, score_value: float) -> float:
    """The metric in its usual units (undo the negation of losses)."""
    return -score_value if METRICS[metric].loss else score_value


def describe_metric(metric: str) -> str:
    info = METRICS[metric]
    return f"{metric} ({'negated loss, ' if info.loss else ''}higher is better)"
