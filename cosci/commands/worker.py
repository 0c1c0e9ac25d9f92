"""`cosci worker`: evaluate the trials of a study shared on a database server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cosci._console import cli_console

_out = cli_console()


def register(app: typer.Typer) -> None:
    """Add this module's command to the top-level app."""
    app.command("worker")(worker)


def _progress(study: str) -> Any:
    seen = {"done": 0}

    def report(event: Any) -> None:
        if event.trials_done > seen["done"]:
            seen["done"] = event.trials_done
            best = "-" if event.best_score is None else f"{event.best_score:.4f}"
            _out.print(
                f"{study}: {event.trials_done} trials here ({event.trials_failed} failed), "
                f"best {best}",
                highlight=False,
            )

    return report


def worker(
    storage: Annotated[str, typer.Option(help="The study's storage, e.g. postgresql://user:password@host:5432/db.")],
    study: Annotated[str, typer.Option(help="Name of the study the driver (cosci automl --study) created.")],
    artifacts: Annotated[Path | None, typer.Option(help="Folder shared with the driver for trial files (default: the database).")] = None,
    n_jobs: Annotated[int, typer.Option(help="Trials this worker runs in parallel.")] = 1,
    threads: Annotated[int | None, typer.Option(help="Threads per trial (default: the driver's).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the study to be created.")] = 0.0,
    trial_memory: Annotated[int | None, typer.Option(help="MB each trial may allocate (default: RAM / n-jobs).", metavar="MB")] = None,
) -> None:  # fmt: skip
    """Join a study from any machine and evaluate its trials until its search ends."""
    from automl_backend.distributed import run_study_worker

    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    if n_jobs < 1:
        from automl_backend import BackendError

        raise BackendError(f"--n-jobs must be at least 1, got {n_jobs}")
    summary = run_study_worker(
        storage, study, artifacts=artifacts, n_jobs=n_jobs, wait_s=wait,
        trial_memory_mb=trial_memory, progress=_progress(study), threads=threads,
    )  # fmt: skip
    best = "-" if summary.best_score is None else f"{summary.best_score:.4f}"
    _out.print(
        f"worker done: {summary.trials} trials ({summary.complete} complete, "
        f"{summary.pruned} pruned, {summary.failed} failed), best {best}, "
        f"{summary.seconds:.0f} s; {summary.stop_reason}",
        highlight=False,
    )
