"""ExperimentSpec: the typed, validated description of one experiment.

This is the interface agents speak. Everything in it is a name from the registry, a
number inside the registry's limits, or a choice from a closed list; a spec cannot
name an import path or carry code. Parameters a spec leaves out fall back to the
registry's default space, so ``{"models": [{"family": "lightgbm"}]}`` is a full space.
The model and preprocessing spaces live in ``_space.py``; this module adds the run
settings (search, budget, CV, ensemble) and the spec itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from automl_backend._errors import SpecError
from automl_backend._features.vocabulary import FeatureTransform
from automl_backend._metrics import METRICS, metric_names
from automl_backend._registry import REGISTRY, family_names, task_kind
from automl_backend._space import (
    FamilyName,
    ModelSpace,
    PreprocessingConfig,
    PreprocessingSpace,
    TrialConfig,
    _strict,
    accepts,
    check_distribution,
)
from automl_backend.nas._spec import NASSpec

__all__ = [
    "BudgetSpec",
    "CVSpec",
    "EnsembleSpec",
    "ExperimentSpec",
    "FamilyName",
    "ModelSpace",
    "PreprocessingConfig",
    "PreprocessingSpace",
    "SearchSpec",
    "TrialConfig",
    "accepts",
    "check_distribution",
    "parse_spec",
    "validation_message",
]

TaskName = Literal["auto", "binary", "multiclass", "regression"]
SamplerName = Literal["tpe", "random", "grid", "cmaes", "gp", "nsga2"]
PrunerName = Literal["none", "median", "successive_halving", "hyperband"]
Objective = Literal["score", "predict_latency", "model_size"]
CVStrategy = Literal["auto", "stratified", "kfold", "holdout", "time"]
HalvingMode = Literal["auto", "on", "off"]


# ---------------------------------------------------------------- run settings


class SearchSpec(BaseModel):
    """How the space is searched."""

    model_config = _strict()
    sampler: SamplerName = "tpe"
    pruner: PrunerName = "none"
    """Pruning happens across CV folds: a trial reports its running mean after each."""
    objectives: list[Objective] = Field(default_factory=lambda: ["score"], min_length=1)
    """``["score"]``, or score plus ``predict_latency`` and/or ``model_size`` (minimised)."""
    grid_points: int = Field(default=3, ge=2, le=20)
    """Values per numeric hyperparameter when ``sampler`` is ``grid``."""
    enqueue_defaults: bool = True
    """Try each family's default configuration first."""
    portfolio: bool = True
    """Queue the meta-learned portfolio (configurations that did well on past data sets,
    ordered by the nearest ones) after the warm starts; classification only."""
    halving: HalvingMode = "auto"
    """Successive halving across trials over the training-sample size: each trial is
    fitted first on a ninth, then on a third of its (first) training fold, and stops
    unless its validation score is among the best third of all trials scored at that
    size. ``auto``: on when the data is large for the budget (evaluation falls back to a
    holdout split) and a ninth is still 1 000 rows; never with a fold pruner, several
    objectives or a study shared with other workers."""

    @model_validator(mode="after")
    def _check(self) -> SearchSpec:
        if self.objectives[0] != "score" or len(set(self.objectives)) != len(self.objectives):
            raise ValueError(
                "objectives must start with 'score' and name each objective once, "
                "e.g. ['score', 'predict_latency']"
            )
        if self.halving == "on" and (self.pruner != "none" or len(self.objectives) > 1):
            raise ValueError(
                "halving 'on' needs a single objective and pruner 'none' (both stop "
                "trials early); set halving to 'auto' or 'off'"
            )
        if len(self.objectives) > 1:
            if self.pruner != "none":
                raise ValueError("pruning needs a single objective; set pruner to 'none'")
            if self.sampler in ("cmaes", "grid"):
                raise ValueError(
                    f"sampler {self.sampler!r} is single-objective; use nsga2, tpe, gp or random"
                )
        return self


