"""FittedModel: the final (ensemble) model of a run, saved as ``model.skops``.

A combination of runs (:func:`automl_backend.combine_runs`) keeps its runs' model files
as they are, under ``parts/``, and lists them with their weights in ``model-parts.json``;
loading it loads each part and multiplies the weights through. Writing a combination is
then a copy (or hard link) of files that are already saved, not a new serialisation.

skops stores the object tree as data and, when loading, builds only the types it is
told to trust: scikit-learn's own, plus :data:`TRUSTED_TYPES` (what our pipelines hold
besides). Folders of older versions hold ``model.joblib``, a pickle, which runs code
from the file when loaded: only ``trust=True`` (``--trust``) loads one.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automl_backend._dataset import Dataset
from automl_backend._errors import BackendError, DataError
from automl_backend._integrity import checked_name, record_files, refusal, verify_folder
from automl_backend._metrics import score
from automl_backend._openmp import single_threaded_lightgbm
from automl_backend._preprocess import coerce_columns

log = logging.getLogger("automl_backend")

_TORCH_ARRAY_API = "sklearn.externals.array_api_compat.torch"


def import_skops_io() -> ModuleType:
    """``skops.io``, imported without importing torch for nothing.

    On import skops lists scikit-learn's estimators, which walks and imports every
    scikit-learn package, among them the array-API adapter for torch: that imports torch,
    1.2 of the 1.75 s the import took here. No model of ours holds a torch array, so the
    adapter is marked missing (``None`` in ``sys.modules`` makes its import fail, and
    the walk skips a package it cannot import) for the time of the import, then unmarked.
    The estimator list comes out the same (208 names here, with or without the adapter).
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    mark = "torch" not in sys.modules and _TORCH_ARRAY_API not in sys.modules
    if mark:
        sys.modules[_TORCH_ARRAY_API] = None  # type: ignore[assignment]
    try:
        import skops.io
    finally:
        if mark and _TORCH_ARRAY_API in sys.modules and sys.modules[_TORCH_ARRAY_API] is None:
            del sys.modules[_TORCH_ARRAY_API]
    return skops.io


MODEL_FILE = "model.skops"
LEGACY_MODEL_FILE = "model.joblib"
"""Older versions' pickle; also written when skops cannot represent a model."""
PARTS_FILE = "model-parts.json"
"""A combination of runs: its parts' model files and weights (see :class:`ModelParts`)."""
MODEL_FILES = (MODEL_FILE, PARTS_FILE, LEGACY_MODEL_FILE)

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "automl_backend._features.builder.FeatureBuilder",
        "automl_backend._features.oversample.OversampledClassifier",
        "automl_backend._model.FittedModel",
        "automl_backend._preprocess.DateExpander",
        "collections.OrderedDict",
        "numpy.dtype",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.model_selection._split.KFold",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.tree._tree.Tree",
    }
)
"""Types beyond skops' defaults (scikit-learn estimators, numpy, scipy) that a
``model.skops`` may name and still load without ``trust``: every one is a
scikit-learn, LightGBM, numpy or cosci type that our pipelines hold."""


