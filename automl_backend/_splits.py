"""Evaluation splits: stratified/plain k-fold, holdout, chronological; and test holdouts."""

from __future__ import annotations

import numpy as np

from automl_backend._dataset import Dataset
from automl_backend._errors import DataError
from automl_backend._spec import CVSpec

Fold = tuple[np.ndarray, np.ndarray]
"""(train row positions, validation row positions)."""


# Data cells (rows x features) per second of budget above which fewer folds are used:
# evaluation must leave time for more than a handful of trials.
_CELLS_PER_S_FOR_3_FOLDS = 2_500
_CELLS_PER_S_FOR_HOLDOUT = 10_000
_ROWS_FOR_HOLDOUT = 10_000
"""From this many rows a 20 % holdout (2 000 rows or more) ranks configurations about as
well as k folds: the standard error of an accuracy on it is at most 1.1 points."""


def resolve_cv(cv: CVSpec, dataset: Dataset, time_s: float | None) -> tuple[str, int]:
    """Concrete (strategy, folds): resolves ``auto`` and unset folds by data size and budget.

    Large for its budget (``_CELLS_PER_S_FOR_3_FOLDS``), a set gets 3 folds; with
    ``_ROWS_FOR_HOLDOUT`` rows or more as well, one holdout split, which fits three
    times the trials: on 17 000 to 20 000 rows at 60 s on 2 threads, 3 folds finished
    about ten trials, too few for the search to get past the default configurations.
    """
    rate = 0.0 if time_s is None else dataset.n_rows * dataset.n_features / time_s
    folds = cv.folds or (3 if rate >= _CELLS_PER_S_FOR_3_FOLDS else 5)
    strategy = cv.strategy
    if strategy == "auto":
        large = (
            rate >= _CELLS_PER_S_FOR_HOLDOUT
            or dataset.n_rows > 100_000
            or (rate >= _CELLS_PER_S_FOR_3_FOLDS and dataset.n_rows >= _ROWS_FOR_HOLDOUT)
        )
        strategy = "holdout" if large else "stratified"
    if strategy == "stratified" and dataset.task == "regression":
        strategy = "kfold"
    return strategy, folds


def make_folds(
    dataset: Dataset, cv: CVSpec, seed: int = 0, time_s: float | None = None
) -> list[Fold]:
    """Train/validation splits of ``dataset`` following ``cv`` (and the time budget).

    Raises :class:`DataError` when the data has fewer rows than the folds need.
    """
    folds = _make_full_folds(dataset, cv, seed, time_s)
    if cv.train_fraction >= 1.0:
        return folds
    return [
        (subsample_rows(dataset, train, cv.train_fraction, seed + i), valid)
        for i, (train, valid) in enumerate(folds)
    ]


