"""`cosci export mlflow RUN`: a run directory into an experiment tracker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cosci._console import cli_console
from cosci._json_output import JSON_HELP, JsonOutput

_out = cli_console()

export_app = typer.Typer(
    help="Export a run directory to an experiment tracker.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(export_app, name="export")


@export_app.command("mlflow")
def mlflow(
    run_dir: Annotated[
        Path, typer.Argument(help="A co-scientist run directory or a cosci automl run folder.")
    ],
    tracking_uri: Annotated[
        str,
        typer.Option(help="MLflow tracking URI: file:./mlruns, sqlite:///mlflow.db, http://..."),
    ] = "file:./mlruns",
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "cosci",
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete an earlier export of this run first.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Parent run for the run, a child run per hypothesis (or per trial), with artefacts."""
    from cosci._mlflow_export import export_to_mlflow

    with JsonOutput(json_output) as output:
        summary = export_to_mlflow(run_dir, tracking_uri, experiment=experiment, replace=replace)
        _out.print(
            f"exported {run_dir} ({summary.kind}) to {tracking_uri}, experiment "
            f"{experiment!r}: parent run {summary.parent_run_id} with "
            f"{len(summary.child_run_ids)} child runs",
            highlight=False,
        )
        output.emit(summary)
