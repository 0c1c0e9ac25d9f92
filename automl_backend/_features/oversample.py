"""SMOTE-style oversampling (Chawla et al., 2002), applied in ``fit`` only.

:class:`OversampledClassifier` wraps the model step of a trial pipeline: its ``fit``
adds synthetic rows to every class smaller than the largest, each on the segment between
a row of that class and one of its ``k`` nearest same-class neighbours (in the
pipeline's transformed feature space), then fits the wrapped model. ``predict`` and
``predict_proba`` never resample, so validation folds and new data are untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted


def smote_samples(
    members: np.ndarray, n_new: int, k_neighbors: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_new`` synthetic rows from one class's ``members``.

    Returns (rows, base, neighbour, gap): row i is ``members[base[i]] + gap[i] *
    (members[neighbour[i]] - members[base[i]])`` with ``neighbour[i]`` one of the
    ``k_neighbors`` nearest other members of ``base[i]`` and ``gap[i]`` in [0, 1).
    A class of one row is duplicated (its only neighbour is itself).
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(members)
    base = rng.integers(0, n, n_new)
    if n == 1:
        return members[base].copy(), base, base.copy(), np.zeros(n_new)
    k = min(k_neighbors, n - 1)
    # kneighbors() without X leaves each row out of its own neighbour list.
    neighbours = NearestNeighbors(n_neighbors=k).fit(members).kneighbors(return_distance=False)
    neighbour = neighbours[base, rng.integers(0, k, n_new)]
    gap = rng.random(n_new)
    rows = members[base] + gap[:, None] * (members[neighbour] - members[base])
    return rows, base, neighbour, gap


def smote_resample(X: Any, y: Any, k_neighbors: int = 5,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``X`` and ``y`` with every class oversampled to the largest class's size.

    The original rows come first, unchanged; synthetic rows follow, class by class.
    """
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    rows, labels = [X], [y]
    for label, count in zip(classes, counts, strict=True):
        need = int(counts.max() - count)
        if need:
            new, *_ = smote_samples(X[y == label], need, k_neighbors, rng)
            rows.append(new)
            labels.append(np.full(need, label, dtype=y.dtype))
    return np.vstack(rows), np.concatenate(labels)


class OversampledClassifier(ClassifierMixin, BaseEstimator):
    """``estimator`` fit on SMOTE-oversampled training rows; predicts like ``estimator``."""

    def __init__(self, estimator: Any = None, k_neighbors: int = 5, random_state: int = 0) -> None:
        self.estimator = estimator
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> OversampledClassifier:
        X_res, y_res = smote_resample(X, y, self.k_neighbors, self.random_state)
        self.estimator_ = clone(self.estimator).fit(X_res, y_res)
        self.classes_ = self.estimator_.classes_
        self.n_synthetic_ = len(y_res) - len(np.asarray(y))
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)
