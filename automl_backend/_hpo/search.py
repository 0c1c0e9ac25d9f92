"""The search loop: Optuna ask/tell over a trial executor, within strict budgets.

Each trial runs wherever the executor puts it (default: a forked child process, see
``executor`` and ``worker``). The loop launches up to ``n_jobs`` trials, reads fold
results as they arrive, prunes across folds, stops trials at their deadline (recorded
as failed, with the reason) and stops launching when the remaining time is needed for
the final refit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl_backend._hpo.executor import ForkExecutor, TrialExecutor
from automl_backend._hpo.suggest import (
    ResolvedSpace,
    flatten_config,
    grid_points_iter,
    suggest_config,
)
from automl_backend._hpo.worker import FoldResult, Problem, RungResult, trial_memory_limit_mb
from automl_backend._progress import ProgressCallback, ProgressEvent
from automl_backend._spec import ExperimentSpec, TrialConfig
from automl_backend._splits import HALVING_ETA

log = logging.getLogger("automl_backend")

MIN_TRIAL_WINDOW_S = 1.0
"""Do not launch a trial with less than this left before the search must end."""

OVERRUN_REASON = "abandoned at"
"""How the reason of a trial stopped at a rung for its predicted time begins."""


@dataclass
class HPOTrial:
    """One finished HPO trial, as the runner and the leaderboard need it."""

    number: int
    config: TrialConfig
    state: str
    """complete, pruned or failed."""
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    fit_time_s: float = 0.0
    """Sum of the fold fit times."""
    duration_s: float = 0.0
    reason: str | None = None
    extras: dict[str, float] = field(default_factory=dict)
    oof: np.ndarray | None = None
    rounds: int | None = None
    """Mean boosting rounds early stopping kept over the folds (the refit uses them)."""
    boosted: int | None = None
    """Mean boosting rounds the folds boosted, past the kept ones too (None: unknown)."""
    stored_mb: float = 0.0
    """Mean megabytes its fitted trees took per fold when saved (0: not a forest)."""
    trees: int = 0
    """Fitted scikit-learn trees of one fold's model, the most over its folds (0: not a
    tree model)."""
    rung_scores: list[float] = field(default_factory=list)
    """Scores at the successive-halving rungs the trial passed through, smallest first."""


@dataclass
class _Running:
    trial: Any
    config: TrialConfig
    deadline: float | None
    deadline_reason: str
    started: float
    folds: list[FoldResult] = field(default_factory=list)
    rungs: list[RungResult] = field(default_factory=list)


class Search:
    """One experiment's search; ``run()`` returns the finished trials.

    ``executor`` runs the trials (default: :class:`ForkExecutor`, forked local children
    under the spec's per-trial memory limit). ``meanwhile`` is work for this process
    (importing what the run directory needs, say), done once while the first trials
    run in theirs: the trials were started before it, so no trial process inherits it
    half done, and its seconds count inside the search's time.
    """

    def __init__(
        self,
        problem: Problem,
        spec: ExperimentSpec,
        space: ResolvedSpace,
        study: Any,
        *,
        started: float,
        budget_end: float | None,
        reserve: Callable[[list[HPOTrial]], float],
        warm_start: list[TrialConfig],
        progress: ProgressCallback | None = None,
        executor: TrialExecutor | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        self.problem, self.spec, self.space, self.study = problem, spec, space, study
        self.meanwhile = meanwhile
        self.started, self.budget_end, self.reserve = started, budget_end, reserve
        self.progress = progress
        self.records: list[HPOTrial] = []
        self.running: dict[int, _Running] = {}
        self.launched = 0
        self.stop_reason = ""
        self.rung_scores: dict[int, list[float]] = {}
        """Every score reported at each successive-halving rung, by rung index."""
        self.objectives = spec.search.objectives
        self.trial_timeout = spec.budget.trial_timeout_s
        if self.trial_timeout is None and spec.budget.time_s is not None:
            self.trial_timeout = max(5.0, spec.budget.time_s / 3)
        self.executor = executor or ForkExecutor(
            trial_memory_limit_mb(spec.budget.trial_memory_mb, spec.budget.n_jobs)
        )
        self._grid: Iterator[dict[str, Any]] | None = None
        if spec.search.sampler == "grid":
            self._grid = grid_points_iter(space)
        self._enqueue(warm_start)

    # ---------------------------------------------------------- set-up

    def _enqueue(self, warm_start: list[TrialConfig]) -> None:
        seen: list[dict[str, Any]] = []
        for config in warm_start:
            flat = flatten_config(config, self.space)
            if flat is None:
                log.info("warm start skipped: family %s is not searched", config.family)
            elif flat not in seen:
                seen.append(flat)
                self.study.enqueue_trial(flat)

    # ---------------------------------------------------------- timing

    def search_end(self) -> float | None:
        """When launching must stop: the budget end minus what refit needs."""
        if self.budget_end is None:
            return None
        return self.budget_end - self.reserve(self.records)

    def _trial_budget_reached(self) -> bool:
        n_trials = self.spec.budget.n_trials
        return n_trials is not None and self.launched >= n_trials

    def _can_launch(self, now: float) -> bool:
        if self._trial_budget_reached():
            self.stop_reason = f"trial budget of {self.spec.budget.n_trials} reached"
            return False
        end = self.search_end()
        if end is not None and now > end - MIN_TRIAL_WINDOW_S:
            self.stop_reason = "time budget reached"
            return False
        return True

    # ---------------------------------------------------------- the loop

    def run(self) -> list[HPOTrial]:
        while True:
            now = time.monotonic()
            while len(self.running) < self.spec.budget.n_jobs and self._can_launch(now):
                if not self._launch(now):
                    break
                now = time.monotonic()
            if self.meanwhile is not None and self.running:
                self.meanwhile, work = None, self.meanwhile
                work()
            self._tick()
            if not self.running:
                if self._wait_for_others():
                    continue
                break
            messages = self.executor.poll(self._wait_time())
            for number in list(self.running):
                self._poll(self.running[number], messages.get(number, []))
            self._emit("search")
        return self.records

    # Hooks for a search that shares its study with other processes (``shared``).

    def _tick(self) -> None:
        """Called once per loop turn (heartbeats, deadline updates)."""

    def _wait_for_others(self) -> bool:
        """With nothing running here: wait a moment and return True to keep looping."""
        return False

    def _publish(self, run: _Running, record: HPOTrial) -> None:
        """Called with a finished trial's record before it is told to the study."""

    def _wait_time(self) -> float:
        deadlines = [r.deadline for r in self.running.values() if r.deadline is not None]
        if not deadlines:
            return 0.5
        return min(0.5, max(0.0, min(deadlines) - time.monotonic()) + 0.01)

    def _launch(self, now: float) -> bool:
        if self._grid is not None:
            point = next(self._grid, None)
            if point is None:
                self.stop_reason = "grid exhausted"
                return False
            self.study.enqueue_trial(point)
        trial = self.study.ask()
        config = suggest_config(trial, self.space)
        deadline, reason = None, ""
        if self.trial_timeout is not None:
            deadline, reason = (
                now + self.trial_timeout,
                f"timed out after {self.trial_timeout:.0f} s",
            )
        end = self.search_end()
        if end is not None and (deadline is None or end < deadline):
            deadline, reason = end, "stopped: the time budget ran out"
        measures = tuple(o for o in self.objectives if o != "score")
        self.executor.start(trial.number, self.problem, config, measures, deadline=deadline)
        self.running[trial.number] = _Running(trial, config, deadline, reason, now)
        self.launched += 1
        return True

    def _poll(self, run: _Running, messages: list[Any]) -> None:
        for message in messages:
            kind = message[0]
            if kind == "rung":
                run.rungs.append(message[1])
                if not self._promote(run, message[1]):
                    self._finish(
                        run, "pruned",
                        f"stopped at {message[1].fraction:.0%} of the training rows: "
                        f"not among the best 1/{HALVING_ETA} of the trials scored there",
                    )  # fmt: skip
                    return
                overrun = self._rung_overrun(run, message[1])
                if overrun is not None:
                    self._finish(run, "pruned", overrun)
                    return
            elif kind == "fold":
                run.folds.append(message[1])
                if self._should_prune(run):
                    self._finish(run, "pruned", f"pruned after fold {len(run.folds)}")
                    return
            elif kind == "done":
                self._finish(run, "complete", None, message[1])
                return
            elif kind == "failed":
                self._finish(run, "failed", message[1])
                return
        now = time.monotonic()
        end = self.search_end()
        if end is not None and (run.deadline is None or end < run.deadline):
            # The refit reserve grows as slower, better trials finish; running trials must
            # not eat into it.
            run.deadline, run.deadline_reason = end, "stopped: the time budget ran out"
        if run.deadline is not None and now >= run.deadline:
            self._finish(run, "failed", run.deadline_reason)
        elif (
            run.deadline is not None
            and run.folds
            and len(run.folds) < len(self.problem.folds)
            and not any(f.cut for f in run.folds)
        ):
            # Fold times are roughly equal, so the first ones predict the end (unless
            # boosting is being cut to fit: then each fold fits its share of the time).
            rung_time = sum(r.fit_time_s for r in run.rungs)
            per_fold = (now - run.started - rung_time) / len(run.folds)
            if now + per_fold * (len(self.problem.folds) - len(run.folds)) > run.deadline + 1.0:
                self._finish(
                    run, "failed",
                    f"abandoned: {per_fold:.1f} s per fold would overrun its time limit",
                )  # fmt: skip

    def _promote(self, run: _Running, result: RungResult) -> bool:
        """Successive halving (asynchronous, as in ASHA): go on past a rung when the score
        is among the best 1/HALVING_ETA of every score reported at that rung so far; the
        first HALVING_ETA - 1 trials at a rung always go on."""
        value = result.score if math.isfinite(result.score) else -math.inf
        scores = self.rung_scores.setdefault(result.rung, [])
        scores.append(value)
        if len(self.objectives) == 1 and math.isfinite(value):
            # TPE ranks a stopped trial by its last reported value.
            run.trial.report(value, result.rung)
        if len(scores) < HALVING_ETA:
            return math.isfinite(value)
        keep = len(scores) // HALVING_ETA
        return math.isfinite(value) and value >= sorted(scores, reverse=True)[keep - 1]

    def _rung_overrun(self, run: _Running, result: RungResult) -> str | None:
        """Why ``run`` stops after ``result``, or None: its fit time at the rung, scaled
        to the rows it still has to fit (the later rungs and every fold), predicts a
        finish past its time limit. Such a trial would be killed at the limit, or, for
        boosting, cut to a fraction of its rounds; its time goes to other trials instead.

        Only while a trial has completed or more than half the search time is ahead, so
        a search where everything is slow still keeps its first trials to the end."""
        if run.deadline is None or result.fraction <= 0:
            return None
        now = time.monotonic()
        rows_left = sum(self.problem.rungs[result.rung + 1 :]) + len(self.problem.folds)
        predicted = result.fit_time_s / result.fraction * rows_left
        if now + predicted <= run.deadline + 1.0:
            return None
        end = self.search_end()
        ahead = end is not None and end - now > now - self.started
        if not ahead and not any(r.state == "complete" for r in self.records):
            return None
        return (
            f"{OVERRUN_REASON} {result.fraction:.0%} of the training rows: its fit there "
            f"took {result.fit_time_s:.1f} s, so the rest would take about {predicted:.0f} s, "
            f"past its time limit ({max(run.deadline - now, 0.0):.0f} s left)"
        )

    def _should_prune(self, run: _Running) -> bool:
        """Report the running mean after each fold; prune (not after the last) if told to."""
        if len(self.objectives) > 1:
            return False
        step = len(self.problem.rungs) + len(run.folds) - 1
        run.trial.report(float(np.mean([f.score for f in run.folds])), step)
        if len(run.folds) >= len(self.problem.folds):
            return False
        return bool(run.trial.should_prune())

    # ---------------------------------------------------------- finishing

    def _oof(self, folds: list[FoldResult]) -> np.ndarray:
        n = len(self.problem.y)
        k = self.problem.n_classes
        oof = np.full((n, k) if k else (n,), np.nan)
        for result in folds:
            oof[self.problem.folds[result.index][1]] = result.prediction
        return oof

    def _finish(self, run: _Running, state: str, reason: str | None,
                extras: dict[str, float] | None = None) -> None:  # fmt: skip
        import optuna

        self.executor.stop(run.trial.number)
        del self.running[run.trial.number]
        scores = [f.score for f in run.folds]
        record = HPOTrial(
            number=run.trial.number, config=run.config, state=state, reason=reason,
            fold_scores=scores, fit_time_s=sum(f.fit_time_s for f in run.folds),
            duration_s=time.monotonic() - run.started, extras=dict(extras or {}),
        )  # fmt: skip
        rounds = [f.rounds for f in run.folds if f.rounds is not None]
        if rounds:
            record.rounds = round(float(np.mean(rounds)))
        boosted = [f.boosted for f in run.folds if f.boosted is not None]
        if boosted:
            record.boosted = round(float(np.mean(boosted)))
        if run.folds:
            record.stored_mb = float(np.mean([f.stored_mb for f in run.folds]))
            record.trees = max(f.trees for f in run.folds)
        if state == "complete" and reason is None and any(f.cut for f in run.folds):
            record.reason = (
                f"boosting ended at the trial's time limit; kept its best round "
                f"({record.rounds} rounds)"
            )
        record.rung_scores = [r.score for r in run.rungs]
        if state == "complete":
            mean = float(np.mean(scores)) if scores else math.nan
            if not math.isfinite(mean):
                record.state, record.reason = "failed", "score is not a finite number"
            else:
                record.score, record.oof = mean, self._oof(run.folds)
        trial = run.trial
        trial.set_user_attr("config", run.config.model_dump(mode="json"))
        trial.set_user_attr("fold_scores", scores)
        trial.set_user_attr("fit_time_s", round(record.fit_time_s, 4))
        if record.rounds is not None:
            trial.set_user_attr("rounds", record.rounds)
        if record.rung_scores:
            trial.set_user_attr("rung_scores", record.rung_scores)
        if record.reason:
            trial.set_user_attr(
                "fail_reason" if record.state == "failed" else "note", record.reason
            )
        self._publish(run, record)
        if record.state == "complete":
            values = [record.score, *(record.extras[o] for o in self.objectives[1:])]
            self.study.tell(trial, values if len(values) > 1 else values[0])
        elif record.state == "pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            log.info("trial %d failed: %s", trial.number, record.reason)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self.records.append(record)
        self._keep_best_oof()
        self._emit("search")

    def _keep_best_oof(self) -> None:
        """Free out-of-fold predictions of trials that can no longer join the ensemble."""
        kept = sorted(
            (r for r in self.records if r.oof is not None), key=lambda r: -(r.score or 0.0)
        )
        for record in kept[self.spec.ensemble.candidates :]:
            record.oof = None

    def stop_all(self, reason: str) -> None:
        for run in list(self.running.values()):
            self._finish(run, "failed", reason)

    def _emit(self, phase: str) -> None:
        if self.progress is None:
            return
        scores = [r.score for r in self.records if r.score is not None]
        self.progress(
            ProgressEvent(
                phase=phase,
                trials_done=len(self.records),
                trials_failed=sum(r.state == "failed" for r in self.records),
                best_score=max(scores) if scores else None,
                elapsed_s=time.monotonic() - self.started,
                time_budget_s=self.spec.budget.time_s,
                n_trials_budget=self.spec.budget.n_trials,
            )
        )
