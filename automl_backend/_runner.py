"""run_spec: one experiment from spec and data to result, model and run directory."""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_backend._dataset import Dataset
from automl_backend._errors import BackendError, SpecError
from automl_backend._metrics import DEFAULT_METRIC, score
from automl_backend._model import FittedModel
from automl_backend._nas_experiment import run_nas_spec
from automl_backend._preprocess import coerce_columns
from automl_backend._progress import ProgressCallback, ProgressEvent
from automl_backend._registry import default_config, family_names
from automl_backend._result import EnsembleMember, ExperimentResult
from automl_backend._search import Search, TrialRecord
from automl_backend._spec import ExperimentSpec, ModelSpace, TrialConfig
from automl_backend._splits import make_folds
from automl_backend._suggest import SearchSpace
from automl_backend._worker import Problem

log = logging.getLogger("automl_backend")

_DEFAULT_ORDER = (
    "lightgbm", "extra_trees", "logistic", "ridge", "knn", "random_forest", "svm",
    "hist_gradient_boosting", "elastic_net", "mlp",
)  # fmt: skip
"""Order in which default configurations are tried: cheap, strong and diverse first."""
ARTIFACT_RESERVE_S = 2.0
"""Seconds kept for writing the run directory (plots, report, model file)."""
_MAX_RESERVE_SHARE = 0.35
_PARTIAL_NAME = re.compile(r"^\..+\.partial-(\d+)$")
"""A run directory being written: ``.NAME.partial-PID`` of the process writing it."""


def default_families(task: str, n_rows: int) -> list[str]:
    """Families searched when a spec names none: all that fit the task and data size.

    Kernel SVMs scale quadratically in rows, so they join only below 10 000 rows;
    the MLP only below 20 000. Histogram boosting duplicates LightGBM and is left out.
    """
    skip = {"hist_gradient_boosting", "elastic_net"}
    if n_rows > 10_000:
        skip.add("svm")
    if n_rows > 20_000:
        skip.add("mlp")
    return [f for f in family_names(task) if f not in skip]


def allowed_overshoot(time_s: float) -> float:
    """How far past its time budget a run may end: max(5 %, 5 s)."""
    return max(0.05 * time_s, 5.0)


@dataclass
class RunOutput:
    """Everything a run produced (the estimators keep it; run_spec returns the result)."""

    result: ExperimentResult
    model: FittedModel | None
    records: list[TrialRecord]
    study: Any


@dataclass
class _Encoded:
    problem: Problem
    classes: list[Any]


def _encode(dataset: Dataset, spec: ExperimentSpec, metric: str) -> _Encoded:
    folds = make_folds(dataset, spec.cv, spec.seed, spec.budget.time_s)
    X = coerce_columns(dataset.X, dataset.column_types)
    classes = dataset.classes
    if dataset.task == "regression":
        y = dataset.y.to_numpy(dtype=float)
    else:
        index = {label: i for i, label in enumerate(classes)}
        y = dataset.y.map(index).to_numpy(dtype=int)
    problem = Problem(
        X=X, y=y, column_types=dict(dataset.column_types), task=dataset.task,
        n_classes=len(classes), folds=folds, metric=metric, seed=spec.seed,
        threads=spec.budget.threads_per_trial,
    )  # fmt: skip
    return _Encoded(problem, classes)


def _space(spec: ExperimentSpec, dataset: Dataset) -> SearchSpace:
    models = spec.models or [
        ModelSpace(family=f) for f in default_families(dataset.task, dataset.n_rows)
    ]
    return SearchSpace(
        models={m.family: m.resolved(dataset.task) for m in models},
        preprocessing=spec.preprocessing,
        has_categorical=any(k == "categorical" for k in dataset.column_types.values()),
        has_missing=bool(dataset.X.isna().to_numpy().any()),
        grid_points=spec.search.grid_points if spec.search.sampler == "grid" else None,
    )


def _warm_start(spec: ExperimentSpec, extra: list[TrialConfig] | None, space: SearchSpace,
                task: str) -> list[TrialConfig]:  # fmt: skip
    configs = [*spec.warm_start, *(extra or [])]
    if spec.search.enqueue_defaults:
        order = sorted(space.models, key=lambda f: _DEFAULT_ORDER.index(f))
        configs += [TrialConfig(family=f, params=default_config(f, task)) for f in order]
    return configs


