"""A co-scientist run driven from the command line: its LLM and tools, live progress,
the summary at its end, and the JSON document of ``--json``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from cosci._console import cli_console

if TYPE_CHECKING:
    from agents import ResearchRun
    from agents.llm import LLMClient
    from tools import Toolbox

_out = cli_console()


# ---------------------------------------------------------------- collaborators


def make_llm(run: ResearchRun) -> LLMClient:
    """The run's LLM, recorded to its call log; a replay answers from the original's log."""
    from cosci._llm_factory import build_llm
    from cosci._settings import load_settings

    replay = Path(run.config.replay_of) / "llm_calls.jsonl" if run.config.replay_of else None
    return build_llm(load_settings(), log_path=run.llm_log, replay_from=replay)


def make_toolbox(run: ResearchRun) -> Toolbox:
    """The run's toolbox over the memory the settings name (none for a replay)."""
    memory = None
    if run.config.use_memory and not run.config.replay_of:
        from cosci._memory_factory import build_memory_store
        from cosci._settings import load_settings

        memory = build_memory_store(load_settings())
    return run.toolbox(memory)


# ---------------------------------------------------------------- progress


class _LiveView:
    """Prints agent events as lines and experiment trials as progress bars."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} trials"),
            TextColumn("best {task.fields[best]}"),
            console=console,
            auto_refresh=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _LiveView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        hid = event.hypothesis_id or ""
        if event.kind in ("trial", "experiment") and hid:
            best = "-" if event.best is None else f"{event.best:.4f}"
            if hid not in self.tasks:
                self.tasks[hid] = self.progress.add_task(
                    f"experiment {hid}", total=event.total or 1, best=best
                )
            self.progress.update(self.tasks[hid], completed=event.done or 0, best=best)
            if (
                event.kind == "experiment"
                and event.message
                and not event.message.startswith("starting")
            ):
                self.progress.console.print(f"  [cyan]{hid}[/] {event.message}")
            self.progress.refresh()
            return
        style = {"round": "bold magenta", "warning": "yellow", "elo": "green"}.get(event.kind, "")
        who = f"[dim]{event.agent:>11}[/] " if event.agent else ""
        subject = f"[cyan]{hid}[/] " if hid else ""
        text = f"[{style}]{event.message}[/]" if style else event.message
        self.progress.console.print(f"{who}{subject}{text}", highlight=False)
        self.progress.refresh()


def drive(run: ResearchRun) -> None:
    """Advance the run with live progress, then report where it stands."""
    llm = make_llm(run)
    tools = make_toolbox(run)
    started = time.perf_counter()
    try:
        with _LiveView(_out) as view:
            for event in run.advance(llm, tools):
                view(event)
    except Exception as exc:
        if getattr(exc, "user_facing", False) and run.state():
            # Keep what the run finished: the report shows its last checkpoint.
            safe_report(run)
            _out.print(f"[yellow]The run stopped; what it finished is kept in {run.dir}.[/]")
        raise
    finish(run, time.perf_counter() - started)


def safe_report(run: ResearchRun) -> None:
    """Write the report of what a stopped run finished; a failure to write it is a line."""
    from cosci.report import write_report

    try:
        if run.state():
            write_report(run)
    except Exception as exc:
        _out.print(f"[yellow]could not write a partial report: {exc}[/]")


def finish(run: ResearchRun, seconds: float) -> None:
    """After the run's advance: the proposals of a review pause, or the report and ranking."""
    from cosci._tables import proposals_table, ranking_table
    from cosci.report import write_report

    status = run.status()
    if status == "waiting_for_review":
        request = run.pending_review()
        assert request is not None
        _out.print(proposals_table(run.state(), request.hypothesis_ids))
        _out.print(
            f"[bold]The run is paused for review[/] after {seconds:.0f} s. Decide with "
            f"`cosci review {run.dir}` (or pass --auto-approve), then `cosci resume {run.dir}`."
        )
        return
    results = write_report(run)
    _out.print(ranking_table(results))
    _out.print(
        f"Finished in {seconds:.0f} s ({results.stop_reason}). Report: {run.dir / 'report.md'}"
    )


def run_document(run: ResearchRun) -> dict[str, Any]:
    """``--json`` of run and show: results.json's content, and what waits for review.

    A finished run's results.json is read as written: it holds what only the writer
    measures (best_model/ on the holdout); any other run's results are built afresh.
    """
    from cosci.report import RunResults, build_results

    written = run.dir / "results.json"
    if run.status() == "finished" and written.is_file():
        results = RunResults.model_validate_json(written.read_text(encoding="utf-8"))
    else:
        results = build_results(run)
    document = results.model_dump(mode="json")
    request = run.pending_review()
    document["pending_review"] = request.hypothesis_ids if request is not None else []
    return document


def print_databases(run: ResearchRun) -> None:
    """Where a run's trials and checkpoints go, when not in its folder (no password)."""
    from automl_backend.distributed import redact

    if run.config.storage is not None:
        _out.print(
            f"trials shared on {redact(run.config.storage)}: add workers with `cosci worker "
            f"--storage URL --follow {run.config.study_prefix}`",
            highlight=False,
            soft_wrap=True,
        )
    if run.config.checkpointer is not None:
        _out.print(f"checkpoints on {redact(run.config.checkpointer)}", highlight=False)
