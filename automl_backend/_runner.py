"""run_spec: the one way to run an experiment, from spec and data to result and run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_backend._dataset import Dataset
from automl_backend._hpo.run import run_hpo
from automl_backend._nas_experiment import run_nas_spec
from automl_backend._progress import ProgressCallback
from automl_backend._result import ExperimentResult
from automl_backend._spec import ExperimentSpec, TrialConfig


def run_spec(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: str | Path | None = None,
    warm_start: list[TrialConfig] | None = None,
    progress: ProgressCallback | None = None,
    test: Dataset | None = None,
    storage: str | None = None,
    artifacts: str | Path | None = None,
    data_info: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Search, ensemble and refit as ``spec`` says, on ``dataset``.

    ``out_dir``: the run directory to create (written to a temporary sibling and moved
    into place only when complete); None writes nothing and keeps the study in memory.
    ``storage``: any Optuna storage URL (default: ``study.db`` in the run directory); on
    a database server (``postgresql://``) the study is created or joined there and
    ``cosci worker`` processes may evaluate its trials, exchanging files through the
    ``artifacts`` folder (default: a table in that database).
    ``warm_start``: configurations tried first, after the spec's own.
    ``test``: a held-out set scored with the final model (``test_score``).
    Bad data or specs raise :class:`BackendError`; a search in which no trial succeeds
    returns ``status="failed"`` with the reason.
    A ``kind: nas`` spec runs a neural architecture search (``automl_backend.nas``);
    ``data_info`` (NAS only) records how the data was loaded, for ``cosci compress``.
    """
    if spec.kind == "nas":
        return run_nas_spec(
            spec, dataset, out_dir=out_dir, progress=progress, test=test, data_info=data_info
        )
    return run_hpo(
        spec, dataset, out_dir=out_dir, warm_start=warm_start, progress=progress,
        test=test, storage=storage, artifacts=artifacts,
    ).result  # fmt: skip
