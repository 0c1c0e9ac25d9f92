"""Load the model to compress from a run directory: a NAS network or an AutoML ensemble."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_backend.compression._errors import CompressionError


@dataclass
class Teacher:
    kind: str
    """'nas' (a torch network we can prune and quantize) or 'automl' (a fitted ensemble)."""
    run_dir: Path
    classes: list[Any]
    predict_proba: Callable[[Any], np.ndarray]
    size_kb: float
    nas_model: Any = None
    data_info: dict[str, Any] | None = None
    """How the run loaded and split its data (source, target, test_size, seed), if known."""

    def latency_ms(self, row: Any, repeats: int = 15) -> float:
        self.predict_proba(row)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.predict_proba(row)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)


def load_teacher(run_dir: Path, trust: bool = False) -> Teacher:
    """The model of ``run_dir``; its loader checks the folder's manifest unless ``trust``."""
    from automl_backend._model import MODEL_FILES, model_file, saved_size
    from automl_backend.nas._artifact import LEGACY_MODEL_FILE, MODEL_FILE

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CompressionError(f"{run_dir} is not a run directory")
    if (run_dir / MODEL_FILE).is_file() or (run_dir / LEGACY_MODEL_FILE).is_file():
        from automl_backend.compression._storage import compact_size_kb
        from automl_backend.nas._artifact import NASModel

        model = NASModel.load(run_dir, trust=trust)
        return Teacher(
            "nas",
            run_dir,
            model.classes,
            model.predict_proba,
            compact_size_kb(model.network),
            model,
            _data_info(run_dir),
        )
    automl_file = model_file(run_dir)
    if automl_file is not None:
        from automl_backend import load_model

        fitted = load_model(run_dir, trust=trust)
        if not fitted.classification:
            raise CompressionError("compression distils classifiers; this run is a regression")

        def proba(X: Any) -> np.ndarray:
            return fitted.predict_proba(X if isinstance(X, pd.DataFrame) else pd.DataFrame(X))

        size = saved_size(automl_file) / 1024
        return Teacher(
            "automl", run_dir, list(fitted.classes), proba, size, None, _data_info(run_dir)
        )
    raise CompressionError(
        f"{run_dir} holds no model: no {LEGACY_MODEL_FILE} or {MODEL_FILE} (NAS run), "
        f"no {' or '.join(MODEL_FILES)} (AutoML run)"
    )


def _data_info(run_dir: Path) -> dict[str, Any] | None:
    """How the run loaded its data; read after the model, whose loader checked the folder."""
    info_file = run_dir / "data.json"
    if info_file.is_file():
        return json.loads(info_file.read_text())
    if (run_dir / "dataset.json").is_file():
        # AutoML run directories record the target column but not where the data came from.
        target = json.loads((run_dir / "dataset.json").read_text()).get("target")
        return {"target": target} if target else None
    return None
