"""Candidate transforms from rules over the data (the menu ``features: auto`` chooses from).

Rules, each cheap and deterministic for a seed:
- a skewed, non-negative numeric column (skewness > 1) -> ``log1p``;
- the numeric pairs whose ratio or product carries the most mutual information with
  the target beyond either column alone -> ``ratio`` / ``product``;
- a categorical column with many categories (> 10) -> ``frequency`` and
  ``target_encoding``; any categorical column -> group mean of the most informative
  numeric columns.
Date columns get no candidate: every pipeline already expands dates into their parts.

With ``kinds`` (a question that names transforms, e.g. "would a ratio of two columns
help?") only those kinds are proposed, ranked the same way but without the thresholds:
the question asks about them whether or not the screen finds them promising.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from automl_backend._dataset import Dataset
from automl_backend._features.builder import combine_pair, finite_or_nan
from automl_backend._features.vocabulary import (
    Binary,
    FeatureTransform,
    Frequency,
    GroupStat,
    TargetEncoding,
    Unary,
)
from automl_backend._preprocess import coerce_columns

SKEW_THRESHOLD = 1.0
HIGH_CARDINALITY = 10
_PAIR_COLUMNS = 8
"""Pairs are formed among this many most informative numeric columns."""
_SAMPLE_ROWS = 2000


def _mutual_information(columns: dict[str, np.ndarray], y: np.ndarray, classification: bool,
                        seed: int) -> dict[str, float]:  # fmt: skip
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if not columns:
        return {}
    matrix = np.column_stack(list(columns.values()))
    medians = np.nan_to_num(np.nanmedian(matrix, axis=0)) if len(matrix) else 0.0
    matrix = np.where(np.isnan(matrix), medians, matrix)
    estimate: Any = mutual_info_classif if classification else mutual_info_regression
    values = estimate(matrix, y, n_neighbors=3, random_state=seed)
    return dict(zip(columns, (float(v) for v in values), strict=True))


def _skew(values: np.ndarray) -> float:
    std = values.std()
    return float(((values - values.mean()) ** 3).mean() / std**3) if std > 0 else 0.0


_BINARY = ("ratio", "product", "difference", "sum")
_UNARY = ("log1p", "sqrt", "square", "reciprocal", "rank")


def candidate_features(
    dataset: Dataset,
    max_candidates: int = 12,
    *,
    seed: int = 0,
    kinds: Collection[str] | None = None,
) -> list[FeatureTransform]:
    """Up to ``max_candidates`` transforms worth trying on ``dataset``, best-founded first
    (only transforms of ``kinds``, unscreened, when given)."""
    rng = np.random.default_rng(seed)
    rows = np.arange(dataset.n_rows)
    if len(rows) > _SAMPLE_ROWS:
        rows = np.sort(rng.choice(rows, _SAMPLE_ROWS, replace=False))
    X = coerce_columns(dataset.X, dataset.column_types).iloc[rows]
    classification = dataset.task != "regression"
    target = dataset.y.iloc[rows]
    y = pd.factorize(target)[0] if classification else target.to_numpy(dtype=float)
    types = dataset.column_types
    numeric = [c for c, k in types.items() if k == "numeric" and X[c].nunique() > 2]
    categorical = [c for c, k in types.items() if k == "categorical"]

    values = {c: X[c].to_numpy(dtype=float) for c in numeric}
    single = _mutual_information(values, y, classification, seed)
    informative = sorted(numeric, key=lambda c: -single[c])

    pairs: list[tuple[float, FeatureTransform]] = []
    combined: dict[str, np.ndarray] = {}
    binary = [k for k in _BINARY if k in kinds] if kinds is not None else ["ratio", "product"]
    for a, b in itertools.combinations(informative[:_PAIR_COLUMNS], 2):
        for kind in binary:
            combined[f"{kind}\t{a}\t{b}"] = finite_or_nan(combine_pair(kind, values[a], values[b]))
    usable = {k: v for k, v in combined.items() if np.isfinite(v).sum() > 10}
    for key, info in _mutual_information(usable, y, classification, seed).items():
        kind, a, b = key.split("\t")
        gain = info - max(single[a], single[b])
        if gain > 0 or kinds is not None:
            pairs.append((gain, Binary(kind=kind, left=a, right=b)))  # type: ignore[arg-type]
    pairs.sort(key=lambda p: -p[0])

    logs: list[tuple[float, FeatureTransform]] = []
    if kinds is None:
        for c in numeric:
            x = values[c][~np.isnan(values[c])]
            if len(x) >= 10 and x.min() >= 0 and _skew(x) > SKEW_THRESHOLD:
                logs.append((_skew(x), Unary(kind="log1p", column=c)))
    else:
        logs = [
            (abs(_skew(values[c][~np.isnan(values[c])])), Unary(kind=kind, column=c))  # type: ignore[arg-type]
            for kind in _UNARY
            if kind in kinds
            for c in informative
            if kind not in ("log1p", "sqrt") or np.nanmin(values[c]) >= 0
        ]
    logs.sort(key=lambda p: -p[0])

    categories: list[FeatureTransform] = []
    for c in categorical:
        if X[c].nunique() > HIGH_CARDINALITY:
            categories += [Frequency(column=c), TargetEncoding(column=c)]
        categories += [GroupStat(column=n, by=c, stat="mean") for n in informative[:2]]

    if kinds is not None:
        categories = [t for t in categories if t.kind in kinds]
    # Interleave the rules so a small budget still tries a bit of each.
    queues = [[t for _, t in pairs], [t for _, t in logs], categories]
    ordered: list[FeatureTransform] = []
    for group in itertools.zip_longest(*queues):
        ordered += [t for t in group if t is not None]
    return ordered[:max_candidates]
