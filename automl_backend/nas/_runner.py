"""run_nas: check the input, search, retrain the winner, test it, write the run directory.

Every check that can fail on bad input (labels, image shape, an empty space, a budget
too small for one epoch, an existing run directory) runs before any candidate is trained
and before the run directory exists.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_backend._progress import ProgressCallback, ProgressEvent
from automl_backend.nas._data import Preprocessor, encode_labels, resolve_image_shape
from automl_backend.nas._errors import NASError
from automl_backend.nas._pareto import pareto_front
from automl_backend.nas._result import NASResult, TrialRecord
from automl_backend.nas._space import SearchSpace
from automl_backend.nas._spec import NASSpec


def split_holdout(
    X: Any, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Row indices (train, held out), stratified when every class has two rows."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    notes = []
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    if stratify is None:
        notes.append("a class has one row, so the holdout split is not stratified")
    try:
        a, b = train_test_split(idx, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise NASError(f"cannot hold out {fraction:g} of {len(y)} rows: {exc}") from exc
    return np.sort(a), np.sort(b), notes


def _stack(a: Any, b: Any) -> Any:
    if isinstance(a, pd.DataFrame):
        return pd.concat([a, b], ignore_index=True)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx]


def run_nas(
    spec: NASSpec,
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    X_test: pd.DataFrame | np.ndarray | None = None,
    y_test: Any = None,
    test_size: float | None = None,
    out_dir: Path | None = None,
    data_name: str = "data",
    progress: ProgressCallback | None = None,
    spec_json: dict[str, Any] | None = None,
    data_info: dict[str, Any] | None = None,
) -> NASResult:
    """Search ``spec.space`` with ``spec.strategy`` on (X, y) and return the winner.

    Test rows, given as ``X_test``/``y_test`` or held out from (X, y) as a stratified
    ``test_size`` share, are seen by neither the search nor the final training; the
    result's ``test_accuracy`` is measured on them. With ``out_dir``
    the run directory is written there (``spec_json`` replaces the spec written to it;
    ``data_info`` records how the data was loaded and split, for ``cosci compress``).
    """
    start = time.monotonic()
    report = progress or (lambda _p: None)
    n_given = len(X)
    if X_test is not None:
        if test_size:
            raise NASError("give either test rows or a test size, not both")
        X, y = _stack(X, X_test), np.concatenate([np.asarray(y), np.asarray(y_test)])
    y_codes, classes = encode_labels(y)
    if len(y_codes) != len(X):
        raise NASError(f"X has {len(X)} rows but y has {len(y_codes)}")
    kind = "image" if spec.space.kind == "cnn" else "tabular"
    input_shape: tuple[int, ...] | None = None
    if kind == "image":
        input_shape = resolve_image_shape(X, spec.image_shape)
        if isinstance(X, np.ndarray) and X.ndim > 2:
            X = X.reshape(len(X), -1)
    notes: list[str] = []
    if X_test is not None:
        train_idx, test_idx = np.arange(n_given), np.arange(n_given, len(y_codes))
    elif test_size:
        train_idx, test_idx, split_notes = split_holdout(X, y_codes, test_size, spec.seed)
        notes += split_notes
    else:
        train_idx, test_idx = np.arange(len(y_codes)), np.array([], dtype=int)
    fit_idx, val_idx, _ = split_holdout(X, y_codes[train_idx], spec.validation_fraction, spec.seed)
    fit_idx, val_idx = train_idx[fit_idx], train_idx[val_idx]
    pre = Preprocessor.fit(_rows(X, fit_idx), kind)
    arrays = {
        name: (pre.transform(_rows(X, idx)), y_codes[idx])
        for name, idx in (("fit", fit_idx), ("val", val_idx), ("train", train_idx))
    }
    n_features = arrays["fit"][0].shape[1]
    arrays["test"] = (
        pre.transform(_rows(X, test_idx)) if len(test_idx) else np.zeros((0, n_features), "f4"),
        y_codes[test_idx],
    )
    if input_shape is None:
        input_shape = (arrays["fit"][0].shape[1],)
    if out_dir is not None:
        from automl_backend.nas._rundir import check_run_dir

        check_run_dir(Path(out_dir))

    from automl_backend.nas._search import SearchSession

    session = SearchSession(spec, input_shape, len(classes), arrays, start=start, report=report)
    session.check_budget()
    outcome = session.search()
    final = session.retrain(outcome)
    test_acc = session.test_accuracy(final.network) if len(test_idx) else None

    from automl_backend.nas._artifact import NASModel

    model = NASModel(final.network, outcome.best.architecture, input_shape, classes, pre)
    front = _pareto(outcome.trials, spec.objectives)
    result = NASResult(
        strategy=spec.strategy,
        space=spec.space.kind,
        objectives=list(spec.objectives),
        best_architecture=outcome.best.architecture,
        best_val_accuracy=outcome.best.accuracy,
        test_accuracy=test_acc,
        params=final.params,
        latency_ms=final.latency_ms,
        size_kb=final.size_kb,
        n_evaluated=len(outcome.trials),
        n_proposals=outcome.n_proposals,
        final_epochs=final.epochs,
        search_time_s=outcome.seconds,
        final_train_time_s=final.seconds,
        fit_time_s=time.monotonic() - start,
        device=str(session.device),
        pareto_front=front,
        trials=outcome.trials,
        notes=notes + outcome.notes,
    )
    if out_dir is not None:
        from automl_backend.nas._rundir import staged_run_dir, write_run_files

        out_dir = Path(out_dir)
        result.run_dir = str(out_dir)
        with staged_run_dir(out_dir) as folder:
            model.save(folder / "model.safetensors")
            spec_data = spec_json or json.loads(spec.model_dump_json())
            write_run_files(folder, result, spec_data, data_name)
            if data_info is not None:
                (folder / "data.json").write_text(json.dumps(data_info, indent=2))
    report(
        ProgressEvent(
            phase="done",
            trials_done=len(outcome.trials),
            best_score=outcome.best.accuracy,
            elapsed_s=time.monotonic() - start,
            time_budget_s=spec.time_budget_s,
            n_trials_budget=spec.max_trials,
        )
    )
    return result


def _pareto(trials: list[TrialRecord], objectives: list[str]) -> list[TrialRecord]:
    if len(objectives) < 2:
        return []
    done = [t for t in trials if t.complete] or trials
    cost = (lambda t: t.latency_ms) if objectives[1] == "latency" else (lambda t: float(t.params))
    points = [(-t.accuracy, cost(t)) for t in done]
    return sorted((done[i] for i in pareto_front(points)), key=cost)


def validate_space(spec: NASSpec) -> SearchSpace:
    """The space as strategies see it (kept here so the CLI can check specs cheaply)."""
    return SearchSpace(spec.space)
