"""Run a ``kind: nas`` ExperimentSpec for ``run_spec`` and answer with an ExperimentResult.

The one way into a NAS run from the backend and the CLI; ``automl_backend.nas`` itself
knows nothing of ExperimentSpec or Dataset.

The experiment's own budget (``budget.time_s``, ``budget.n_trials``,
``budget.threads_per_trial``) and ``seed`` govern the search, so budget guards written
for HPO experiments hold for NAS ones too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_backend._dataset import Dataset
from automl_backend._progress import ProgressCallback
from automl_backend._result import ExperimentResult
from automl_backend._spec import ExperimentSpec
from automl_backend.nas import NASError, NASResult, nas_features, run_nas


def run_nas_spec(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    test: Dataset | None = None,
    data_info: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Search ``spec.nas`` on ``dataset`` within the experiment's budget and seed.

    ``data_info`` (how the data was loaded and split) is written to the run directory as
    ``data.json`` so ``cosci compress`` can load the data again; by default it is
    recorded for the named data sets (``sklearn:``, ``keel:``) only.
    """
    if spec.nas is None:
        raise NASError("a nas experiment needs its 'nas' section")
    if dataset.task == "regression":
        raise NASError("NAS handles classification; this data set's target is continuous")
    if spec.metric not in (None, "accuracy"):
        raise NASError(f"NAS optimises accuracy; metric {spec.metric!r} is not supported")
    nas = spec.nas.model_copy(
        update={
            "time_budget_s": spec.budget.time_s,
            "max_trials": spec.budget.n_trials,
            "n_threads": spec.budget.threads_per_trial,
            "seed": spec.seed,
        }
    )
    kind = nas.space.kind
    source = dataset.name if dataset.name.startswith(("sklearn:", "keel:")) else None
    if data_info is None and source is not None:
        data_info = {
            "source": source,
            "target": dataset.target,
            "test_size": None,
            "seed": spec.seed,
        }
    result = run_nas(
        nas,
        nas_features(dataset, kind),
        dataset.y.to_numpy(),
        X_test=nas_features(test, kind) if test is not None else None,
        y_test=test.y.to_numpy() if test is not None else None,
        out_dir=Path(out_dir) if out_dir is not None else None,
        data_name=dataset.name,
        progress=progress,
        spec_json=spec.model_dump(mode="json"),
        data_info=data_info,
    )
    return to_experiment_result(result, task=dataset.task)


def to_experiment_result(result: NASResult, *, task: str | None) -> ExperimentResult:
    """The backend-wide result: validation accuracy of the winner as its one 'fold' (NAS
    scores candidates on one stratified holdout, not k folds)."""
    run_dir = Path(result.run_dir) if result.run_dir else None
    notes = [
        f"NAS ({result.strategy}, {result.space} space): {result.n_evaluated} architectures "
        f"evaluated; winner has {result.params} parameters, {result.latency_ms:.3f} ms per row"
    ]
    return ExperimentResult(
        status=result.status,
        reason=result.reason,
        task=task,
        metric="accuracy",
        best_score=result.best_val_accuracy,
        fold_scores=[result.best_val_accuracy],
        best_architecture=result.best_architecture,
        n_trials=result.n_evaluated,
        n_failed_trials=sum(not t.complete for t in result.trials),
        trials_path=run_dir / "leaderboard.csv" if run_dir else None,
        fit_time_s=result.fit_time_s,
        run_dir=run_dir,
        test_score=result.test_accuracy,
        notes=notes + result.notes,
    )
