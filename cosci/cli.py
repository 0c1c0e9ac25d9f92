"""The ``cosci`` command line: one typer app, commands registered from cosci.commands."""

from __future__ import annotations

import errno
import shutil
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from cosci._console import cli_console, show_warnings
from cosci.commands import COMMAND_MODULES

RICH_HELP_COLUMNS = 100
"""Below this width (and in a pipe) help is click's plain layout: rich's boxed panels cut
long option names ("--experiment-bud…") and wrap help text a few words per line."""

app = typer.Typer(
    name="cosci",
    help="cosci: an AI co-scientist for machine learning, and the AutoML/NAS backend it runs on.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=(
        "rich" if shutil.get_terminal_size((80, 24)).columns >= RICH_HELP_COLUMNS else None
    ),
)
for _module in COMMAND_MODULES:
    _module.register(app)

DISTRIBUTION = "cosci-automl"


def installed_version() -> str:
    """The installed distribution's version ("unknown" when run from an uninstalled tree)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cosci {installed_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """cosci: an AI co-scientist for machine learning, and the AutoML/NAS backend it runs on."""


_err = cli_console(stderr=True)


def _disk_full(exc: BaseException) -> str | None:
    """One line for a full disk (or quota) anywhere in ``exc``'s chain, else None.

    A full disk is the machine's state, not a bug: whichever writer met it (a file, a
    pickle, SQLite under Optuna or the checkpointer), the person needs the same line.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f" writing {current.filename}" if current.filename else ""
            break
        if "database or disk is full" in str(current):
            where = ""
            break
        current = current.__cause__ or current.__context__
    else:
        return None
    return (
        f"the disk is full{where}; free some space and run the command again "
        "(what was finished is kept: `cosci resume RUN` continues a co-scientist run)"
    )


def main() -> None:
    """Console entry point: user-facing errors become one line and exit status 2."""
    show_warnings("agents")
    try:
        app()
    except Exception as exc:
        # Every package marks its own errors for people with ``user_facing = True``;
        # anything else is a bug and keeps its traceback.
        if getattr(exc, "user_facing", False):
            _err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)
        full = _disk_full(exc)
        if full is not None:
            _err.print(f"[bold red]error:[/] {full}", highlight=False, soft_wrap=True)
            sys.exit(2)
        raise
    except KeyboardInterrupt:
        _err.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
