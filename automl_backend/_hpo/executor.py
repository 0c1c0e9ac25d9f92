"""Trial executors: where the search loop's trials run.

The loop starts a trial, polls for what its trials reported, and stops one when it is
finished, pruned or out of time. :class:`ForkExecutor` (the default) runs each trial in
a forked child of this process. Trials on other machines do not come through here: each
``cosci worker`` runs its own search loop on the shared study (``shared``), asking
Optuna for trials, and runs them with its own executor.
"""

from __future__ import annotations

from typing import Any, Protocol

from automl_backend._hpo.worker import (
    ChildTask,
    Problem,
    out_of_memory_reason,
    trial_child,
    wait_any,
)
from automl_backend._spec import TrialConfig

TrialMessage = tuple[str, Any]
"""("fold", FoldResult) per CV fold, then ("done", extras) or ("failed", reason)."""


class TrialExecutor(Protocol):
    """Runs trials and reports their fold results, keyed by trial number."""

    def start(self, number: int, problem: Problem, config: TrialConfig,
              measures: tuple[str, ...], deadline: float | None = None) -> None:  # fmt: skip
        """Begin evaluating ``config`` fold by fold (``measures``: extra objectives;
        ``deadline``: when the loop will stop it, on the monotonic clock)."""
        ...

    def poll(self, timeout: float) -> dict[int, list[TrialMessage]]:
        """Wait up to ``timeout`` seconds for news; the messages of every started trial."""
        ...

    def stop(self, number: int) -> None:
        """Stop trial ``number`` (finished or not) and release what it holds."""
        ...


class ForkExecutor:
    """Each trial in a forked child process, optionally under a memory limit."""

    def __init__(self, memory_mb: int | None = None) -> None:
        self.memory_mb = memory_mb
        self._tasks: dict[int, ChildTask] = {}

    def start(self, number: int, problem: Problem, config: TrialConfig,
              measures: tuple[str, ...], deadline: float | None = None) -> None:  # fmt: skip
        self._tasks[number] = ChildTask.start(
            trial_child, (problem, config, measures, deadline), None, memory_mb=self.memory_mb
        )

    def poll(self, timeout: float) -> dict[int, list[TrialMessage]]:
        wait_any(list(self._tasks.values()), timeout)
        return {n: [self._message(m) for m in t.receive()] for n, t in self._tasks.items()}

    def stop(self, number: int) -> None:
        task = self._tasks.pop(number, None)
        if task is not None:
            task.stop()

    def _message(self, message: Any) -> TrialMessage:
        kind = message[0]
        if kind == "error":
            return "failed", message[1]
        if kind == "died":
            return "failed", self._death_reason(message[1])
        return kind, message[1]

    def _death_reason(self, exit_code: int | None) -> str:
        reason = f"trial process died (exit code {exit_code})"
        if self.memory_mb is not None and exit_code is not None and exit_code < 0:
            # Native code that cannot allocate often aborts or crashes instead of raising.
            reason += f"; possibly {out_of_memory_reason(self.memory_mb)}"
        return reason
