"""What the processes of a shared study exchange, as files without pickles.

The driver publishes the problem (coerced features, encoded target, folds, feature
transforms) and the resolved search space once; every worker loads them and evaluates
trials on exactly the same rows and folds. Each finished trial publishes its
out-of-fold predictions, from which the driver picks the ensemble. Everything is
numpy's ``.npz`` with ``allow_pickle=False``, parquet and JSON: a worker never runs
code that came through the database.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter

from automl_backend._distributions import Distribution
from automl_backend._features import FeatureTransform
from automl_backend._hpo.suggest import ResolvedSpace
from automl_backend._hpo.worker import Problem
from automl_backend._spec import ExperimentSpec, PreprocessingSpace

_FEATURES = TypeAdapter(list[FeatureTransform])
_DISTRIBUTIONS = TypeAdapter(dict[str, dict[str, Distribution]])
FORMAT = 1
"""Bumped when the layout changes: a worker refuses a problem of another format."""


def _bytes_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def _table_bytes(X: pd.DataFrame, column_types: dict[str, str]) -> bytes:
    # Categorical columns hold arbitrary Python objects, which parquet cannot mix;
    # as text they encode the same categories.
    table = X.copy()
    for column, kind in column_types.items():
        if kind not in ("numeric", "boolean", "datetime"):
            values = table[column]
            table[column] = values.astype(str).where(values.notna(), None)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def pack_problem(problem: Problem, spec: ExperimentSpec, space: ResolvedSpace,
                 data_hash: str) -> bytes:  # fmt: skip
    """The problem, spec and space as one ``.npz`` file's bytes."""
    meta = {
        "format": FORMAT,
        "data_hash": data_hash,
        "spec": spec.model_dump(mode="json"),
        "column_types": problem.column_types,
        "task": problem.task,
        "n_classes": problem.n_classes,
        "metric": problem.metric,
        "seed": problem.seed,
        "threads": problem.threads,
        "features": _FEATURES.dump_python(problem.features, mode="json"),
        "space": {
            "models": _DISTRIBUTIONS.dump_python(space.models, mode="json"),
            "preprocessing": space.preprocessing.model_dump(mode="json"),
            "has_categorical": space.has_categorical,
            "has_missing": space.has_missing,
            "grid_points": space.grid_points,
        },
    }
    arrays: dict[str, np.ndarray] = {
        "meta": _bytes_array(json.dumps(meta).encode()),
        "X": _bytes_array(_table_bytes(problem.X, problem.column_types)),
        "y": problem.y,
    }
    for index, (train, valid) in enumerate(problem.folds):
        arrays[f"train_{index}"], arrays[f"valid_{index}"] = train, valid
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def unpack_problem(data: bytes) -> tuple[Problem, ExperimentSpec, ResolvedSpace, str]:
    """Inverse of :func:`pack_problem`; ValueError when ``data`` is not such a file."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes())
            if meta.get("format") != FORMAT:
                raise KeyError(f"format {meta.get('format')}, expected {FORMAT}")
            X = pd.read_parquet(io.BytesIO(arrays["X"].tobytes()))
            y = arrays["y"]
            folds = []
            while f"train_{len(folds)}" in arrays:
                index = len(folds)
                folds.append((arrays[f"train_{index}"], arrays[f"valid_{index}"]))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not a published problem ({type(exc).__name__}: {exc})") from None
    column_types: dict[str, str] = meta["column_types"]
    for column, kind in column_types.items():
        if kind not in ("numeric", "boolean", "datetime"):
            X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
    problem = Problem(
        X=X, y=y, column_types=column_types, task=meta["task"], n_classes=meta["n_classes"],
        folds=folds, metric=meta["metric"], seed=meta["seed"], threads=meta["threads"],
        features=_FEATURES.validate_python(meta["features"]),
    )  # fmt: skip
    raw = meta["space"]
    space = ResolvedSpace(
        models=_DISTRIBUTIONS.validate_python(raw["models"]),
        preprocessing=PreprocessingSpace.model_validate(raw["preprocessing"]),
        has_categorical=raw["has_categorical"], has_missing=raw["has_missing"],
        grid_points=raw["grid_points"],
    )  # fmt: skip
    return problem, ExperimentSpec.model_validate(meta["spec"]), space, meta["data_hash"]


def pack_oof(prediction: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, oof=prediction)
    return buffer.getvalue()


def unpack_oof(data: bytes) -> np.ndarray:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        result: Any = arrays["oof"]
    return np.asarray(result)