def subsample_rows(dataset: Dataset, rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded share of ``rows`` (stratified by class when every class can keep a row)."""
    labels = None if dataset.task == "regression" else dataset.y.to_numpy()
    return subsample_positions(labels, rows, fraction, seed)


def subsample_positions(labels: np.ndarray | None, rows: np.ndarray, fraction: float,
                        seed: int) -> np.ndarray:  # fmt: skip
    """A seeded, sorted share of ``rows``, stratified by ``labels`` (class labels of every
    row; None for regression) when every class can keep a row on both sides."""
    from sklearn.model_selection import train_test_split

    keep = max(2, round(len(rows) * fraction))
    if keep >= len(rows):
        return rows
    stratify = None
    if labels is not None:
        chosen = labels[rows]
        _, counts = np.unique(chosen, return_counts=True)
        if counts.min() >= 2 and keep >= len(counts) and len(rows) - keep >= len(counts):
            stratify = chosen
    kept, _ = train_test_split(rows, train_size=keep, random_state=seed, stratify=stratify)
    return np.sort(kept)


HALVING_FRACTIONS = (1 / 9, 1 / 3)
"""Training-sample sizes of the rungs below the full fold (reduction factor 3)."""
HALVING_ETA = 3
"""A trial goes on past a rung when it is among the best 1/HALVING_ETA scored there."""
MIN_RUNG_ROWS = {"auto": 1_000, "on": 30}
"""Fewest training rows a rung may fit on: ``auto`` keeps rungs where scores rank
configurations about as the full fold does; ``on`` (asked for) allows small data."""


def halving_rungs(mode: str, strategy: str, n_train: int) -> tuple[float, ...]:
    """The rung fractions of successive halving for a first training fold of ``n_train``
    rows evaluated with ``strategy`` (the resolved CV strategy): none when ``mode`` is
    ``off``, or ``auto`` on data that is not large for its budget (no holdout)."""
    if mode == "off" or (mode == "auto" and strategy != "holdout"):
        return ()
    return tuple(f for f in HALVING_FRACTIONS if n_train * f >= MIN_RUNG_ROWS[mode])


def _make_full_folds(dataset: Dataset, cv: CVSpec, seed: int, time_s: float | None) -> list[Fold]:
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

    n = dataset.n_rows
    strategy, n_folds = resolve_cv(cv, dataset, time_s)
    rows = np.arange(n)
    if strategy == "holdout":
        n_valid = round(n * cv.holdout_fraction)
        if n_valid < 1 or n - n_valid < 2:
            raise DataError(f"{n} rows are too few for a {cv.holdout_fraction:.0%} holdout split")
        stratify = _stratify_labels(dataset, 2)
        train, valid = train_test_split(
            rows, test_size=n_valid, random_state=seed, stratify=stratify
        )
        return [(np.sort(train), np.sort(valid))]
    needed = n_folds + 1 if strategy == "time" else n_folds
    if n < needed:
        raise DataError(
            f"{n} rows are fewer than the {needed} a {n_folds}-fold {strategy} split needs"
        )
    if strategy == "time":
        if cv.time_column is not None and dataset.order is None:
            raise DataError(
                f"time split on {cv.time_column!r} needs load_dataset(..., time_column=...)"
            )
        order = (
            rows if dataset.order is None else np.argsort(dataset.order.to_numpy(), kind="stable")
        )
        return [
            (order[train], order[valid])
            for train, valid in TimeSeriesSplit(n_splits=n_folds).split(order)
        ]
    if strategy == "stratified":
        labels = _stratify_labels(dataset, n_folds)
        if labels is not None:
            splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            return list(splitter.split(rows, labels))
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(rows))


def _stratify_labels(dataset: Dataset, min_count: int) -> np.ndarray | None:
    """Class labels to stratify on, or None when some class is too small for it."""
    if dataset.task == "regression":
        return None
    counts = dataset.y.value_counts()
    if counts.min() < min_count:
        return None
    return dataset.y.to_numpy()


def train_test_split_dataset(
    dataset: Dataset, test_size: float, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Hold out ``test_size`` (share of rows) as a test set, stratified for classification."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise DataError(f"test size must be a share between 0 and 1, got {test_size}")
    n = dataset.n_rows
    n_test = round(n * test_size)
    if n_test < 1 or n - n_test < 2:
        raise DataError(f"{n} rows are too few to hold out {test_size:.0%} for testing")
    stratify = None
    if dataset.task != "regression":
        counts = dataset.y.value_counts()
        if counts.min() < 2:
            raise DataError(
                f"class {counts.idxmin()!r} has a single row; a stratified test split "
                "needs at least two per class"
            )
        if n_test < len(counts) or n - n_test < len(counts):
            raise DataError(
                f"a {test_size:.0%} test split of {n} rows cannot hold all "
                f"{len(counts)} classes on both sides"
            )
        stratify = dataset.y.to_numpy()
    train, test = train_test_split(
        np.arange(n), test_size=n_test, random_state=seed, stratify=stratify
    )
    return dataset.subset(np.sort(train)), dataset.subset(np.sort(test))
