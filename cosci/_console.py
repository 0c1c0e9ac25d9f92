"""Consoles for the command line.

Rich wraps printed text at the console width, which is 80 columns when output goes to a
pipe or a file; a long path then splits a sentence over two lines, and scripts (and
tests) that look for a phrase miss it. Messages are printed with ``soft_wrap``: a line
is written whole and the terminal, if any, wraps it. Tables still fit the width.
"""

from __future__ import annotations

import logging

from rich.console import Console
from rich.markup import escape


def cli_console(*, stderr: bool = False) -> Console:
    """A console that never breaks a printed sentence across lines."""
    return Console(stderr=stderr, soft_wrap=True)


class _WarningLines(logging.Handler):
    """Prints each warning as one ``warning: ...`` line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call must not end the run
            self.handleError(record)
            return
        cli_console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def show_warnings(logger_name: str = "agents") -> None:
    """Show the warnings of ``logger_name`` and its children in the terminal.

    The agents say through ``logging`` what a person should know while a run goes on (an
    endpoint that ignores structured output, an LLM whose answers keep being unusable).
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(h, _WarningLines) for h in logger.handlers):
        logger.addHandler(_WarningLines(logging.WARNING))


__all__ = ["cli_console", "show_warnings"]
