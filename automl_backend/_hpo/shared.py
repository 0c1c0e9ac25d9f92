"""A search whose study is shared with other processes (drivers and ``cosci worker``s).

Every process runs the same ask/tell loop (:class:`SharedSearch`) on the study; the
storage is the only thing they share. What a process needs from the others lives in
the study:

- user attribute ``cosci:problem``: the artifact with the problem and search space,
  published once by the driver that created the study;
- user attributes ``cosci:end:<driver>``: when each driver's search ends (Unix time);
  a worker stops launching at the latest of them and stops its trials there;
- per trial: the configuration, fold scores and fit time (user attributes), the
  running mean score after each fold (intermediate values, for pruning across
  processes), and, for completed trials, ``oof_artifact``: the out-of-fold predictions
  the driver ensembles from.

The trial budget counts the study's trials, whoever ran them; retries of a dead
process's trials (heartbeats, see ``storage``) come on top.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from automl_backend._errors import BackendError
from automl_backend._hpo.exchange import pack_oof, pack_problem, unpack_oof, unpack_problem
from automl_backend._hpo.search import HPOTrial, Search, _Running
from automl_backend._hpo.storage import GRACE_PERIOD_S
from automl_backend._hpo.suggest import ResolvedSpace, suggest_config
from automl_backend._hpo.worker import Problem
from automl_backend._spec import ExperimentSpec, TrialConfig

log = logging.getLogger("automl_backend")

PROBLEM_ATTR = "cosci:problem"
END_ATTR = "cosci:end:"
OOF_ATTR = "oof_artifact"
OTHERS_GRACE_S = 5.0
"""After its search end, how long a driver waits for trials still running elsewhere."""
_END_UPDATE_S = 0.5


def _upload(store: Any, study_or_trial: Any, data: bytes, name: str) -> str:
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # upload_artifact is marked experimental
            return str(
                upload_artifact(
                    artifact_store=store, file_path=str(path), study_or_trial=study_or_trial
                )
            )


def _download(store: Any, artifact_id: str) -> bytes:
    with store.open_reader(artifact_id) as reader:
        return bytes(reader.read())


def publish_problem(study: Any, store: Any, problem: Problem, spec: ExperimentSpec,
                    space: ResolvedSpace, data_hash: str) -> None:  # fmt: skip
    """Publish what workers need, once per study; a joining driver checks it has the same data."""
    existing = study.user_attrs.get(PROBLEM_ATTR)
    if existing is not None:
        _, _, _, published_hash = unpack_problem(_download(store, existing))
        if published_hash != data_hash:
            raise BackendError(
                f"study {study.study_name!r} was created for other data; "
                "join it with the same data set, or name a new study"
            )
        return
    artifact_id = _upload(
        store, study, pack_problem(problem, spec, space, data_hash), "problem.npz"
    )
    study.set_user_attr(PROBLEM_ATTR, artifact_id)


def load_problem(
    study: Any, store: Any, wait_s: float
) -> tuple[Problem, ExperimentSpec, ResolvedSpace]:
    """The published problem, waiting up to ``wait_s`` for a driver that is still starting."""
    from optuna.artifacts.exceptions import ArtifactNotFound

    give_up = time.monotonic() + wait_s
    while True:
        artifact_id = study.user_attrs.get(PROBLEM_ATTR)
        if artifact_id is not None:
            break
        if time.monotonic() > give_up:
            raise BackendError(
                f"study {study.study_name!r} has no published problem after {wait_s:.0f} s; "
                "was it created by `cosci automl --storage ...`?"
            )
        time.sleep(0.5)
    try:
        problem, spec, space, _ = unpack_problem(_download(store, artifact_id))
    except (ArtifactNotFound, FileNotFoundError):
        raise BackendError(
            "the study's problem is not in this artifact store; "
            "pass the --artifacts folder the driver uses"
        ) from None
    except ValueError as exc:
        raise BackendError(f"cannot read the study's problem: {exc}") from None
    return problem, spec, space


def _process_name() -> str:
    """Which process runs a trial: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


RETRY_QUEUE_S = 5.0
"""How long after failing a dead process's trial its retry may still be on its way: the
heartbeat check fails the trial, then queues the retry, in two steps."""


def retry_coming(trials: list[Any], now: datetime.datetime) -> bool:
    """Whether one of ``trials`` was failed for lack of heartbeats (it holds no ``config``:
    its process never finished it) in the last ``RETRY_QUEUE_S`` seconds and no retry of
    it exists yet. A driver that stopped waiting in that gap would finish before the
    retry ran elsewhere, and leave it out of its result."""
    import optuna

    retried = {t.system_attrs.get("failed_trial") for t in trials}
    recent = now - datetime.timedelta(seconds=RETRY_QUEUE_S)
    return any(
        t.state == optuna.trial.TrialState.FAIL
        and "config" not in t.user_attrs
        and t.number not in retried
        and t.datetime_complete is not None
        and t.datetime_complete >= recent
        for t in trials
    )