def predict_matrix(pipeline: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """Class-probability matrix with one column per global class (or regression values).

    A model trained on a fold that lacks some class knows fewer classes; its columns
    are placed by the class indices it saw.
    """
    if n_classes == 0:
        return np.asarray(pipeline.predict(X), dtype=float)
    proba = np.asarray(pipeline.predict_proba(X), dtype=float)
    known = np.asarray(pipeline.classes_, dtype=int)
    full = np.zeros((len(X), n_classes))
    full[:, known] = proba
    return full


@dataclass
class FittedModel:
    """Weighted members (fitted pipelines) plus what is needed to read new data.

    ``classes`` maps class index -> original label; empty for regression.
    """

    task: str
    target: str
    column_types: dict[str, str]
    classes: list[Any]
    members: list[tuple[float, Any]]
    member_configs: list[dict[str, Any]] = field(default_factory=list)
    metric: str = ""

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X), columns=list(self.column_types))
        elif any(not isinstance(c, str) for c in X.columns):
            X = X.rename(columns=str)
        try:
            return coerce_columns(X, self.column_types)
        except KeyError as exc:
            missing = exc.args[0]
            raise DataError(
                f"data lacks the model's columns: {', '.join(map(str, missing))}"
            ) from None

    def predict_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Averaged class probabilities (classification) or predictions (regression)."""
        rows = self._prepare(X)
        k = len(self.classes) if self.classification else 0
        total = None
        # One LightGBM thread here: this process may fork trials later (see _openmp).
        with single_threaded_lightgbm():
            for weight, pipeline in self.members:
                part = weight * predict_matrix(pipeline, rows, k)
                total = part if total is None else total + part
        assert total is not None
        weights = sum(w for w, _ in self.members)
        return total / weights

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not self.classification:
            raise BackendError("predict_proba needs a classification model")
        return self.predict_matrix(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self.predict_matrix(X)
        if not self.classification:
            return matrix
        return np.asarray(self.classes, dtype=object)[matrix.argmax(axis=1)].astype(
            _label_dtype(self.classes)
        )

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (skops) and record its SHA-256 in the folder's manifest.

        A model skops cannot represent goes to ``model.joblib`` beside it instead (loading
        that needs ``trust``). Returns the file written.
        """
        sio = import_skops_io()
        path = Path(path)
        try:
            sio.dump(self, path)
        except OSError:
            raise  # a full disk or a lost folder is not an object skops cannot hold
        except Exception as exc:  # skops raises several types for objects it cannot hold
            import joblib

            path.unlink(missing_ok=True)
            path = path.with_name(LEGACY_MODEL_FILE)
            log.warning("model saved as a pickle (%s): skops cannot store it: %s", path, exc)
            joblib.dump(self, path)
        else:
            unknown = _off_the_allow_list(sio.get_untrusted_types(file=path))
            if unknown:
                log.warning("%s names types off the allow-list (%s); loading it needs "
                            "trust=True", path, ", ".join(unknown))  # fmt: skip
        record_files(path.parent, [path.name])
        return path


class ModelPart(BaseModel):
    """One run's saved model inside a combination."""

    model_config = ConfigDict(extra="forbid")
    file: str
    """Path of the part's model file, relative to the combination's folder."""
    weight: float = Field(gt=0, le=1)
    run: str
    """The run it came from."""