class BudgetSpec(BaseModel):
    """Stopping rules; whichever is reached first ends the search."""

    model_config = _strict()
    time_s: float | None = Field(default=60.0, gt=0, le=7 * 24 * 3600)
    """Wall-clock budget for the whole run (search, ensembling and refit)."""
    n_trials: int | None = Field(default=None, ge=1, le=100_000)
    trial_timeout_s: float | None = Field(default=None, gt=0)
    """Per-trial limit; by default a third of ``time_s`` (at least 5 s)."""
    n_jobs: int = Field(default=1, ge=1, le=256)
    """Trials evaluated in parallel (each in its own worker process)."""
    threads_per_trial: int = Field(default=1, ge=1, le=256)
    """BLAS/OpenMP threads each trial may use; n_jobs * threads should fit the cores."""
    trial_memory_mb: int | None = Field(default=None, ge=64, le=16 * 2**20)
    """Memory (MB) each trial may allocate beyond what it shares with the search; a
    trial past it fails with "out of memory". None: the machine's RAM / ``n_jobs``."""

    @model_validator(mode="after")
    def _one_limit(self) -> BudgetSpec:
        if self.time_s is None and self.n_trials is None:
            raise ValueError("a budget needs time_s, n_trials or both")
        return self


class CVSpec(BaseModel):
    """How candidate configurations are evaluated."""

    model_config = _strict()
    strategy: CVStrategy = "auto"
    """``auto``: stratified (classification) or plain k-fold (regression); a 20 % holdout
    when the data is very large for the time budget."""
    folds: int | None = Field(default=None, ge=2, le=20)
    """None: 5, or 3 when the data is large for the time budget (see ``resolve_cv``)."""
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    train_fraction: float = Field(default=1.0, gt=0, le=1)
    """Share of each training fold that is fitted on (a seeded, stratified subsample);
    the validation folds are unchanged, so arms with different fractions stay paired.
    A learning-curve experiment compares fractions. The final refit uses all rows."""
    time_column: str | None = None
    """For ``time``: column giving the order (row order when left out)."""


class EnsembleSpec(BaseModel):
    """Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions."""

    model_config = _strict()
    enabled: bool = True
    size: int = Field(default=20, ge=1, le=500)
    """Greedy rounds (members are drawn with replacement, so weights are counts/size)."""
    candidates: int = Field(default=20, ge=1, le=200)
    """How many of the best trials are considered."""
    bags: int = Field(default=20, ge=1, le=200)
    """Bagged selection: run the greedy search on this many random halves of the
    candidates and average the weights (1 = plain greedy selection)."""


# ---------------------------------------------------------------- the spec