class SharedSearch(Search):
    """:class:`Search` on a shared study: study-wide trial budget and deadline,
    heartbeats for its running trials, and out-of-fold predictions for the driver.

    ``driver``: this process publishes its search end (a driver); a worker instead
    follows the latest end the drivers published.
    """

    def __init__(self, *args: Any, storage: Any, artifacts: Any, driver: bool,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.storage, self.artifacts, self.driver = storage, artifacts, driver
        self.end_key = f"{END_ATTR}{uuid.uuid4().hex[:12]}"
        self._published_end: float | None = None
        self._last_beat = 0.0
        self._interval = float(storage.get_heartbeat_interval() or 1)
        self._study_end: float | None = None
        self._study_end_at = -1e9

    # ---------------------------------------------------------- budget and deadline

    def search_end(self) -> float | None:
        if self.driver:
            return super().search_end()
        now = time.monotonic()
        if now - self._study_end_at >= self._interval:
            self._study_end_at = now
            ends = [float(v) for k, v in self._attrs().items() if k.startswith(END_ATTR)]
            self._study_end = None if not ends else now + (max(ends) - time.time())
        return self._study_end

    def _attrs(self) -> dict[str, Any]:
        return dict(self.storage.get_study_user_attrs(self.study._study_id))

    def _trials(self, *states: Any) -> list[Any]:
        # Through the study's cached storage: finished trials are read from the database once.
        return self.study._storage.get_all_trials(
            self.study._study_id, deepcopy=False, states=states or None
        )

    def _retry_waiting(self) -> bool:
        import optuna

        waiting = self._trials(optuna.trial.TrialState.WAITING)
        return any("failed_trial" in t.system_attrs for t in waiting)

    def _retry_coming(self) -> bool:
        """A dead process's trial was just failed and its retry may not be queued yet."""
        if self.storage.get_heartbeat_stale_trial_callback() is None:
            return False
        return retry_coming(self._trials(), datetime.datetime.now())

    def _trial_budget_reached(self) -> bool:
        import optuna

        n_trials = self.spec.budget.n_trials
        if n_trials is None:
            return False
        trials = self._trials()
        started = [
            t for t in trials if t.state != optuna.trial.TrialState.WAITING
            and "failed_trial" not in t.system_attrs
        ]  # fmt: skip
        retry_waiting = any(
            t.state == optuna.trial.TrialState.WAITING and "failed_trial" in t.system_attrs
            for t in trials
        )
        return len(started) >= n_trials and not retry_waiting

    # ---------------------------------------------------------- the loop's hooks

    def _launch(self, now: float) -> bool:
        import optuna

        with warnings.catch_warnings():
            # Optuna warns that heartbeats are meant for Study.optimize; this loop beats itself.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            before = set(self.running)
            launched = super()._launch(now)
        for number in set(self.running) - before:
            trial = self.running[number].trial
            # A trial with no heartbeat at all is never judged dead: beat at once.
            self.storage.record_heartbeat(trial._trial_id)
            trial.set_user_attr("process", _process_name())
        return launched

    def _tick(self) -> None:
        import optuna

        now = time.monotonic()
        if self.driver:
            end = super().search_end()
            if end is not None and (
                self._published_end is None or abs(end - self._published_end) > _END_UPDATE_S
            ):
                self._published_end = end
                self.study.set_user_attr(self.end_key, time.time() + (end - now))
        if now - self._last_beat < self._interval:
            return
        self._last_beat = now
        for run in self.running.values():
            self.storage.record_heartbeat(run.trial._trial_id)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        self._fail_unclaimed()

    def _fail_unclaimed(self) -> None:
        """Fail (and retry) running trials that never got a heartbeat: their process died
        between asking for the trial and its first beat, which Optuna's check cannot see."""
        import optuna

        grace = datetime.timedelta(seconds=2 * GRACE_PERIOD_S)
        now = datetime.datetime.now()
        retry = self.storage.get_heartbeat_stale_trial_callback()
        for trial in self._trials(optuna.trial.TrialState.RUNNING):
            started = trial.datetime_start
            if "process" in trial.user_attrs or started is None or now - started < grace:
                continue
            try:
                failed = self.storage.set_trial_state_values(
                    trial._trial_id, state=optuna.trial.TrialState.FAIL
                )
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            if failed and retry is not None:
                retry(self.study, self.storage.get_trial(trial._trial_id))

    def _wait_for_others(self) -> bool:
        import optuna

        end = self.search_end()
        if end is not None and time.monotonic() > end + OTHERS_GRACE_S:
            return False
        states = optuna.trial.TrialState
        elsewhere = self._trials(states.RUNNING)
        # the retry check reads every trial of the study: only when nothing else keeps it
        if (
            not elsewhere
            and not (self._retry_waiting() and self._can_launch(time.monotonic()))
            and not self._retry_coming()
        ):
            return False
        time.sleep(0.5)
        return True

    def _publish(self, run: _Running, record: HPOTrial) -> None:
        if record.oof is not None:
            artifact_id = _upload(self.artifacts, run.trial, pack_oof(record.oof), "oof.npz")
            run.trial.set_user_attr(OOF_ATTR, artifact_id)

    def _finish(self, run: _Running, state: str, reason: str | None,
                extras: dict[str, float] | None = None) -> None:  # fmt: skip
        try:
            super()._finish(run, state, reason, extras)
        except RuntimeError as exc:
            # Another process judged this trial dead (no heartbeat in the grace period)
            # and failed it; its retry runs elsewhere.
            self.running.pop(run.trial.number, None)
            log.warning("trial %d was failed by another process: %s", run.trial.number, exc)

    def stop_all(self, reason: str) -> None:
        """Fail the running trials and queue each again: an interrupted process's trials
        are retried by another, as a dead one's are."""
        import optuna

        stopped = [run.trial._trial_id for run in self.running.values()]
        super().stop_all(reason)
        for trial_id in stopped:
            trial = self.storage.get_trial(trial_id)
            if trial.state != optuna.trial.TrialState.FAIL:
                continue
            history = [*trial.system_attrs.get("retry_history", []), trial.number]
            self.study.add_trial(
                optuna.trial.create_trial(
                    state=optuna.trial.TrialState.WAITING, params=trial.params,
                    distributions=trial.distributions,
                    system_attrs={"failed_trial": history[0], "retry_history": history},
                )
            )  # fmt: skip

    # ---------------------------------------------------------- after the search

    def others_records(self) -> list[HPOTrial]:
        """The study's finished trials that other processes ran; the out-of-fold
        predictions of their best ``ensemble.candidates`` are loaded."""
        import optuna
        from optuna.artifacts.exceptions import ArtifactNotFound

        states = optuna.trial.TrialState
        own = {r.number for r in self.records}
        records: list[HPOTrial] = []
        for trial in self._trials(states.COMPLETE, states.PRUNED, states.FAIL):
            if trial.number not in own:
                record = self._record(trial)
                if record is not None:
                    records.append(record)
        complete = sorted(
            (r for r in records if r.state == "complete"), key=lambda r: -(r.score or 0.0)
        )
        by_number = {t.number: t for t in self._trials(states.COMPLETE)}
        for record in complete[: self.spec.ensemble.candidates]:
            artifact_id = by_number[record.number].user_attrs.get(OOF_ATTR)
            if artifact_id is None:
                continue
            try:
                record.oof = unpack_oof(_download(self.artifacts, artifact_id))
            except (ArtifactNotFound, FileNotFoundError):
                # A process with another artifact store: rank the trial, leave it out of
                # the ensemble.
                log.warning("trial %d: out-of-fold predictions not found", record.number)
        return records

    def _record(self, trial: Any) -> HPOTrial | None:
        """``trial`` as a record; None for one this process cannot read (another
        driver's search space)."""
        import optuna

        attrs = trial.user_attrs
        config = attrs.get("config")
        state = {
            optuna.trial.TrialState.COMPLETE: "complete",
            optuna.trial.TrialState.PRUNED: "pruned",
        }.get(trial.state, "failed")
        if config is None:
            # Failed by a heartbeat check: the process died before it wrote anything.
            try:
                trial_config = suggest_config(optuna.trial.FixedTrial(trial.params), self.space)
            except ValueError:
                return None
            reason = "its process stopped sending heartbeats (a retry was queued)"
        else:
            try:
                trial_config = TrialConfig.model_validate(config)
            except ValueError:
                return None
            reason = attrs.get("fail_reason") or attrs.get("note")
        duration = trial.duration.total_seconds() if trial.duration is not None else 0.0
        values = trial.values or []
        record = HPOTrial(
            number=trial.number, config=trial_config, state=state,
            fold_scores=list(attrs.get("fold_scores", [])),
            fit_time_s=float(attrs.get("fit_time_s", 0.0)), duration_s=duration,
            reason=reason,
            extras=dict(zip(self.objectives[1:], values[1:], strict=False)),
        )  # fmt: skip
        if state == "complete" and values:
            record.score = float(values[0])
        return record
