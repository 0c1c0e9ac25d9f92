"""The ``cosci`` command line: one typer app, commands registered from cosci.commands."""

from __future__ import annotations

import sys

import typer

from cosci._console import cli_console, show_warnings
from cosci.commands import COMMAND_MODULES

app = typer.Typer(
    name="cosci",
    help="cosci: an AI co-scientist for machine learning, and the AutoML/NAS backend it runs on.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for _module in COMMAND_MODULES:
    _module.register(app)

_err = cli_console(stderr=True)


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
        raise
    except KeyboardInterrupt:
        _err.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
