"""``cosci worker``: evaluate the trials of a study that a driver shares on a database.

A worker loads the problem the driver published, then runs the same search loop as the
driver (:class:`~automl_backend._hpo.shared.SharedSearch`) until the study's trial
budget is spent or the drivers' search ends: it asks the study for configurations,
fits them fold by fold in forked children, reports each fold's running mean (so the
pruner compares trials across processes), beats a heartbeat for each running trial
and publishes completed trials' out-of-fold predictions. It never refits nor
ensembles: the driver does, once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_backend._errors import BackendError
from automl_backend._hpo.executor import ForkExecutor
from automl_backend._hpo.shared import END_ATTR, SharedSearch, load_problem
from automl_backend._hpo.storage import open_artifact_store, open_storage, redact
from automl_backend._hpo.study import join_study
from automl_backend._hpo.worker import trial_memory_limit_mb
from automl_backend._progress import ProgressCallback

PUBLISH_WAIT_S = 60.0
"""How long to wait for a driver that created the study to publish its problem."""


@dataclass
class WorkerSummary:
    """What one worker did."""

    study: str
    trials: int
    complete: int
    failed: int
    pruned: int
    best_score: float | None
    seconds: float
    stop_reason: str


def _wait_for_study(storage: object, storage_url: str, study_name: str, wait_s: float) -> None:
    import optuna

    give_up = time.monotonic() + wait_s
    while True:
        names = optuna.get_all_study_names(storage)  # type: ignore[arg-type]
        if study_name in names:
            return
        if time.monotonic() >= give_up:
            known = ", ".join(sorted(names)[:5]) or "none"
            raise BackendError(
                f"no study {study_name!r} in {redact(storage_url)} (studies there: {known}); "
                "start the driver first: cosci automl --storage URL --study NAME"
            )
        time.sleep(0.5)


def run_study_worker(storage_url: str, study_name: str, *, artifacts: str | Path | None = None,
                     n_jobs: int = 1, wait_s: float = 0.0, trial_memory_mb: int | None = None,
                     threads: int | None = None,
                     progress: ProgressCallback | None = None) -> WorkerSummary:  # fmt: skip
    """Evaluate trials of ``study_name`` until its budget is spent or its search ends.

    ``wait_s``: how long to wait for the study to be created (a driver that is still
    loading its data). Raises :class:`BackendError` (one line) for an unreachable
    storage or an unknown study.
    """
    import optuna

    started = time.monotonic()
    storage = open_storage(storage_url)
    _wait_for_study(storage, storage_url, study_name, wait_s)
    store = open_artifact_store(storage_url, artifacts)
    bare = optuna.load_study(study_name=study_name, storage=storage)
    problem, spec, space = load_problem(bare, store, max(wait_s, PUBLISH_WAIT_S))
    budget = spec.budget.model_copy(update={"n_jobs": n_jobs})
    spec = spec.model_copy(update={"budget": budget})
    if threads is not None:
        problem.threads = threads
    study = join_study(
        spec, storage, study_name, len(problem.folds), seed=secrets.randbits(31), create=False
    )
    search = SharedSearch(
        problem, spec, space, study, started=started, budget_end=None,
        reserve=lambda records: 0.0, warm_start=[], progress=progress,
        executor=ForkExecutor(trial_memory_limit_mb(trial_memory_mb, n_jobs)),
        storage=storage, artifacts=store, driver=False,
    )  # fmt: skip
    try:
        records = search.run()
    finally:
        search.stop_all("stopped: the worker was interrupted")
    scores = [r.score for r in records if r.score is not None]
    return WorkerSummary(
        study=study_name, trials=len(records),
        complete=sum(r.state == "complete" for r in records),
        failed=sum(r.state == "failed" for r in records),
        pruned=sum(r.state == "pruned" for r in records),
        best_score=max(scores) if scores else None,
        seconds=time.monotonic() - started,
        stop_reason=search.stop_reason or "nothing left to run",
    )  # fmt: skip


def _search_is_over(storage: Any, name: str) -> bool:
    """True when every driver of study ``name`` has passed its search end."""
    attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(name))
    ends = [float(v) for k, v in attrs.items() if k.startswith(END_ATTR)]
    return bool(ends) and max(ends) < time.time()


def follow_studies(storage_url: str, prefix: str, *, idle_s: float = 60.0,
                   artifacts: str | Path | None = None, n_jobs: int = 1,
                   trial_memory_mb: int | None = None, threads: int | None = None,
                   on_join: Callable[[str], None] | None = None,
                   progress: ProgressCallback | None = None) -> list[WorkerSummary]:  # fmt: skip
    """Work for every study whose name starts with ``prefix``, one after the other, as
    drivers create them (a sweep, or the experiments of a co-scientist run); return
    once ``idle_s`` seconds pass with none to join. Studies whose search is over are
    skipped; each study is joined once."""
    import optuna

    storage = open_storage(storage_url)
    joined: set[str] = set()
    summaries: list[WorkerSummary] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_s:
        names = optuna.get_all_study_names(storage)  # type: ignore[arg-type]
        fresh = [n for n in names if n.startswith(prefix) and n not in joined]
        for name in fresh:
            joined.add(name)
            if _search_is_over(storage, name):
                continue
            if on_join is not None:
                on_join(name)
            summaries.append(run_study_worker(
                storage_url, name, artifacts=artifacts, n_jobs=n_jobs,
                trial_memory_mb=trial_memory_mb, threads=threads, progress=progress,
            ))  # fmt: skip
            idle_since = time.monotonic()
        if not fresh:
            time.sleep(1.0)
    return summaries
