"""The Optuna study of an HPO run: storage, directions, and the sampler and pruner the spec names."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

from automl_backend._errors import BackendError
from automl_backend._spec import ExperimentSpec


def create_study(spec: ExperimentSpec, storage: str | None, workdir: Path | None,
                 n_folds: int) -> Any:  # fmt: skip
    """A new study (``study.db`` in ``workdir`` unless ``storage`` names one)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is None and workdir is not None:
        storage = f"sqlite:///{workdir / 'study.db'}"
    directions = ["maximize"] + ["minimize"] * (len(spec.search.objectives) - 1)
    name = spec.name or f"cosci-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
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


def join_study(spec: ExperimentSpec, storage: Any, name: str, n_folds: int, *,
               seed: int | None, create: bool) -> Any:  # fmt: skip
    """Create (``create``) or load study ``name`` in a shared ``storage`` (an opened
    RDB storage) with the spec's sampler and pruner; ``seed`` seeds this process's
    sampler, so that processes do not all suggest the same configurations."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = ["maximize"] + ["minimize"] * (len(spec.search.objectives) - 1)
    sampler = make_sampler(spec, len(directions), seed=seed, shared=True)
    pruner = make_pruner(spec, n_folds)
    try:
        if create:
            return optuna.create_study(
                storage=storage, study_name=name, directions=directions,
                sampler=sampler, pruner=pruner, load_if_exists=True,
            )  # fmt: skip
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except ValueError as exc:  # e.g. the directions of an existing study differ
        raise BackendError(f"cannot join study {name!r}: {exc}") from None


def make_sampler(spec: ExperimentSpec, n_objectives: int, *, seed: int | None = None,
                 shared: bool = False) -> Any:  # fmt: skip
    """The spec's sampler; ``seed`` replaces the spec's, and ``shared`` (other processes
    run trials of the same study) makes TPE assume running trials score badly."""
    import optuna

    name = spec.search.sampler
    seed = spec.seed if seed is None else seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, n_startup_trials=8,
                constant_liar=shared or spec.budget.n_jobs > 1,
            )  # fmt: skip
        if name in ("random", "grid"):
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(
                seed=seed, warn_independent_sampling=False,
                independent_sampler=optuna.samplers.RandomSampler(seed=seed),
            )  # fmt: skip
        if name == "gp":
            return optuna.samplers.GPSampler(
                seed=seed, independent_sampler=optuna.samplers.RandomSampler(seed=seed),
                n_startup_trials=8,
            )  # fmt: skip
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=16)


def make_pruner(spec: ExperimentSpec, n_folds: int) -> Any:
    import optuna

    name = spec.search.pruner
    if name == "none" or n_folds < 2:
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=n_folds, reduction_factor=3)
