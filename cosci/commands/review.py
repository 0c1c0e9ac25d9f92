"""`cosci review`, `cosci resume`, `cosci show`: decide on a paused run, continue it, look at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cosci import _live_run as live_run
from cosci._console import cli_console
from cosci._json_output import JSON_HELP, JsonOutput

if TYPE_CHECKING:
    from agents import ResearchRun

_out = cli_console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("review")(review)
    app.command("resume")(resume)
    app.command("show")(show)


def review(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    decisions: Annotated[Path | None, typer.Option(help="YAML/JSON ReviewDecisions file.")] = None,
    approve: Annotated[list[str], typer.Option(help="Approve ID (repeatable).")] = [],  # noqa: B006
    approve_all: Annotated[
        bool, typer.Option("--approve-all", help="Approve every proposal.")
    ] = False,
    reject: Annotated[list[str], typer.Option(help="Reject ID=REASON (repeatable).")] = [],  # noqa: B006
    edit_statement: Annotated[list[str], typer.Option(help="Edit ID=NEW STATEMENT.")] = [],  # noqa: B006
    edit_families: Annotated[list[str], typer.Option(help="Edit ID=FAMILY,FAMILY.")] = [],  # noqa: B006
    edit_spec: Annotated[list[str], typer.Option(help="Edit ID=SPEC.yaml.")] = [],  # noqa: B006
    add: Annotated[list[str], typer.Option(help="Add 'FAMILY[,FAMILY]: statement'.")] = [],  # noqa: B006
    note: Annotated[list[str], typer.Option(help="Add a review ID=TEXT.")] = [],  # noqa: B006
    reject_rest: Annotated[
        bool, typer.Option("--reject-rest", help="Reject proposals not mentioned.")
    ] = False,
    resume_now: Annotated[
        bool, typer.Option("--resume", help="Continue the run right away.")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Ask about each proposal.")
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", help="Decide on a local web page (127.0.0.1 only).")
    ] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the --web page (0: any free one).")
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="With --web: print the URL, open no browser.")
    ] = False,
) -> None:
    """Approve, edit or reject the proposals of a paused run; add hypotheses and reviews."""
    from agents import CoScientistError, ResearchRun, load_decisions
    from cosci._review_input import decisions_from_flags, decisions_interactive
    from cosci._tables import proposals_table

    run = ResearchRun.open(run_dir)
    # Held from reading the pause to saving (and resuming): another process that resumed
    # meanwhile would make these decisions answer a pause that is gone.
    with run.lock():
        request = run.pending_review()
        if request is None:
            raise CoScientistError(
                f"run {run_dir} is not waiting for a review (status: {run.status()})"
            )
        _out.print(proposals_table(run.state(), request.hypothesis_ids))
        flags = approve or reject or edit_statement or edit_families or edit_spec or add or note
        if web:
            from cosci._review_web import serve_review

            if decisions is not None or flags or approve_all or reject_rest or interactive:
                raise CoScientistError("--web takes no other decisions: make them on the page")
            saved = serve_review(
                run,
                port=port,
                open_browser=not no_browser,
                say=lambda text: _out.print(text, markup=False, highlight=False, soft_wrap=True),
            )
            if saved is None:
                _out.print("Stopped; nothing was saved.")
                raise typer.Exit(130)
            _saved(run, saved, resume_now=resume_now)
            return
        if decisions is not None:
            chosen = load_decisions(decisions)
        elif flags or approve_all or reject_rest:
            chosen = decisions_from_flags(
                approve=approve,
                reject=reject,
                edit_statement=edit_statement,
                edit_families=edit_families,
                edit_spec=edit_spec,
                add=add,
                note=note,
                reject_rest=reject_rest,
            )
        elif interactive or sys.stdin.isatty():
            chosen = decisions_interactive(_out, run.state()["hypotheses"], request.hypothesis_ids)
        else:
            _out.print(
                "Decide with flags (--approve ID, --reject ID=REASON, --edit-statement ID=TEXT, "
                "--edit-families ID=F1,F2, --add 'F1,F2: statement', --note ID=TEXT, "
                "--approve-all) or --decisions FILE."
            )
            return
        _saved(run, run.save_decisions(chosen), resume_now=resume_now)


def _saved(run: ResearchRun, path: Path, *, resume_now: bool) -> None:
    """Say where the decisions went, then continue the run or say how to."""
    _out.print(f"Decisions saved to {path}.")
    if resume_now:
        live_run.drive(run)
    else:
        _out.print(f"Continue with `cosci resume {run.dir}`.")


# ---------------------------------------------------------------- resume, show


def resume(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Continue a paused or killed run from its last checkpoint."""
    from agents import ResearchRun

    run = ResearchRun.open(run_dir)
    # Taken before the status is read: a second resume must stop here, not after it wrote.
    with run.lock():
        if run.status() == "finished":
            if not (run.dir / "report.md").is_file():
                # Killed, or out of disk, while writing the report: write it now.
                live_run.finish(run, 0.0)
                return
            _out.print(f"Run {run_dir} has already finished.")
            show(run_dir)
            return
        _out.print(f"[bold]cosci[/] resuming [cyan]{run.dir}[/] ({run.status()})")
        live_run.drive(run)


def show(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Ranked hypotheses, Elo history and evidence of a run (finished or not)."""
    from agents import CoScientistError, ResearchRun

    run = ResearchRun.open(run_dir)
    if not run.state():
        raise CoScientistError(f"run {run_dir} has not made its first step yet")
    if json_output:
        with JsonOutput(True) as output:
            output.emit(live_run.run_document(run))
        return
    _show_tables(run)


def _show_tables(run: ResearchRun) -> None:
    from cosci._tables import elo_history_table, ranking_table
    from cosci.report import build_results

    results = build_results(run)
    _out.print(f"[bold]{results.goal}[/]  ({results.status}; {results.stop_reason or 'running'})")
    if results.plan is not None:
        for warning in results.plan.warnings:
            _out.print(f"[yellow]warning:[/] {warning}")
    _out.print(ranking_table(results))
    _out.print(elo_history_table(results))
    for r in results.ranking[:3]:
        h = next(x for x in results.hypotheses if x.id == r.id)
        if h.result is not None and h.result.ok:
            folds = ", ".join(f"{s:.4f}" for s in h.result.fold_scores)
            _out.print(
                f"[cyan]{h.id}[/] evidence: folds {folds}; {h.result.n_trials} trials; "
                f"run dir {h.result.run_dir}"
            )
    report = run.dir / "report.md"
    _out.print(
        f"Report: {report}" if report.is_file() else "No report yet (the run has not ended)."
    )
