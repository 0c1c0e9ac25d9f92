"""A co-scientist run directory: its configuration, checkpoints and logs, and how to drive it.

Layout of a run directory::

    run.json              RunConfig: goal, data, target, RunContext, replay source, and
                          the databases it uses, if any (their URLs without password)
    checkpoints.sqlite    LangGraph checkpoints (every step; each finished experiment),
                          unless run.json names a PostgreSQL checkpointer
    llm_calls.jsonl       every LLM call (the replay log)
    memory_calls.jsonl    every memory look-up (replayed with the LLM log)
    experiments/<id>/     backend run directories; experiments.log: starts and finishes
    reviews/round-N.json  the decisions a person made at each review pause
    run.lock              held (flock) by the one process writing the run; holds its PID
    report.md, results.json, elo.png, best_model/   written by the CLI when it ends

The class holds no clients: the caller builds the LLM and the toolbox (from settings,
for a replay, or fakes in tests) and passes them to :meth:`ResearchRun.advance`.

One process at a time may write a run (:meth:`ResearchRun.lock`): two resumes from
different states would interleave their checkpoints and call logs.

A run may keep its checkpoints on a PostgreSQL server (``checkpointer``: LangGraph's
PostgresSaver, one thread per run) and share its experiments' Optuna studies on one
(``storage``: ``cosci worker --follow <study_prefix>`` evaluates their trials). run.json
keeps those URLs without their password, so a reopened run reads it where libpq looks
for one: PGPASSWORD or ~/.pgpass.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents._checkpoint import (
    count_checkpoints,
    has_checkpoints,
    open_checkpointer,
    open_postgres_checkpointer,
)
from agents._clock import ClockedLLM, RunClock
from agents._guard import CoScientistError
from agents._human import ReviewDecisions, ReviewRequest, check_decisions
from agents._messages import ProgressEvent
from agents._run_config import (
    THREAD_ID,
    RunConfig,
    Status,
    check_storage,
    without_password,
)
from agents.llm import LLMClient
from automl_backend.distributed import redact
from tools import Toolbox

RECURSION_LIMIT = 1000
"""Graph steps per invocation: about 12 per round, plus one per experiment."""


def _os_reason(exc: OSError) -> str:
    """An OSError in words, e.g. "Not a directory: /a/file" (no "[Errno 20]")."""
    reason = exc.strerror or str(exc)
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _has_content(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.is_file() and path.stat().st_size > 0


class RunInUseError(CoScientistError):
    """Another process is writing the run directory."""


class _Unavailable:
    """Stands in for collaborators when the graph is only read, never run."""

    def __getattr__(self, name: str) -> Any:
        raise CoScientistError("this run was opened read-only; nothing can be computed")


class ResearchRun:
    """One run directory. Create it with :meth:`create`, reopen it with :meth:`open`."""

    def __init__(self, run_dir: Path, config: RunConfig) -> None:
        self.dir = Path(run_dir)
        self.config = config
        self._lock_depth = 0

    # ------------------------------------------------------------ files

    @property
    def checkpoints(self) -> Path:
        return self.dir / "checkpoints.sqlite"

    @property
    def llm_log(self) -> Path:
        return self.dir / "llm_calls.jsonl"

    @property
    def lookup_log(self) -> Path:
        return self.dir / "memory_calls.jsonl"

    def decisions_file(self, round_: int) -> Path:
        return self.dir / "reviews" / f"round-{round_}.json"

    @property
    def pending_decisions(self) -> Path:
        return self.dir / "reviews" / "pending.json"

    @property
    def lock_file(self) -> Path:
        return self.dir / "run.lock"

    @property
    def experiments_dir(self) -> Path:
        return self.dir / "experiments"

    @classmethod
    def create(cls, run_dir: Path, config: RunConfig) -> ResearchRun:
        """Make the run directory (it must be new or empty) and write run.json.

        The databases ``config`` names are checked first (reachable; the storage free of
        this run's study names); run.json keeps their URLs without password, while this
        object, used by the process that creates the run, keeps them whole. A run on a
        PostgreSQL checkpointer gets a thread of its own.
        """
        run_dir = Path(run_dir)
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise CoScientistError(f"run directory {run_dir} already exists and is not empty")
        update: dict[str, Any] = {"study_prefix": None, "thread_id": THREAD_ID}
        if config.storage is not None:
            update["study_prefix"] = f"{run_dir.resolve().name}/"
            check_storage(config.storage, update["study_prefix"])
        if config.checkpointer is not None:
            update["thread_id"] = f"{run_dir.resolve().name}-{uuid.uuid4().hex[:12]}"
            with open_postgres_checkpointer(config.checkpointer):
                pass  # reachable, tables made
        config = config.model_copy(update=update)
        stored = config.model_copy(
            update={
                key: without_password(url)
                for key in ("storage", "checkpointer")
                if (url := getattr(config, key)) is not None
            }
        )
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoScientistError(
                f"cannot create run directory {run_dir}: {_os_reason(exc)}"
            ) from None
        try:
            # "x": of two processes creating the same run, the second one stops here.
            with (run_dir / "run.json").open("x", encoding="utf-8") as handle:
                handle.write(stored.model_dump_json(indent=2))
        except FileExistsError:
            raise CoScientistError(
                f"run directory {run_dir} already exists and is not empty"
            ) from None
        except OSError as exc:
            raise CoScientistError(f"cannot write in {run_dir}: {_os_reason(exc)}") from None
        return cls(run_dir, config)

    @classmethod
    def open(cls, run_dir: Path) -> ResearchRun:
        """Reopen a run directory made by :meth:`create`."""
        run_dir = Path(run_dir)
        path = run_dir / "run.json"
        if not path.is_file():
            raise CoScientistError(f"{run_dir} is not a co-scientist run directory (no run.json)")
        try:
            config = RunConfig.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, OSError) as exc:
            raise CoScientistError(f"cannot read {path}: {exc}") from None
        return cls(run_dir, config)

    def toolbox(self, memory: Any = None, embed: Any = None) -> Toolbox:
        """The run's toolbox; a replay answers memory look-ups from the original's log."""
        replay = (
            Path(self.config.replay_of) / "memory_calls.jsonl" if self.config.replay_of else None
        )
        return Toolbox(
            self.config.data,
            self.config.target,
            run_dir=self.dir,
            memory=memory if self.config.use_memory else None,
            embed=embed,
            run_name=self.dir.name,
            replay_lookups_from=replay,
            holdout_fraction=self.config.context.holdout,
            seed=self.config.context.seed,
            storage=self.config.storage,
            study_prefix=self.config.study_prefix or "",
        )

    # ------------------------------------------------------------ writing

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for this process: run, resume and review writes take it.

        A second process gets a :class:`RunInUseError` naming the holder's PID at once
        (no waiting: it would then go on from a state the first one has moved past). The
        lock is re-entrant on one ``ResearchRun``, so a review can hold it while it saves
        decisions and then resumes. The kernel drops it when the holder dies.
        """
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        try:
            # "a+": opening must not erase the PID that the holder wrote.
            handle = self.lock_file.open("a+", encoding="utf-8")
        except OSError as exc:
            raise CoScientistError(f"cannot write in run {self.dir}: {_os_reason(exc)}") from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise RunInUseError(
                    f"run {self.dir} is in use by another cosci process (PID {holder}); "
                    "wait for it to finish or stop it, then try again"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------ graph

    def _check_intact(self, saver: Any = None) -> None:
        """Refuse a run that has started but lost its checkpoints (``saver``: the run's
        checkpointer when it is open already).

        Going on would start it over and append a second session to its call log, which
        then no longer replays. A brand-new run (only run.json) has no checkpoints yet.
        """
        started = [
            name
            for name, path in (("LLM calls", self.llm_log), ("experiments", self.experiments_dir))
            if _has_content(path)
        ]
        if not started:
            return
        if self.config.checkpointer is not None:
            if saver is None:
                with self._saver() as opened:
                    self._check_intact(opened)
                return
            if has_checkpoints(saver, self.config.thread_id):
                return
            raise CoScientistError(
                f"run {self.dir} is damaged: {redact(self.config.checkpointer)} holds no "
                f"checkpoints of its thread {self.config.thread_id!r} but the run has "
                f"{' and '.join(started)} already; it cannot continue: start a new run"
            )
        if count_checkpoints(self.checkpoints) == 0:
            state = "missing" if not self.checkpoints.exists() else "empty"
            raise CoScientistError(
                f"run {self.dir} is damaged: {self.checkpoints.name} is {state} but the run "
                f"has {' and '.join(started)} already; it cannot continue: start a new run"
            )

    @contextmanager
    def _saver(self) -> Iterator[Any]:
        """The run's checkpointer: checkpoints.sqlite or its PostgreSQL database."""
        if self.config.checkpointer is not None:
            with open_postgres_checkpointer(self.config.checkpointer) as saver:
                yield saver
        else:
            with open_checkpointer(self.checkpoints) as saver:
                yield saver

    @contextmanager
    def _graph(self, llm: Any, tools: Any) -> Iterator[Any]:
        from agents.graph import build_graph

        if self.config.checkpointer is None:
            self._check_intact()  # before SQLite creates a missing file
        with self._saver() as saver:
            if self.config.checkpointer is not None:
                self._check_intact(saver)
            yield build_graph(llm, tools, checkpointer=saver)

    @property
    def _config(self) -> dict[str, Any]:
        return {
            "configurable": {"thread_id": self.config.thread_id},
            "recursion_limit": RECURSION_LIMIT,
        }

    def snapshot(self) -> Any:
        """The latest LangGraph state snapshot (read-only)."""
        with self._graph(_Unavailable(), _Unavailable()) as graph:
            return graph.get_state(self._config)

    def state(self) -> dict[str, Any]:
        return dict(self.snapshot().values or {})

    def status(self) -> Status:
        snap = self.snapshot()
        if not snap.values:
            return "new"
        if snap.interrupts:
            return "waiting_for_review"
        if not snap.next and snap.values.get("stop_reason"):
            return "finished"
        return "stopped"

    def pending_review(self) -> ReviewRequest | None:
        """The proposals waiting for a person, if the run is paused for review."""
        for interrupt in self.snapshot().interrupts:
            value = interrupt.value
            return (
                value if isinstance(value, ReviewRequest) else ReviewRequest.model_validate(value)
            )
        return None

    def save_decisions(self, decisions: ReviewDecisions) -> Path:
        """Keep a person's decisions until ``advance`` resumes the run with them.

        They are checked first as the resumed run would check them (``check_decisions``):
        decisions it would reject raise CoScientistError and nothing is written.
        """
        with self.lock():
            request = self.pending_review()
            if request is None:
                raise CoScientistError(f"run {self.dir} is not waiting for a review")
            state = self.state()
            check_decisions(
                decisions,
                waiting=request.hypothesis_ids,
                known=state["hypotheses"],
                task=state["plan"].task,
            )
            self.pending_decisions.parent.mkdir(parents=True, exist_ok=True)
            self.pending_decisions.write_text(decisions.model_dump_json(indent=2), encoding="utf-8")
        return self.pending_decisions

    def _decisions_for(self, request: ReviewRequest) -> ReviewDecisions | None:
        if self.pending_decisions.is_file():
            return ReviewDecisions.model_validate_json(self.pending_decisions.read_text("utf-8"))
        if self.config.replay_of:
            original = Path(self.config.replay_of) / "reviews" / f"round-{request.round}.json"
            if original.is_file():
                return ReviewDecisions.model_validate_json(original.read_text("utf-8"))
        return None

    def advance(self, llm: LLMClient, tools: Toolbox) -> Iterator[ProgressEvent]:
        """Run until the next review pause or the end, yielding progress events.

        Starts a new run, resumes a stopped (e.g. killed) one from its last checkpoint, or
        resumes a paused one with the saved decisions (a replay uses the original run's).
        Raises CoScientistError when the run waits for a review and has no decisions,
        and RunInUseError when another process is writing the run. ``--time-budget`` is a
        wall-clock ceiling for the session (``agents._clock``).
        """
        with self.lock():
            self._check_intact()
            clock = self._clock()
            if hasattr(tools, "clock"):
                tools.clock = clock
            yield from self._advance(ClockedLLM(llm, clock), tools)

    def _clock(self) -> RunClock:
        """This session's wall-clock deadline: the time budget less what was spent."""
        budget = self.config.context.time_budget_s
        if budget is None:
            return RunClock(None)
        has_state = self.config.checkpointer is not None or self.checkpoints.exists()
        spent = float(self.state().get("spent_s", 0.0)) if has_state else 0.0
        return RunClock(budget - spent)

    def _advance(self, llm: Any, tools: Toolbox) -> Iterator[ProgressEvent]:
        from langgraph.types import Command

        payload_was_sent = False
        continued_from = None
        with self._graph(llm, tools) as graph:
            while True:
                snap = graph.get_state(self._config)
                payload: Any
                if not snap.values and not snap.next:
                    payload = {"goal": self.config.goal}
                elif snap.interrupts:
                    request = self.pending_review()
                    assert request is not None
                    decisions = self._decisions_for(request)
                    if decisions is None:
                        if payload_was_sent:
                            return
                        raise CoScientistError(
                            f"run {self.dir} is waiting for a review of "
                            f"{', '.join(request.hypothesis_ids)}: run `cosci review {self.dir}`"
                        )
                    kept = self.decisions_file(request.round)
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_text(decisions.model_dump_json(indent=2), encoding="utf-8")
                    self.pending_decisions.unlink(missing_ok=True)
                    payload = Command(resume=decisions.model_dump(mode="json"))
                elif snap.next:
                    payload = None
                elif snap.tasks and snap.config != continued_from:
                    # Killed after the step's nodes wrote their results but before the step
                    # was checkpointed: nothing is left to run in it (`next` is empty), yet
                    # the graph goes on from those writes.
                    continued_from = snap.config
                    payload = None
                else:
                    return
                payload_was_sent = True
                for _mode, chunk in graph.stream(
                    payload, self._config, context=self.config.context, stream_mode=["custom"]
                ):
                    if isinstance(chunk, ProgressEvent):
                        yield chunk
