"""The out-of-fold predictions of a run's final model, kept so runs can be combined later.

A run directory holds ``oof.npz`` (arrays ``oof``: the final model's out-of-fold
prediction matrix, NaN on rows no fold predicted; ``y``: the encoded target it was
scored against) and ``oof.json`` (:class:`OOFInfo`: what is needed to check that two
runs saw the same rows in the same class order).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from automl_backend._dataset import Dataset
from automl_backend._hpo.ensemble import covered_rows
from automl_backend._hpo.search import HPOTrial
from automl_backend._metrics import score
from automl_backend._result import EnsembleMember

OOF_FILE = "oof.npz"
OOF_INFO_FILE = "oof.json"


class OOFInfo(BaseModel):
    """What a run's saved out-of-fold predictions are, and on which data."""

    model_config = ConfigDict(extra="forbid")
    run_id: str
    """Random id of these artifacts (tells a re-run apart from the run it replaced)."""
    task: str
    metric: str
    target: str
    classes: list[Any]
    """Class labels in the model's order (JSON form); empty for regression."""
    n_rows: int
    n_predicted: int
    """Rows with an out-of-fold prediction (fewer than n_rows for holdout or time splits)."""
    data_hash: str
    """SHA-256 of the training table (feature names, features and target)."""
    cv: str
    """How the rows were split, in words."""
    members: dict[str, float]
    """Ensemble member (trial number, or run name for a combination) -> weight."""
    score: float | None
    """The metric of the out-of-fold predictions on the predicted rows (higher is better)."""


@dataclass
class OutOfFold:
    """A final model's out-of-fold predictions with the target and their description."""

    info: OOFInfo
    prediction: np.ndarray
    y: np.ndarray

    def save(self, folder: Path) -> None:
        np.savez_compressed(folder / OOF_FILE, oof=self.prediction, y=self.y)
        (folder / OOF_INFO_FILE).write_text(self.info.model_dump_json(indent=2), encoding="utf-8")


def json_labels(classes: list[Any]) -> list[Any]:
    """Class labels as JSON values (numpy scalars become Python ones)."""
    plain = [c.item() if isinstance(c, np.generic) else c for c in classes]
    return json.loads(json.dumps(plain, default=str))


def data_fingerprint(dataset: Dataset) -> str:
    """SHA-256 over the feature names, the features and the target, row order included."""
    digest = hashlib.sha256()
    header = [dataset.target, [str(c) for c in dataset.X.columns], dataset.n_rows]
    digest.update(json.dumps(header).encode())
    for part in (dataset.X, dataset.y):
        digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def blend_oof(members: list[EnsembleMember], records: list[HPOTrial]) -> np.ndarray | None:
    """Weighted average of the members' out-of-fold predictions (NaN where any lacks one).

    None when a member's predictions were not kept, so no honest blend exists.
    """
    by_number = {r.number: r for r in records}
    total: np.ndarray | None = None
    for member in members:
        record = by_number.get(member.trial)
        if record is None or record.oof is None:
            return None
        part = member.weight * record.oof
        total = part if total is None else total + part
    return total


def oof_score(metric: str, y: np.ndarray, prediction: np.ndarray) -> float | None:
    """The metric on the rows that have a prediction (None when there are none)."""
    rows = covered_rows([prediction])
    if not rows.any():
        return None
    return float(score(metric, y[rows], prediction[rows]))


def make_oof(prediction: np.ndarray, y: np.ndarray, *, task: str, target: str,
             classes: list[Any], data_hash: str, metric: str, cv: str,
             members: dict[str, float]) -> OutOfFold:  # fmt: skip
    rows = covered_rows([prediction])
    info = OOFInfo(
        run_id=uuid.uuid4().hex, task=task, metric=metric, target=target,
        classes=json_labels(classes), n_rows=len(y), n_predicted=int(rows.sum()),
        data_hash=data_hash, cv=cv, members=members, score=oof_score(metric, y, prediction),
    )  # fmt: skip
    return OutOfFold(info, prediction, y)


def has_oof(folder: Path) -> bool:
    return (folder / OOF_FILE).is_file() and (folder / OOF_INFO_FILE).is_file()


def load_oof(folder: Path) -> OutOfFold:
    """Read a run directory's saved out-of-fold predictions.

    Raises ValueError (with the reason) when they are missing, unreadable or inconsistent.
    """
    if not has_oof(folder):
        raise ValueError("no saved out-of-fold predictions (a NAS run, or made before they were)")
    try:
        info = OOFInfo.model_validate_json((folder / OOF_INFO_FILE).read_text(encoding="utf-8"))
        with np.load(folder / OOF_FILE, allow_pickle=False) as arrays:
            prediction, y = arrays["oof"], arrays["y"]
    except (OSError, ValueError, KeyError, ValidationError) as exc:
        raise ValueError(f"unreadable out-of-fold predictions ({type(exc).__name__})") from None
    expected = (info.n_rows, len(info.classes)) if info.task != "regression" else (info.n_rows,)
    if prediction.shape != expected or y.shape != (info.n_rows,):
        raise ValueError(
            f"out-of-fold predictions of shape {prediction.shape} do not match {expected}"
        )
    return OutOfFold(info, prediction, y)