class ModelParts(BaseModel):
    """``model-parts.json``: a combined model as weighted, already saved parts."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["model-parts"] = "model-parts"
    parts: list[ModelPart] = Field(min_length=1)


def merge_models(parts: list[tuple[str, float, FittedModel]]) -> FittedModel:
    """One FittedModel over weighted ``(run, weight, model)`` parts, weights multiplied
    through; parts that read other columns or predict other classes are refused."""
    members: list[tuple[float, Any]] = []
    configs: list[dict[str, Any]] = []
    base = parts[0][2]
    for run, run_weight, model in parts:
        if (model.task, model.classes) != (base.task, base.classes):
            raise BackendError(f"part {run} predicts other classes than {parts[0][0]}")
        if model.column_types != base.column_types:
            raise BackendError(f"part {run} reads other columns than {parts[0][0]}")
        total = sum(w for w, _ in model.members)
        described = model.member_configs
        if len(described) != len(model.members):
            described = [{} for _ in model.members]
        for (weight, pipeline), config in zip(model.members, described, strict=True):
            share = run_weight * weight / total
            members.append((share, pipeline))
            configs.append({**config, "run": run, "run_weight": run_weight, "weight": share})
    return FittedModel(
        task=base.task, target=base.target, column_types=dict(base.column_types),
        classes=list(base.classes), members=members, member_configs=configs, metric=base.metric,
    )  # fmt: skip


def read_parts(file: Path) -> ModelParts:
    """The parts list of a combination, checked (paths stay inside its folder)."""
    try:
        parts = ModelParts.model_validate_json(file.read_text(encoding="utf-8"))
        for part in parts.parts:
            checked_name(part.file)
    except (OSError, ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise BackendError(f"cannot read {file}: {first}") from None
    return parts


def _label_dtype(classes: list[Any]) -> Any:
    values = np.asarray(classes)
    return values.dtype if values.dtype.kind in "biuf" else object


def _off_the_allow_list(types: list[str]) -> list[str]:
    return sorted(t for t in types if t not in TRUSTED_TYPES)


def model_file(folder: Path) -> Path | None:
    """The saved model of a run directory (``model.skops``, else an older ``model.joblib``)."""
    return next((folder / n for n in MODEL_FILES if (folder / n).is_file()), None)


def model_file_names(file: Path) -> list[str]:
    """What a model file's folder manifest must list: the file and, for a combination's
    ``model-parts.json``, every part it names."""
    if file.name != PARTS_FILE:
        return [file.name]
    return [file.name, *(p.file for p in read_parts(file).parts)]


def saved_size(file: Path) -> int:
    """Bytes of a saved model: the file, or every part a ``model-parts.json`` lists."""
    if file.name != PARTS_FILE:
        return file.stat().st_size
    return sum((file.parent / p.file).stat().st_size for p in read_parts(file).parts)


def load_model(path: str | Path, trust: bool = False) -> FittedModel:
    """Load a run's model from its run directory or its model file (a combination's
    ``model-parts.json`` loads every part it lists).

    Unless ``trust``, the folder's manifest must list the model file and every hash in
    it must match, and the model must be a skops file naming only trusted types;
    otherwise :class:`UntrustedModelError`. ``trust=True`` skips these checks and loads
    older pickles too: loading a model folder runs code from it, so trust only folders
    you made.
    """
    path = Path(path)
    file = (model_file(path) or path / MODEL_FILE) if path.is_dir() else path
    if not file.is_file():
        raise BackendError(f"no model found at {file}")
    if not trust:
        verify_folder(file.parent, model_file_names(file))
    if file.name != PARTS_FILE:
        return _load_file(file, trust)
    parts = read_parts(file).parts
    return merge_models([(p.run, p.weight, _load_file(file.parent / p.file, trust)) for p in parts])


def _load_file(file: Path, trust: bool) -> FittedModel:
    """One model file whose folder was verified (or is trusted)."""
    if not file.is_file():
        raise BackendError(f"no model found at {file}")
    pickled = file.suffix != ".skops"
    if pickled and not trust:
        raise refusal(file, f"{file.name} is a pickle, which runs code when loaded")
    try:
        with single_threaded_lightgbm(load=True):
            model = _load_pickle(file) if pickled else _load_skops(file, trust)
    except BackendError:
        raise
    except Exception as exc:
        raise BackendError(f"cannot load model {file}: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, FittedModel):
        raise BackendError(f"{file} does not hold a cosci model")
    return model


def _load_skops(file: Path, trust: bool) -> Any:
    sio = import_skops_io()
    named = sio.get_untrusted_types(file=file)
    unknown = _off_the_allow_list(named)
    if unknown and not trust:
        raise refusal(file, f"it names types off cosci's allow-list ({', '.join(unknown)})")
    return sio.load(file, trusted=named)


def _load_pickle(file: Path) -> Any:
    import joblib

    return joblib.load(file)


def score_model(model: FittedModel, test: Dataset, metric: str) -> float:
    """Score of a fitted model on labelled data (higher is better, losses negated)."""
    matrix = model.predict_matrix(test.X)
    if model.task == "regression":
        return score(metric, test.y.to_numpy(dtype=float), matrix)
    index = {label: i for i, label in enumerate(model.classes)}
    y = test.y.map(lambda v: index.get(v, -1)).to_numpy(dtype=int)
    known = y >= 0
    # Labels never seen in training cannot be predicted; count them as errors only for
    # label metrics, and leave them out of probability metrics, which cannot score them.
    if not known.all() and metric in ("roc_auc", "log_loss"):
        return score(metric, y[known], matrix[known])
    return score(metric, y, matrix)
