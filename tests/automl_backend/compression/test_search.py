"""CompressionSearch picks its winner on validation rows and reports held-out rows apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from automl_backend.compression._search import CompressionSearch
from automl_backend.compression._teacher import Teacher
from automl_backend.nas._train import TensorData, accuracy


@pytest.fixture(scope="module")
def digits_teacher():
    """A logistic regression standing in for an AutoML ensemble, with 300 evaluation rows."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    train, evaluate = (X[:600], y[:600]), (X[600:900], y[600:900])
    clf = LogisticRegression(max_iter=300).fit(*train)
    teacher = Teacher("automl", Path("fake-run"), list(clf.classes_), clf.predict_proba, 100.0)
    return teacher, train, evaluate


def _search(teacher: Teacher, train: tuple, evaluate: tuple) -> CompressionSearch:
    return CompressionSearch(
        teacher, train, evaluate, student_widths=((4,), (16,)), distill_epochs=2, device="cpu"
    )


def _accuracy_on(search: CompressionSearch, name: str, X: np.ndarray, y: np.ndarray) -> float:
    data = TensorData.from_numpy(search.pre.transform(X), y, search.validation.X.device)
    return accuracy(search.models[name], data)


def test_winner_is_chosen_on_validation_rows_and_reported_on_disjoint_holdout_rows(
    digits_teacher,
) -> None:
    teacher, train, (X_eval, y_eval) = digits_teacher
    search = _search(teacher, train, (X_eval, y_eval))
    result = search.run("size_kb", 50.0)  # every student fits, the 100 KB teacher does not
    val, hold = result.split.validation_rows, result.split.holdout_rows
    assert result.split == search.split and not set(val) & set(hold)
    assert sorted(val + hold) == list(range(300)) and result.n_eval_rows == 300

    for c in result.candidates:
        assert c.validation_accuracy == _accuracy_on(search, c.name, X_eval[val], y_eval[val])
    assert not result.baseline.meets_target and all(c.meets_target for c in result.candidates)
    best = max(result.candidates, key=lambda c: (c.validation_accuracy, -c.size_kb))
    assert result.chosen == best.name

    chosen = result.chosen_candidate()
    assert chosen is not None and chosen.holdout_accuracy is not None
    everyone = [result.baseline, *result.candidates]
    assert [c.name for c in everyone if c.holdout_accuracy is not None] == [
        "original",
        chosen.name,
    ]
    base = result.baseline
    assert base.validation_accuracy == np.mean(
        teacher.predict_proba(X_eval[val]).argmax(1) == y_eval[val]
    )
    assert base.holdout_accuracy == np.mean(
        teacher.predict_proba(X_eval[hold]).argmax(1) == y_eval[hold]
    )
    assert chosen.holdout_accuracy == _accuracy_on(search, chosen.name, X_eval[hold], y_eval[hold])


def test_the_held_out_rows_do_not_change_the_choice(digits_teacher) -> None:
    """Noise in place of the held-out features changes only the held-out accuracies."""
    teacher, train, (X_eval, y_eval) = digits_teacher
    first = _search(teacher, train, (X_eval, y_eval)).run("size_kb", 50.0)
    noisy = X_eval.copy()
    noisy[first.split.holdout_rows] = np.random.default_rng(0).random((150, 64), np.float32)
    second = _search(teacher, train, (noisy, y_eval)).run("size_kb", 50.0)
    assert second.split == first.split and second.chosen == first.chosen
    assert [c.validation_accuracy for c in second.candidates] == [
        c.validation_accuracy for c in first.candidates
    ]
    assert second.baseline.holdout_accuracy < first.baseline.holdout_accuracy