class _RefitReserve:
    """Seconds to keep free at the end of the search for the refit and the artifacts.

    The refit time is estimated from the ensemble the search would pick *now*
    (greedy selection over the out-of-fold predictions is cheap), recomputed when new
    trials complete, at most once a second.
    """

    def __init__(self, spec: ExperimentSpec, problem: Problem) -> None:
        self.spec, self.problem = spec, problem
        self.cap = _MAX_RESERVE_SHARE * (spec.budget.time_s or 0.0)
        self.value = ARTIFACT_RESERVE_S
        self._seen = 0
        self._at = 0.0

    def __call__(self, records: list[TrialRecord]) -> float:
        from automl_backend._finalize import expected_refit_s, pick_members

        complete = [r for r in records if r.state == "complete"]
        now = time.monotonic()
        if len(complete) != self._seen and now - self._at >= 1.0:
            self._seen, self._at = len(complete), now
            ranked = sorted(complete, key=lambda r: -(r.score or 0.0))
            weights, _ = pick_members(self.spec, ranked, self.problem)
            by_number = {r.number: r for r in ranked}
            n_folds = len(self.problem.folds)
            refit = sum(expected_refit_s(by_number[n], n_folds) for n in weights)
            self.value = ARTIFACT_RESERVE_S + refit
        return min(self.value, self.cap)


