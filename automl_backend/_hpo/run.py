"""run_hpo: one HPO experiment, from spec and data to result, model and run directory."""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_backend._artifacts import write_run_dir
from automl_backend._dataset import Dataset
from automl_backend._errors import SpecError
from automl_backend._features.selection import prepare_features, with_notes
from automl_backend._hpo.executor import TrialExecutor
from automl_backend._hpo.finalize import (
    PRELOAD_MIN_BUDGET_S,
    RefitReserve,
    build_model,
    final_oof,
    pick_members,
    preload_run_dir_writers,
)
from automl_backend._hpo.oof import data_fingerprint
from automl_backend._hpo.search import OVERRUN_REASON, HPOTrial, Search
from automl_backend._hpo.shared import SharedSearch, publish_problem
from automl_backend._hpo.storage import is_shared_storage, open_artifact_store, open_storage
from automl_backend._hpo.study import create_study, join_study, make_sampler
from automl_backend._hpo.suggest import ResolvedSpace
from automl_backend._hpo.worker import Problem
from automl_backend._metrics import DEFAULT_METRIC
from automl_backend._model import FittedModel, score_model
from automl_backend._portfolio import choose_configs, load_portfolio
from automl_backend._preprocess import coerce_columns
from automl_backend._profile import profile_dataset
from automl_backend._progress import ProgressCallback, ProgressEvent
from automl_backend._registry import default_config, family_names
from automl_backend._result import EnsembleMember, ExperimentResult
from automl_backend._rundir import prepare_run_dir
from automl_backend._spec import ExperimentSpec, ModelSpace, TrialConfig
from automl_backend._splits import halving_rungs, make_folds, resolve_cv

log = logging.getLogger("automl_backend")

_DEFAULT_ORDER = (
    "lightgbm", "extra_trees", "logistic", "ridge", "knn", "random_forest", "svm",
    "hist_gradient_boosting", "elastic_net", "mlp",
)  # fmt: skip
"""Order in which default configurations are tried: cheap, strong and diverse first."""


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


@dataclass
class HPORun:
    """Everything an HPO run produced (the estimators keep it; run_spec returns the result)."""

    result: ExperimentResult
    model: FittedModel | None
    records: list[HPOTrial]
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


def _space(spec: ExperimentSpec, dataset: Dataset) -> ResolvedSpace:
    models = spec.models or [
        ModelSpace(family=f) for f in default_families(dataset.task, dataset.n_rows)
    ]
    return ResolvedSpace(
        models={m.family: m.resolved(dataset.task) for m in models},
        preprocessing=spec.preprocessing,
        has_categorical=any(k == "categorical" for k in dataset.column_types.values()),
        has_missing=bool(dataset.X.isna().to_numpy().any()),
        grid_points=spec.search.grid_points if spec.search.sampler == "grid" else None,
    )


def portfolio_configs(spec: ExperimentSpec, dataset: Dataset,
                      space: ResolvedSpace) -> list[TrialConfig]:  # fmt: skip
    """The shipped portfolio ordered for ``dataset`` by its nearest past data sets, only
    families this search covers; empty when ``search.portfolio`` is off or for
    regression (the portfolio was built on classification sets)."""
    if not spec.search.portfolio or dataset.task == "regression":
        return []
    portfolio = load_portfolio()
    if not any(c.config.family in space.models for c in portfolio.candidates):
        return []
    chosen = choose_configs(portfolio, profile_dataset(dataset).meta_vector())
    return [c for c in chosen if c.family in space.models]


def _warm_start(spec: ExperimentSpec, extra: list[TrialConfig] | None, space: ResolvedSpace,
                task: str, portfolio: list[TrialConfig]) -> list[TrialConfig]:  # fmt: skip
    """Trials queued first: the spec's warm starts, the caller's (the runs ledger's),
    then the portfolio with each family's default configuration right after that
    family's first portfolio entry, then the defaults of the families the portfolio
    leaves out (the search skips repeats).

    The portfolio's configurations were chosen on other data sets; the default is kept
    as a fallback next to them: without it, a search of 15 s on tic-tac-toe never
    reached LightGBM's default, which beat every portfolio configuration there.
    """
    configs = [*spec.warm_start, *(extra or [])]
    if not spec.search.enqueue_defaults:
        return [*configs, *portfolio]
    order = sorted(space.models, key=lambda f: _DEFAULT_ORDER.index(f))
    defaults = {f: TrialConfig(family=f, params=default_config(f, task)) for f in order}
    for config in portfolio:
        configs.append(config)
        if config.family in defaults:
            configs.append(defaults.pop(config.family))
    return [*configs, *defaults.values()]


