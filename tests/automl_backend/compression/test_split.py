"""The split of the evaluation rows into validation rows and held-out rows."""

from __future__ import annotations

import numpy as np
import pytest

from automl_backend.compression import CompressionError
from automl_backend.compression._split import split_evaluation_rows


def test_evaluation_split_is_disjoint_stratified_and_seeded() -> None:
    labels = np.array(["a"] * 40 + ["b"] * 20 + ["c"] * 10)
    split = split_evaluation_rows(labels, 0.5, seed=3)
    validation, holdout = split.validation_rows, split.holdout_rows
    assert not set(validation) & set(holdout)
    assert sorted(validation + holdout) == list(range(70))
    for label, count in (("a", 40), ("b", 20), ("c", 10)):
        assert (labels[holdout] == label).sum() == count // 2
    assert split_evaluation_rows(labels, 0.5, seed=3) == split
    assert split_evaluation_rows(labels, 0.5, seed=4).holdout_rows != holdout


def test_two_rows_per_class_put_every_class_on_both_sides() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    split = split_evaluation_rows(labels, 0.5)
    assert {labels[i] for i in split.validation_rows} == {labels[i] for i in split.holdout_rows}


@pytest.mark.parametrize(
    ("labels", "share", "message"),
    [
        (["a", "a", "b"], 0.5, "class 'b' has a single evaluation row"),
        (["a", "a", "b", "b", "c", "c"], 0.2, "6 evaluation rows are too few to hold out 20%"),
        (["a", "a", "b", "b"], 1.0, "between 0 and 1"),
    ],
)
def test_evaluation_rows_too_few_to_split_are_a_one_line_error(labels, share, message) -> None:
    with pytest.raises(CompressionError, match=message) as error:
        split_evaluation_rows(labels, share)
    assert "\n" not in str(error.value)