def _study(spec: ExperimentSpec, storage: str | None, workdir: Path | None, n_folds: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is None and workdir is not None:
        storage = f"sqlite:///{workdir / 'study.db'}"
    directions = ["maximize"] + ["minimize"] * (len(spec.search.objectives) - 1)
    name = spec.name or f"cosci-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    from automl_backend._search import make_pruner, make_sampler

    try:
        return optuna.create_study(
            storage=storage, study_name=name, directions=directions,
            sampler=make_sampler(spec, len(directions)), pruner=make_pruner(spec, n_folds),
        )  # fmt: skip
    except optuna.exceptions.DuplicatedStudyError:
        raise BackendError(
            f"study {name!r} already exists in that storage; rename the spec"
        ) from None
    except Exception as exc:
        if storage is not None and "sqlite" not in storage:
            raise BackendError(f"cannot open Optuna storage: {type(exc).__name__}: {exc}") from None
        raise


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def remove_stale_partials(parent: Path) -> list[Path]:
    """Delete the ``.NAME.partial-PID`` folders in ``parent`` whose process is dead.

    A run killed with SIGKILL cannot clean up after itself; the next run in the same
    folder does. Folders of live processes (runs still writing) are left alone.
    """
    removed: list[Path] = []
    with os.scandir(parent) as entries:
        candidates = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
    for folder in candidates:
        match = _PARTIAL_NAME.match(folder.name)
        if match and not _process_exists(int(match.group(1))):
            log.info("removing %s, left by a run that was killed", folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _prepare_run_dir(out_dir: str | Path | None) -> tuple[Path | None, Path | None]:
    if out_dir is None:
        return None, None
    final = Path(out_dir).expanduser().resolve()
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise BackendError(f"run directory {final} already exists and is not empty")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final.parent)
    workdir = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    return final, workdir


def run_spec(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: str | Path | None = None,
    warm_start: list[TrialConfig] | None = None,
    progress: ProgressCallback | None = None,
    test: Dataset | None = None,
    storage: str | None = None,
    data_info: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Search, ensemble and refit as ``spec`` says, on ``dataset``.

    ``out_dir``: the run directory to create (written to a temporary sibling and moved
    into place only when complete); None writes nothing and keeps the study in memory.
    ``storage``: any Optuna storage URL (default: ``study.db`` in the run directory).
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
    return run_experiment(
        spec, dataset, out_dir=out_dir, warm_start=warm_start, progress=progress,
        test=test, storage=storage,
    ).result  # fmt: skip


def run_experiment(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: str | Path | None = None,
    warm_start: list[TrialConfig] | None = None,
    progress: ProgressCallback | None = None,
    test: Dataset | None = None,
    storage: str | None = None,
) -> RunOutput:
    """:func:`run_spec`, also returning the model, the trial records and the study."""
    started = time.monotonic()
    if spec.kind != "hpo":
        raise SpecError(f"a kind {spec.kind!r} spec needs run_spec, not the HPO runner")
    if spec.task != "auto" and spec.task != dataset.task:
        raise SpecError(
            f"the spec is for {spec.task} but the data set is {dataset.task}; "
            "load it with the same task"
        )
    problem_text = spec.task_problem(dataset.task)
    if problem_text:
        raise SpecError(problem_text)
    metric = spec.metric or DEFAULT_METRIC[dataset.task]
    encoded = _encode(dataset, spec, metric)
    space = _space(spec, dataset)
    final, workdir = _prepare_run_dir(out_dir)
    try:
        output = _execute(
            spec, dataset, encoded, space, metric, started,
            warm_start=warm_start, progress=progress, test=test, storage=storage,
            final=final, workdir=workdir,
        )  # fmt: skip
    except BaseException:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    if workdir is not None and final is not None:
        if final.exists():
            final.rmdir()
        os.replace(workdir, final)
    return output


def _execute(spec: ExperimentSpec, dataset: Dataset, encoded: _Encoded, space: SearchSpace,
             metric: str, started: float, *, warm_start: list[TrialConfig] | None,
             progress: ProgressCallback | None, test: Dataset | None, storage: str | None,
             final: Path | None, workdir: Path | None) -> RunOutput:  # fmt: skip
    from automl_backend._artifacts import write_run_dir
    from automl_backend._finalize import build_model, final_oof, pick_members

    problem = encoded.problem
    budget_end = None if spec.budget.time_s is None else started + spec.budget.time_s
    study = _study(spec, storage, workdir, len(problem.folds))
    search = Search(
        problem, spec, space, study, started=started, budget_end=budget_end,
        reserve=_RefitReserve(spec, problem),
        warm_start=_warm_start(spec, warm_start, space, dataset.task), progress=progress,
    )  # fmt: skip
    try:
        records = search.run()
    finally:
        search.stop_all("stopped: the run was interrupted")
    notes = list(dataset.notes) + [f"dropped column {c!r}: {r}" for c, r in dataset.dropped.items()]
    if search.stop_reason:
        notes.append(f"search stopped: {search.stop_reason}")
    complete = sorted(
        (r for r in records if r.state == "complete"), key=lambda r: -(r.score or 0.0)
    )
    counts = {
        "n_trials": len(records),
        "n_failed_trials": sum(r.state == "failed" for r in records),
        "n_pruned_trials": sum(r.state == "pruned" for r in records),
    }
    base: dict[str, Any] = {"task": dataset.task, "metric": metric, **counts}
    model: FittedModel | None = None
    members: list[EnsembleMember] = []
    ensemble_score = None
    if not complete:
        reasons = sorted({r.reason or "" for r in records if r.reason})
        reason = "no trial finished" + (f" ({'; '.join(reasons[:3])})" if reasons else "")
        result = ExperimentResult(status="failed", reason=reason, notes=notes, **base)
    else:
        best = complete[0]
        weights, ensemble_score = pick_members(spec, complete, problem)
        if progress is not None:
            progress(ProgressEvent(
                phase="refit", trials_done=len(records), trials_failed=counts["n_failed_trials"],
                best_score=best.score, elapsed_s=time.monotonic() - started,
                time_budget_s=spec.budget.time_s, n_trials_budget=spec.budget.n_trials,
            ))  # fmt: skip
        model, members, refit_notes = build_model(
            spec, problem, encoded.classes, dataset, complete, weights, metric, budget_end
        )
        notes += refit_notes
        result = ExperimentResult(
            status="ok" if model is not None else "failed",
            reason=None if model is not None else "; ".join(refit_notes) or "refit failed",
            best_score=best.score, fold_scores=best.fold_scores, best_config=best.config,
            ensemble_score=ensemble_score, ensemble=members, notes=notes, **base,
        )  # fmt: skip
    if model is not None and test is not None:
        result.test_score = score_model(model, test, metric)
    result.fit_time_s = round(time.monotonic() - started, 3)
    if workdir is not None and final is not None:
        result.run_dir = final
        result.trials_path = final / "leaderboard.csv"
        oof = None
        if model is not None:
            oof = final_oof(spec, dataset, encoded.problem, encoded.classes, members, complete)
        write_run_dir(workdir, spec, dataset, result, records, study, model, oof=oof)
        result.fit_time_s = round(time.monotonic() - started, 3)
        (workdir / "result.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return RunOutput(result=result, model=model, records=records, study=study)


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
