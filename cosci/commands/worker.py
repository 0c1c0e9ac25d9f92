"""`cosci worker`: evaluate the trials of a study shared on a database server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cosci._console import cli_console

if TYPE_CHECKING:
    from automl_backend.distributed import WorkerSummary

_out = cli_console()


def register(app: typer.Typer) -> None:
    """Add this module's command to the top-level app."""
    app.command("worker")(worker)


class _ProgressLines:
    """One line per trial this worker finishes, counted per study."""

    def __init__(self, study: str) -> None:
        self.study, self.done = study, 0

    def join(self, study: str) -> None:
        _out.print(f"joined study {study!r}", highlight=False)
        self.study, self.done = study, 0

    def __call__(self, event: Any) -> None:
        if event.trials_done > self.done:
            self.done = event.trials_done
            best = "-" if event.best_score is None else f"{event.best_score:.4f}"
            _out.print(
                f"{self.study}: {event.trials_done} trials here ({event.trials_failed} failed), "
                f"best {best}",
                highlight=False,
            )


def worker(
    storage: Annotated[str, typer.Option(help="The study's storage, e.g. postgresql://user:password@host:5432/db.")],
    study: Annotated[str | None, typer.Option(help="Name of the study the driver (cosci automl --study) created.")] = None,
    follow: Annotated[str | None, typer.Option(help="Instead of --study: work for every study whose name starts with this, as drivers create them.", metavar="PREFIX")] = None,
    idle: Annotated[float, typer.Option(help="With --follow: stop after this many seconds with no study to join.")] = 60.0,
    artifacts: Annotated[Path | None, typer.Option(help="Folder shared with the driver for trial files (default: the database).")] = None,
    n_jobs: Annotated[int, typer.Option(help="Trials this worker runs in parallel.")] = 1,
    threads: Annotated[int | None, typer.Option(help="Threads per trial (default: the driver's).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the study to be created.")] = 0.0,
    trial_memory: Annotated[int | None, typer.Option(help="MB each trial may allocate (default: RAM / n-jobs).", metavar="MB")] = None,
) -> None:  # fmt: skip
    """Join a study from any machine and evaluate its trials until its search ends."""
    from automl_backend import BackendError
    from automl_backend.distributed import follow_studies, run_study_worker

    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    if n_jobs < 1:
        raise BackendError(f"--n-jobs must be at least 1, got {n_jobs}")
    if (study is None) == (follow is None):
        raise BackendError("name one study (--study NAME) or a prefix to follow (--follow PREFIX)")
    if follow is not None:
        lines = _ProgressLines(follow)
        summaries = follow_studies(
            storage, follow, idle_s=idle, artifacts=artifacts, n_jobs=n_jobs,
            trial_memory_mb=trial_memory, threads=threads, progress=lines, on_join=lines.join,
        )  # fmt: skip
        for summary in summaries:
            _print_summary(summary)
        _out.print(f"no study to join for {idle:.0f} s; {len(summaries)} studies worked for")
        return
    assert study is not None
    _print_summary(run_study_worker(
        storage, study, artifacts=artifacts, n_jobs=n_jobs, wait_s=wait,
        trial_memory_mb=trial_memory, progress=_ProgressLines(study), threads=threads,
    ))  # fmt: skip


def _print_summary(summary: WorkerSummary) -> None:
    best = "-" if summary.best_score is None else f"{summary.best_score:.4f}"
    _out.print(
        f"worker done with {summary.study}: {summary.trials} trials ({summary.complete} "
        f"complete, {summary.pruned} pruned, {summary.failed} failed), best {best}, "
        f"{summary.seconds:.0f} s; {summary.stop_reason}",
        highlight=False,
    )
