"""Toolbox: the typed functions agents may call, bound to one run's data, memory and folder.

Agents never touch the backend or the memory directly; they call these. Memory is
optional (None: no literature, no warm starts, nothing recorded), look-ups are logged
for replay, and the data set is loaded once, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from automl_backend import (
    Dataset,
    DatasetProfile,
    ExperimentResult,
    ExperimentSpec,
    TrialConfig,
)
from tools._experiment import ProgressCallback, reuse_identical_run, run_experiment
from tools._lookups import LookupLog

if TYPE_CHECKING:
    import pandas as pd

    from memory import LiteratureHit, MemoryStore, SimilarRun

EmbedFunction = Callable[[Sequence[str]], np.ndarray]
MIN_EXPERIMENT_WALL_S = 3.0
"""An experiment needs at least this much wall-clock time left to start."""


class ArmRun(NamedTuple):
    """One arm's result and the seconds it cost the run's budget."""

    result: ExperimentResult
    charged_s: float
    """The arm's own wall time when it ran now; 0 when a finished identical arm was reused."""


def _default_embed(texts: Sequence[str]) -> np.ndarray:
    from memory import embed_texts

    return embed_texts(texts)


class Toolbox:
    """Everything a co-scientist run may do outside its own reasoning.

    ``data`` is what :func:`automl_backend.load_dataset` accepts (a path, ``sklearn:NAME``,
    ``keel:NAME``, a DataFrame) or an already loaded Dataset. ``run_dir`` receives ``experiments/<id>/`` (backend run
    directories), ``experiments.log`` and ``memory_calls.jsonl``. ``replay_lookups_from``
    answers memory look-ups from another run's log (``cosci run --replay``); a replay does
    not add its experiments to the ledger, since they repeat the original run's.
    ``storage``: a database server URL (``postgresql://...``) on which each experiment's
    Optuna study is shared, named ``study_prefix`` + the experiment's name, so that
    ``cosci worker --follow STUDY_PREFIX`` processes evaluate its trials; an experiment
    run again after a kill joins its study and keeps the trials finished before.
    """

    def __init__(
        self,
        data: str | Path | pd.DataFrame | Dataset,
        target: str | None = None,
        *,
        run_dir: Path,
        memory: MemoryStore | None = None,
        embed: EmbedFunction | None = None,
        run_name: str = "run",
        replay_lookups_from: Path | None = None,
        holdout_fraction: float = 0.0,
        seed: int = 0,
        storage: str | None = None,
        study_prefix: str = "",
    ) -> None:
        self.data = data
        self.target = target
        self.run_dir = Path(run_dir)
        self.memory = memory
        self._embed = embed or _default_embed
        self.run_name = run_name
        self.replaying = replay_lookups_from is not None
        self.holdout_fraction = holdout_fraction
        self.seed = seed
        self.storage = storage
        self.study_prefix = study_prefix
        self.lookups = LookupLog(self.run_dir / "memory_calls.jsonl", replay_lookups_from)
        # LangGraph runs the fanned-out experiment tasks on threads; one experiment at a
        # time keeps the cores (and every experiment's time cap) to itself.
        self._compute = threading.Lock()
        self._arms: dict[str, ExperimentResult] = {}
        self._feature_candidates: dict[tuple[int, tuple[str, ...] | None], list[Any]] = {}
        self.clock: Any = None
        """The run's wall-clock deadline (``agents._clock.RunClock``) when it has one:
        experiments are capped to the time it leaves."""

    @property
    def experiments_dir(self) -> Path:
        return self.run_dir / "experiments"

    @property
    def experiment_log(self) -> Path:
        return self.run_dir / "experiments.log"

    # ---------------------------------------------------------------- data

    @cached_property
    def _split(self) -> tuple[Dataset, Dataset | None]:
        """(the rows experiments see, the untouched holdout or None).

        The holdout is a stratified, seeded share of the rows, set aside before the
        profile, any experiment or the LLM sees the data; only the final evaluation
        scores on it, once.
        """
        if isinstance(self.data, Dataset):
            full = self.data
        else:
            from automl_backend import load_dataset

            full = load_dataset(self.data, target=self.target)
        if self.holdout_fraction <= 0:
            return full, None
        from automl_backend import train_test_split_dataset

        return train_test_split_dataset(full, self.holdout_fraction, seed=self.seed)

    @property
    def dataset(self) -> Dataset:
        """The data every experiment works on (the holdout removed)."""
        return self._split[0]

    @property
    def holdout(self) -> Dataset | None:
        """The untouched holdout, for the final evaluation only."""
        return self._split[1]

    def profile_dataset(self) -> DatasetProfile:
        """Meta-features and landmarkers of the run's data."""
        return self._profile

    @cached_property
    def _profile(self) -> DatasetProfile:
        from automl_backend import profile_dataset

        return profile_dataset(self.dataset)

    # ---------------------------------------------------------------- experiments

    def run_arm(
        self,
        name: str,
        spec: ExperimentSpec,
        *,
        warm_start: Sequence[TrialConfig] = (),
        progress: ProgressCallback | None = None,
        reuse_key: str | None = None,
    ) -> ArmRun:
        """Run ``spec`` into ``experiments/<name>/``; a crash comes back as a failed result.

        With ``reuse_key``, an ok result of an identical arm that already ran in this
        process (same key), or whose finished folder is in ``experiments/`` (a killed
        process ran it), is returned instead of running it again: hypotheses of one
        round that share a control arm run it once, and it is charged to the run's
        budget once (a reused arm costs nothing).
        """
        if self.storage is not None:
            # The study's name: a killed run's experiment rejoins it when run again.
            spec = spec.model_copy(update={"name": f"{self.study_prefix}{name}"})
        with self._compute:
            if reuse_key is not None and reuse_key in self._arms:
                return ArmRun(self._arms[reuse_key], 0.0)
            if reuse_key is not None:
                earlier = reuse_identical_run(
                    self.experiments_dir, spec, log_path=self.experiment_log, label=name
                )
                if earlier is not None:
                    self._arms[reuse_key] = earlier
                    return ArmRun(earlier, 0.0)
            spec = self._within_deadline(spec)
            if spec is None:
                failed = ExperimentResult(
                    status="failed",
                    reason="the run's time budget ran out before this experiment could start",
                    task=None,
                    metric="unknown",
                )
                return ArmRun(failed, 0.0)
            result = run_experiment(
                spec,
                self.dataset,
                out_dir=self.experiments_dir / name,
                warm_start=warm_start,
                progress=progress,
                log_path=self.experiment_log,
                label=name,
                storage=self.storage,
            )
            if reuse_key is not None and result.ok:
                self._arms[reuse_key] = result
            return ArmRun(result, result.fit_time_s)

    def _within_deadline(self, spec: ExperimentSpec) -> ExperimentSpec | None:
        """``spec`` with its time cap cut to the wall-clock time left (None: none left)."""
        left = self.clock.remaining() if self.clock is not None else None
        if left is None:
            return spec
        if left < MIN_EXPERIMENT_WALL_S:
            return None
        if spec.budget.time_s is not None and spec.budget.time_s <= left:
            return spec
        budget = spec.budget.model_copy(update={"time_s": left})
        return spec.model_copy(update={"budget": budget})

    def feature_candidates(self, k: int = 4, kinds: Sequence[str] | None = None) -> list[Any]:
        """Up to ``k`` rule-made feature transforms worth testing on the run's data
        (``automl_backend.candidate_features``; only ``kinds`` when the question names
        transform kinds), computed once per process and request."""
        request = (k, tuple(kinds) if kinds else None)
        if request not in self._feature_candidates:
            from automl_backend import candidate_features

            self._feature_candidates[request] = candidate_features(
                self.dataset, k, seed=self.seed, kinds=request[1]
            )
        return list(self._feature_candidates[request])

    def measure_cost(self, run_dir: Path | None) -> tuple[float, float] | None:
        """(size in KB, predict milliseconds per 1000 rows) of a run's final model, or None.

        The size is the model's serialised bytes; latency is the median of three
        predictions on 1000 rows of the run's data (repeated when it is smaller).
        """
        if run_dir is None or not Path(run_dir).is_dir():
            return None
        import pickle
        import statistics
        import time

        from automl_backend import BackendError, load_model

        try:
            model = load_model(run_dir)
        except BackendError:
            return None
        size_kb = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)) / 1024.0
        X = self.dataset.X
        rows = X.sample(n=1000, replace=len(X) < 1000, random_state=0)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            model.predict(rows)
            times.append((time.perf_counter() - start) * 1000.0)
        return round(size_kb, 2), round(statistics.median(times), 3)

    def score_on_holdout(self, run_dir: Path | None, metric: str) -> float | None:
        """Score of a run's final model on the untouched holdout (higher is better), or
        None without a holdout or a model. Used once, at the end of a run."""
        if self.holdout is None or run_dir is None or not Path(run_dir).is_dir():
            return None
        from automl_backend import BackendError, load_model, score_model

        try:
            model = load_model(run_dir)
        except BackendError:
            return None
        return score_model(model, self.holdout, metric)

    def permutation_importance(
        self, run_dir: Path | None, metric: str, *, repeats: int = 3, max_columns: int = 60
    ) -> dict[str, float]:
        """Score lost on the untouched holdout when each column is shuffled (higher is
        better units, mean of ``repeats`` seeded shuffles), for a run's final model; empty
        without a holdout or a model. Which features drive the score, measured once at
        the end on rows nothing was chosen on."""
        if self.holdout is None or run_dir is None or not Path(run_dir).is_dir():
            return {}
        from automl_backend import BackendError, load_model, score_model

        try:
            model = load_model(run_dir)
        except BackendError:
            return {}
        holdout = self.holdout
        base = score_model(model, holdout, metric)
        rng = np.random.default_rng(self.seed)
        lost: dict[str, float] = {}
        for column in list(holdout.X.columns)[:max_columns]:
            drops = []
            for _ in range(repeats):
                shuffled = holdout.X.copy()
                shuffled[column] = rng.permutation(shuffled[column].to_numpy())
                drops.append(base - score_model(model, replace(holdout, X=shuffled), metric))
            lost[str(column)] = float(np.mean(drops))
        return lost

    # ---------------------------------------------------------------- memory

    def search_literature(self, query: str, k: int) -> list[LiteratureHit]:
        """Passages of the literature closest to ``query`` (none without a memory)."""
        from memory import LiteratureHit

        def compute() -> list[LiteratureHit]:
            if self.memory is None or k < 1 or not query.strip():
                return []
            return self.memory.search_literature(query, k)

        return self.lookups.call("search_literature", f"{k}|{query}", LiteratureHit, compute)

    def similar_runs(self, profile: DatasetProfile, k: int) -> list[SimilarRun]:
        """Best configurations on the most similar past data sets (warm starts)."""
        from memory import SimilarRun

        def compute() -> list[SimilarRun]:
            if self.memory is None or k < 1:
                return []
            return self.memory.similar_runs(profile, k)

        key = f"{k}|{profile.model_dump_json()}"
        return self.lookups.call("similar_runs", key, SimilarRun, compute)

    def record_run(
        self,
        hypothesis_id: str,
        statement: str,
        spec: ExperimentSpec,
        result: ExperimentResult,
        profile: DatasetProfile,
    ) -> None:
        """Add a finished experiment to the memory's runs ledger (same id: replaced)."""
        if self.memory is None or self.replaying:
            return
        from memory import RunRecord

        record = RunRecord.from_result(
            profile,
            result,
            hypothesis=statement,
            spec=spec,
            run_id=f"{self.run_name}/{hypothesis_id}",
        )
        self.memory.record_run(record)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Sentence embeddings of ``texts`` (MiniLM from the memory package by default)."""
        if not texts:
            return []
        return np.asarray(self._embed(list(texts)), dtype=float).tolist()