def run_hpo(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: str | Path | None = None,
    warm_start: list[TrialConfig] | None = None,
    progress: ProgressCallback | None = None,
    test: Dataset | None = None,
    storage: str | None = None,
    artifacts: str | Path | None = None,
    executor: TrialExecutor | None = None,
) -> HPORun:
    """``run_spec`` for a ``kind: hpo`` spec, also returning the model, the trial records
    and the study. ``executor`` runs the trials (default: forked local workers).

    A ``storage`` on a database server (``postgresql://...``) creates or joins the
    spec's study there, so ``cosci worker`` processes can evaluate its trials;
    ``artifacts``: a folder they all share for the files they exchange (default: a
    table in that database)."""
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
    # Checked against the data (and, for features: auto, selected on inner folds of
    # the training rows) before the search; the selection's time counts in the budget.
    features = prepare_features(spec, dataset, metric, spec.budget.time_s)
    encoded.problem.features = features.transforms
    dataset = with_notes(dataset, features)
    space = _space(spec, dataset)
    final, workdir = prepare_run_dir(out_dir)
    try:
        output = _execute(
            spec, dataset, encoded, space, metric, started,
            warm_start=warm_start, progress=progress, test=test, storage=storage,
            artifacts=artifacts, executor=executor, final=final, workdir=workdir,
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


def _shared_search(spec: ExperimentSpec, dataset: Dataset, problem: Problem,
                   space: ResolvedSpace, storage: str, artifacts: str | Path | None,
                   warm: list[TrialConfig], *, started: float, budget_end: float | None,
                   progress: ProgressCallback | None,
                   executor: TrialExecutor | None) -> SharedSearch:  # fmt: skip
    """Create or join the spec's study on a database server and publish the problem."""
    shared_storage = open_storage(storage)
    name = spec.name or f"cosci-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    study = join_study(spec, shared_storage, name, len(problem.folds), seed=None, create=True)
    joined = bool(study.user_attrs)
    if joined:
        # Another driver created it: a different seed, and its warm starts are queued already.
        study.sampler = make_sampler(spec, len(study.directions), seed=secrets.randbits(31),
                                     shared=True)  # fmt: skip
        warm = []
    if spec.budget.n_trials is not None:
        # Queued trials run first, whoever asks; left over past the budget, they would
        # stand before a dead process's retry in the queue.
        warm = warm[: spec.budget.n_trials]
    store = open_artifact_store(storage, artifacts)
    publish_problem(study, store, problem, spec, space, data_fingerprint(dataset))
    return SharedSearch(
        problem, spec, space, study, started=started, budget_end=budget_end,
        reserve=RefitReserve(spec, problem), warm_start=warm, progress=progress,
        executor=executor, storage=shared_storage, artifacts=store, driver=True,
    )  # fmt: skip


def _rungs(spec: ExperimentSpec, dataset: Dataset, problem: Problem,
           shared: bool) -> tuple[float, ...]:  # fmt: skip
    """The successive-halving rungs of this run: ``search.halving``, off where a fold
    pruner or several objectives stop trials otherwise, or when other processes share
    the study (the rung scores are kept by this process only)."""
    search = spec.search
    if shared or search.pruner != "none" or len(search.objectives) > 1 or not problem.folds:
        return ()
    strategy, _ = resolve_cv(spec.cv, dataset, spec.budget.time_s)
    return halving_rungs(search.halving, strategy, len(problem.folds[0][0]))


def _execute(spec: ExperimentSpec, dataset: Dataset, encoded: _Encoded, space: ResolvedSpace,
             metric: str, started: float, *, warm_start: list[TrialConfig] | None,
             progress: ProgressCallback | None, test: Dataset | None, storage: str | None,
             artifacts: str | Path | None, executor: TrialExecutor | None,
             final: Path | None, workdir: Path | None) -> HPORun:  # fmt: skip
    problem = encoded.problem
    budget_end = None if spec.budget.time_s is None else started + spec.budget.time_s
    portfolio = portfolio_configs(spec, dataset, space)
    warm = _warm_start(spec, warm_start, space, dataset.task, portfolio)
    problem.rungs = _rungs(spec, dataset, problem, is_shared_storage(storage))
    search: Search
    if is_shared_storage(storage):
        assert storage is not None
        if workdir is not None and (spec.budget.time_s or math.inf) >= PRELOAD_MIN_BUDGET_S:
            preload_run_dir_writers()
        search = _shared_search(
            spec, dataset, problem, space, storage, artifacts, warm,
            started=started, budget_end=budget_end, progress=progress, executor=executor,
        )  # fmt: skip
        study = search.study
    else:
        study = create_study(spec, storage, workdir, len(problem.folds))
        search = Search(
            problem, spec, space, study, started=started, budget_end=budget_end,
            reserve=RefitReserve(spec, problem), warm_start=warm, progress=progress,
            executor=executor, meanwhile=None if workdir is None else preload_run_dir_writers,
        )  # fmt: skip
    try:
        records = search.run()
    finally:
        search.stop_all("stopped: the run was interrupted")
    if isinstance(search, SharedSearch):
        records = records + search.others_records()
    notes = list(dataset.notes) + [f"dropped column {c!r}: {r}" for c, r in dataset.dropped.items()]
    if portfolio:
        notes.append(f"portfolio: {len(portfolio)} configurations queued after the warm starts")
    if problem.rungs:
        shares = " and ".join(f"{f:.0%}" for f in problem.rungs)
        stopped = [
            r for r in records if r.rung_scores and r.state == "pruned" and not r.fold_scores
        ]
        slow = sum((r.reason or "").startswith(OVERRUN_REASON) for r in stopped)
        notes.append(
            f"successive halving: trials fitted first on {shares} of the training rows; "
            f"{len(stopped)} stopped there"
            + (
                f" ({slow} of them because all rows would take past their time limit)"
                if slow
                else ""
            )
        )
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
    return HPORun(result=result, model=model, records=records, study=study)