class ExperimentSpec(BaseModel):
    """A complete experiment: what to search, how, and within which budget."""

    model_config = _strict()
    # Other experiment kinds (e.g. NAS) extend this model with their own optional
    # section; the HPO fields below stay meaningful on their own.
    name: str | None = Field(default=None, max_length=200)
    task: TaskName = "auto"
    metric: str | None = None
    """A name from ``metric_names(task)``; None picks accuracy or rmse."""
    models: list[ModelSpace] = Field(default_factory=list)
    """Families to search; empty means the default families for the data's size."""
    preprocessing: PreprocessingSpace = Field(default_factory=PreprocessingSpace)
    search: SearchSpec = Field(default_factory=SearchSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    cv: CVSpec = Field(default_factory=CVSpec)
    ensemble: EnsembleSpec = Field(default_factory=EnsembleSpec)
    features: list[FeatureTransform] | Literal["auto"] = Field(default_factory=list)
    """Feature transforms from the closed vocabulary (``automl_backend._features``), fit
    inside each training fold as the first pipeline step; ``auto``: greedy selection of
    rule-based candidates on inner folds before the search (a share of the budget)."""
    warm_start: list[TrialConfig] = Field(default_factory=list)
    """Configurations tried first (e.g. best configurations on similar data sets)."""
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    kind: Literal["hpo", "nas"] = "hpo"
    """``nas``: a neural architecture search described by ``nas``; the experiment's
    ``budget`` (time_s, n_trials, threads_per_trial) and ``seed`` apply to it."""
    nas: NASSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        if (self.kind == "nas") != (self.nas is not None):
            raise ValueError("kind 'nas' needs a 'nas' section, and only kind 'nas' takes one")
        if self.kind == "nas" and self.features:
            raise ValueError("features apply to kind 'hpo' experiments only")
        families = [m.family for m in self.models]
        repeated = sorted({f for f in families if families.count(f) > 1})
        if repeated:
            raise ValueError(f"model families listed twice: {repeated}")
        if self.metric is not None and self.metric not in METRICS:
            raise ValueError(
                f"unknown metric {self.metric!r}; valid: {', '.join(metric_names(self.task))}"
            )
        if self.task != "auto":
            problem = self.task_problem(self.task)
            if problem:
                raise ValueError(problem)
        return self

    def task_problem(self, task: str) -> str | None:
        """Why this spec cannot run on a ``task`` data set, or None when it can."""
        if self.metric is not None and task not in METRICS[self.metric].tasks:
            return (
                f"metric {self.metric!r} does not apply to {task} tasks; "
                f"valid: {', '.join(metric_names(task))}"
            )
        if task == "regression" and self.preprocessing.oversampling != ["none"]:
            return "preprocessing.oversampling applies to classification; use ['none']"
        valid = family_names(task)
        kind = task_kind(task)
        for space in self.models:
            if space.family not in valid:
                return f"family {space.family!r} cannot do {task}; valid: {', '.join(valid)}"
            hps = REGISTRY[space.family].hyperparameters
            wrong = [n for n in space.params if kind not in hps[n].tasks]
            if wrong:
                return f"{space.family} hyperparameters {wrong} do not apply to {task} tasks"
        return None

    # ------------------------------------------------------------ constructors

    @classmethod
    def for_families(
        cls,
        families: list[str],
        *,
        task: str = "auto",
        metric: str | None = None,
        n_trials: int | None = None,
        time_s: float | None = None,
        seed: int = 0,
        **fields: Any,
    ) -> ExperimentSpec:
        """A spec searching the default spaces of ``families``.

        With neither ``n_trials`` nor ``time_s`` the default 60 s budget applies.
        Extra keyword arguments are ExperimentSpec fields (``cv=...``, ``search=...``).
        """
        budget: dict[str, Any] = {}
        if n_trials is not None or time_s is not None:
            budget = {"n_trials": n_trials, "time_s": time_s}
        return parse_spec(
            {
                "task": task,
                "metric": metric,
                "models": [{"family": f} for f in families],
                "budget": budget,
                "seed": seed,
                **fields,
            }
        )

    # ------------------------------------------------------------ files

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def save(self, path: str | Path) -> Path:
        """Write as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        path = Path(path)
        text = self.to_yaml() if path.suffix in (".yaml", ".yml") else self.to_json()
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentSpec:
        """Load a YAML or JSON spec; problems become one-line :class:`SpecError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"spec file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read spec file {path}: {exc}") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpecError(
                f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {first}"
            ) from None
        except RecursionError:
            # Both parsers recurse once per level; a spec is a few levels deep.
            raise SpecError(f"{path} is nested too deeply to be a spec") from None
        if data is None:
            raise SpecError(f"spec file {path} is empty")
        if not isinstance(data, dict):
            raise SpecError(f"spec file {path} must hold a mapping, got {type(data).__name__}")
        return parse_spec(data, source=str(path))


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one line: ``where: what; where: what``."""
    parts = []
    for err in exc.errors():
        # A key may be any string ("\n" included): quote odd ones so one line stays one.
        names = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
        where = ".".join(n if n.isprintable() and n.strip() == n and n else repr(n) for n in names)
        msg = " ".join(str(err["msg"]).removeprefix("Value error, ").split())
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def parse_spec(data: dict[str, Any], *, source: str = "spec") -> ExperimentSpec:
    """Validate a mapping into an ExperimentSpec, or raise a one-line SpecError."""
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"invalid {source}: {validation_message(exc)}") from None
