"""Fit work in child processes that can be stopped at a deadline.

A scikit-learn ``fit`` cannot be interrupted from outside, so every trial (and every
final refit) runs in a forked child: the parent waits on a pipe and kills the child
when its deadline passes. Forking shares the training data copy-on-write, so a trial
costs milliseconds to start. The child reports each CV fold as it finishes, which
lets the parent prune across folds and abandon trials that will not fit the budget.

A child must never outlive the search, even one killed with SIGKILL: it closes the
parent's end of its pipe (so a write to a dead parent fails instead of blocking), asks
the kernel for SIGKILL when the parent dies (Linux ``prctl``; elsewhere a watchdog
thread notices the new parent id), and may run under an address-space limit so one
trial cannot take the machine's memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_backend._builders import (
    boosted_rounds,
    boosting_rounds,
    cut_by_time,
    set_fit_deadline,
    stored_tree_count,
    stored_tree_mb,
)
from automl_backend._features import FeatureTransform
from automl_backend._metrics import score
from automl_backend._model import predict_matrix
from automl_backend._openmp import single_threaded_lightgbm
from automl_backend._preprocess import build_pipeline
from automl_backend._spec import TrialConfig
from automl_backend._splits import Fold, subsample_positions

# OpenMP's wait policy is left to libgomp (spin a while, then sleep) or the user. Forcing
# OMP_WAIT_POLICY=PASSIVE makes every parallel region wake sleeping threads: LightGBM on
# 2 threads fitted 7-13x slower than with the default on a quiet 2-core machine (26-class
# letter, binary magic). Under load, 2 threads were 1.8-5x slower than 1 with either
# policy (passive up to 2.4x faster than the default there): README, "Where 60 s go",
# item 13, which also says what to do on a shared machine (1 thread per trial).


@dataclass
class Problem:
    """Everything a trial needs: coerced features, encoded target, folds, metric."""

    X: pd.DataFrame
    y: np.ndarray
    """Class indices 0..k-1 for classification, floats for regression."""
    column_types: dict[str, str]
    task: str
    n_classes: int
    folds: list[Fold]
    metric: str
    seed: int = 0
    threads: int = 1
    features: list[FeatureTransform] = field(default_factory=list)
    """Feature transforms every pipeline starts with (the spec's, or those kept by
    ``features: auto``); fit inside each training fold."""
    rungs: tuple[float, ...] = ()
    """Successive-halving rungs: shares of the first training fold each trial is fitted
    on (and scored on that fold's validation rows) before the full folds."""

    @property
    def classification(self) -> bool:
        return self.task != "regression"


def _pipeline(problem: Problem, config: TrialConfig, n_train: int) -> Any:
    return build_pipeline(
        config,
        problem.column_types,
        classification=problem.classification,
        seed=problem.seed,
        n_threads=problem.threads,
        n_train=n_train,
        features=problem.features,
    )


@dataclass
class FoldResult:
    index: int
    score: float
    prediction: np.ndarray
    fit_time_s: float
    rounds: int | None = None
    """Boosting rounds an early-stopped model kept on this fold (None: not early-stopped)."""
    cut: bool = False
    """Boosting ended at the fit's share of the trial's time limit (best round kept)."""
    stored_mb: float = 0.0
    """Megabytes its fitted trees take when saved (:func:`stored_tree_mb`)."""
    trees: int = 0
    """Fitted scikit-learn trees (:func:`stored_tree_count`)."""
    boosted: int | None = None
    """Rounds an early-stopped model boosted on this fold, past the kept ones too."""


@dataclass
class RungResult:
    """A trial's score on the first validation fold when fitted on a share of its rows."""

    rung: int
    fraction: float
    score: float
    fit_time_s: float


FIT_TIME_SHARE = 0.6
"""Share of a fit's slice of the trial's time limit that boosting may use. The rest is
for what follows the last round (a cut LightGBM fit ran 15-20 % past its deadline here,
restoring its best round), predicting the validation rows and reporting, before the
parent stops the child."""


AFTER_FIT_SHARE = 0.8
"""Once a fold has shown how long its work after the fit took (predicting the validation
rows, reporting), a fit may use at most this share of its slice less that time: a cut
fit runs 15-20 % past its deadline. Predicting 4,000 rows with 4,000 LightGBM trees on
one thread took 0.9 s here, 1.45 s with the reporting, more than the 40 % of the last
fold's slice that ``FIT_TIME_SHARE`` leaves, and the trial was stopped with one fold."""


def _limit_fit(deadline: float | None, fits_left: int, after_fit_s: float = 0.0) -> None:
    """Give the next fit an equal slice of the time left to the trial's deadline, less
    the time the work after a fit has been seen to take (``after_fit_s``)."""
    if deadline is None:
        set_fit_deadline(None)
        return
    now = time.monotonic()
    per_fit = max(deadline - now, 0.0) / max(fits_left, 1)
    allowed = FIT_TIME_SHARE * per_fit
    if after_fit_s > 0:
        allowed = min(allowed, AFTER_FIT_SHARE * max(per_fit - after_fit_s, 0.0))
    set_fit_deadline(now + allowed)


def _rung_results(send: Callable[[Any], None], problem: Problem, config: TrialConfig,
                  fold: Fold, deadline: float | None) -> None:  # fmt: skip
    """Fit ``config`` on each rung's share of ``fold``'s training rows, sending ("rung", ...)."""
    train, valid = fold
    labels = problem.y if problem.classification else None
    for rung, fraction in enumerate(problem.rungs):
        rows = subsample_positions(labels, train, fraction, problem.seed + rung)
        _limit_fit(deadline, len(problem.rungs) - rung + len(problem.folds))
        _, _, value, fit_time = _fit_and_score(problem, config, rows, valid)
        send(("rung", RungResult(rung, fraction, value, fit_time)))


def _fit_and_score(problem: Problem, config: TrialConfig, train: np.ndarray,
                   valid: np.ndarray) -> tuple[Any, np.ndarray, float, float]:  # fmt: skip
    """Fit ``config`` on rows ``train``, predict rows ``valid``: (pipeline, prediction,
    score, fit seconds)."""
    started = time.perf_counter()
    pipeline = _pipeline(problem, config, len(train))
    pipeline.fit(problem.X.iloc[train], problem.y[train])
    fit_time = time.perf_counter() - started
    prediction = predict_matrix(pipeline, problem.X.iloc[valid], problem.n_classes)
    return pipeline, prediction, score(problem.metric, problem.y[valid], prediction), fit_time


def _quiet(threads: int) -> Any:
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    return threadpool_limits(limits=threads)


def trial_child(send: Callable[[Any], None], problem: Problem, config: TrialConfig,
                measures: tuple[str, ...], deadline: float | None = None) -> None:  # fmt: skip
    """Evaluate ``config`` fold by fold, sending ("fold", FoldResult) then ("done", extras);
    with successive-halving rungs, ("rung", RungResult) for each rung first (the parent
    stops the child when a rung score is not good enough).

    ``deadline`` (monotonic clock): when the parent will stop this trial. Each fit gets
    an equal slice of the time left, and an early-stopped boosting model ends at its
    slice with its best round so far (:func:`set_fit_deadline`), so a slow boosting
    trial reports a scored model instead of being killed with nothing."""
    with _quiet(problem.threads):
        pipeline = None
        valid = np.arange(0)
        if problem.rungs and problem.folds:
            _rung_results(send, problem, config, problem.folds[0], deadline)
        after_fit = 0.0  # the longest seen from a fold's fit ending to its report sent
        for index, (train, valid) in enumerate(problem.folds):
            _limit_fit(deadline, len(problem.folds) - index, after_fit)
            started = time.monotonic()
            pipeline, prediction, value, fit_time = _fit_and_score(problem, config, train, valid)
            rounds = boosting_rounds(pipeline)
            fold = FoldResult(index, value, prediction, fit_time, rounds, cut_by_time(pipeline),
                              stored_tree_mb(pipeline), stored_tree_count(pipeline),
                              boosted_rounds(pipeline))  # fmt: skip
            send(("fold", fold))
            after_fit = max(after_fit, time.monotonic() - started - fit_time)
        set_fit_deadline(None)
        extras: dict[str, float] = {}
        if "predict_latency" in measures and pipeline is not None:
            rows = problem.X.iloc[valid]
            started = time.perf_counter()
            predict_matrix(pipeline, rows, problem.n_classes)
            extras["predict_latency"] = (
                1000.0 * (time.perf_counter() - started) / max(len(rows), 1) * 1000
            )
        if "model_size" in measures and pipeline is not None:
            extras["model_size"] = len(pickle.dumps(pipeline)) / 1024.0
        send(("done", extras))


def refit_child(send: Callable[[Any], None], problem: Problem, config: TrialConfig,
                path: str | None = None) -> None:  # fmt: skip
    """Fit ``config`` on every row and send back ("model", path or pickled pipeline,
    seconds): pickled into the file ``path`` where it can be written, else through the
    pipe. Handing back 200 extra trees on letter (514 MB) took 7.3 s through the pipe with
    pickle's default protocol here, 2.3 s through a file in memory (``/dev/shm``) with
    protocol 5, most of it loading the arrays into new memory."""
    with _quiet(problem.threads):
        started = time.perf_counter()
        pipeline = _pipeline(problem, config, len(problem.y))
        pipeline.fit(problem.X, problem.y)
        seconds = time.perf_counter() - started
        if path is not None:
            try:
                with open(path, "wb") as handle:
                    pickle.dump(pipeline, handle, protocol=5)
            except OSError:  # a full or small /dev/shm: the pipe still works
                Path(path).unlink(missing_ok=True)
            else:
                send(("model", path, seconds))
                return
        send(("model", pickle.dumps(pipeline, protocol=5), seconds))


REFIT_TRANSFER_DIR = Path("/dev/shm")
"""Where a refit child leaves its pickled model for the parent (memory on Linux); the
system's temporary folder where it does not exist."""


def _transfer_path() -> str | None:
    """A new empty file for a refit child's model (None: it goes through the pipe)."""
    folder = REFIT_TRANSFER_DIR if REFIT_TRANSFER_DIR.is_dir() else None
    try:
        handle, path = tempfile.mkstemp(prefix="cosci-refit-", suffix=".pkl", dir=folder)
    except OSError:
        return None
    os.close(handle)
    return path


def _load_model(payload: bytes | str) -> Any:
    # Loading a LightGBM model parses its trees on LightGBM's threads; on one thread the
    # run can still fork LightGBM refits and trials afterwards (see _openmp).
    with single_threaded_lightgbm(load=True):
        if isinstance(payload, bytes):
            return pickle.loads(payload)
        with open(payload, "rb") as handle:
            return pickle.load(handle)


# ---------------------------------------------------------------- child safety

_PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""
_WATCHDOG_INTERVAL_S = 0.2
_MIN_TRIAL_MEMORY_MB = 256
_OUT_OF_MEMORY_MARKS = ("bad_alloc", "cannot allocate memory", "out of memory")


def set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where unavailable.

    Linux sends it when the *thread* that forked exits; that is safe here because a
    child never outlives the call (search or refit) that started it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    """Exit as soon as the parent is gone (an orphan is re-parented, so its ppid changes)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_WATCHDOG_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def machine_memory_mb() -> int | None:
    """Physical memory in MB, capped by a cgroup (v2) limit when one is set."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return None
    with contextlib.suppress(OSError, ValueError):
        text = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if text != "max":
            total = min(total, int(text) // 2**20)
    return int(total)


def trial_memory_limit_mb(configured: int | None, n_jobs: int) -> int | None:
    """The memory limit of each trial: ``configured``, else the machine's RAM / ``n_jobs``."""
    if configured is not None:
        return configured
    total = machine_memory_mb()
    return None if total is None else max(total // n_jobs, _MIN_TRIAL_MEMORY_MB)


def _address_space_bytes() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _limit_memory(memory_mb: int) -> None:
    """Let this child map at most ``memory_mb`` beyond what it shares with the parent.

    The limit is on address space (RLIMIT_AS), counted from what the fork inherited:
    the parent's libraries and data are already mapped, and can be gigabytes.
    """
    limit = _address_space_bytes() + memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def out_of_memory_reason(memory_mb: int) -> str:
    return f"out of memory: limit {memory_mb} MB"


def _failure_message(exc: BaseException, memory_mb: int | None) -> str:
    text = str(exc).strip()
    if memory_mb is not None and (
        isinstance(exc, MemoryError) or any(m in text.lower() for m in _OUT_OF_MEMORY_MARKS)
    ):
        return out_of_memory_reason(memory_mb)
    message = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {message}"[:500]


def _child_main(conn: Connection, parent_end: Connection, parent_pid: int,
                memory_mb: int | None, target: Callable[..., None],
                args: tuple[Any, ...]) -> None:  # fmt: skip
    # With the read end held here too, a write to a dead parent would block for ever.
    parent_end.close()
    if not set_parent_death_signal():
        _watch_parent(parent_pid)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    try:
        if memory_mb is not None:
            _limit_memory(memory_mb)
        target(conn.send, *args)
    except BaseException as exc:  # report everything: the parent records it as the reason
        with contextlib.suppress(Exception):
            conn.send(("error", _failure_message(exc, memory_mb)))
    finally:
        conn.close()


@dataclass
class ChildTask:
    """One running child process and the messages it has sent so far."""

    process: Any
    conn: Connection
    deadline: float | None
    started: float = field(default_factory=time.monotonic)
    finished: bool = False

    @classmethod
    def start(cls, target: Callable[..., None], args: tuple[Any, ...], deadline: float | None,
              *, memory_mb: int | None = None) -> ChildTask:  # fmt: skip
        """Fork a child running ``target(send, *args)``; ``memory_mb`` caps what it allocates."""
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        # Unflushed parent output would be written a second time by the child.
        sys.stdout.flush()
        sys.stderr.flush()
        process = context.Process(
            target=_child_main,
            args=(send, receive, os.getpid(), memory_mb, target, args),
            daemon=True,
        )
        process.start()
        send.close()
        return cls(process=process, conn=receive, deadline=deadline)

    def receive(self) -> list[Any]:
        """Messages waiting now; ("died", exit code) once the child is gone without a word."""
        messages: list[Any] = []
        try:
            while self.conn.poll():
                messages.append(self.conn.recv())
        except (EOFError, OSError):
            self.process.join(timeout=5)
            code = self.process.exitcode
            if not any(m[0] in ("done", "error", "model") for m in messages):
                messages.append(("died", code))
            self.finished = True
        return messages

    def stop(self) -> None:
        """Kill the child (no-op when it already exited) and release its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()
        self.finished = True


def wait_any(tasks: list[ChildTask], timeout: float) -> None:
    """Block until one of ``tasks`` has something to read, or ``timeout`` seconds pass."""
    from multiprocessing.connection import wait

    if tasks:
        wait([t.conn for t in tasks], timeout=max(timeout, 0.0))
    else:
        time.sleep(max(timeout, 0.0))


def run_refit(problem: Problem, config: TrialConfig, deadline: float | None) -> tuple[Any, float]:
    """Fit ``config`` on all of ``problem`` in a child; raise TimeoutError past ``deadline``."""
    path = _transfer_path()
    task = ChildTask.start(refit_child, (problem, config, path), deadline)
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("refit did not finish before the deadline")
            wait_any([task], 0.5 if remaining is None else min(remaining, 0.5))
            for message in task.receive():
                if message[0] == "model":
                    return _load_model(message[1]), float(message[2])
                if message[0] == "error":
                    raise RuntimeError(message[1])
                if message[0] == "died":
                    raise RuntimeError(f"refit process died (exit code {message[1]})")
    finally:
        task.stop()
        if path is not None:
            Path(path).unlink(missing_ok=True)
