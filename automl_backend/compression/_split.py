"""Split a compression search's evaluation rows into validation rows and held-out rows.

The rule: every choice the search makes (which candidate meets the target, which one wins)
reads the validation rows only. The held-out rows are read once, after the choice, to
report the winner's and the baseline's accuracy. A winner's accuracy on the rows it was
picked on is the best of many noisy draws, so it overstates what the model will do on new
rows; its accuracy on rows nothing was chosen on does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from automl_backend.compression._errors import CompressionError


class EvaluationSplit(BaseModel):
    """Row positions (into the evaluation rows) on each side of the split."""

    seed: int
    holdout_fraction: float
    validation_rows: list[int]
    """Rows every choice is made on; each candidate's validation accuracy is read here."""
    holdout_rows: list[int]
    """Rows nothing is chosen on; only the winner's and the baseline's accuracy is read here."""


def split_evaluation_rows(
    labels: np.ndarray | pd.Series | list[Any], holdout_fraction: float = 0.5, seed: int = 0
) -> EvaluationSplit:
    """A seeded split stratified by class label, with every class on both sides.

    Raises :class:`CompressionError` when the rows are too few for that.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < holdout_fraction < 1:
        raise CompressionError(
            f"the held-out share must be between 0 and 1, got {holdout_fraction:g}"
        )
    classes = pd.Series(np.asarray(labels, dtype=object)).astype(str)
    n = len(classes)
    n_holdout = round(n * holdout_fraction)
    counts = classes.value_counts()
    if len(counts) and counts.min() < 2:
        raise CompressionError(
            f"class {counts.idxmin()!r} has a single evaluation row; splitting the evaluation "
            "rows into validation and held-out rows needs two per class; pass a larger "
            "--test-size or more data"
        )
    if n_holdout < len(counts) or n - n_holdout < len(counts) or n < 2:
        raise CompressionError(
            f"{n} evaluation rows are too few to hold out {holdout_fraction:.0%} with all "
            f"{len(counts)} classes on both sides; pass a larger --test-size or more data"
        )
    validation, holdout = train_test_split(
        np.arange(n), test_size=n_holdout, random_state=seed, stratify=classes.to_numpy()
    )
    return EvaluationSplit(
        seed=seed,
        holdout_fraction=holdout_fraction,
        validation_rows=sorted(int(i) for i in validation),
        holdout_rows=sorted(int(i) for i in holdout),
    )
