"""Consoles for the command line.

Rich wraps printed text at the console width, which is 80 columns when output goes to a
pipe or a file; a long path then splits a sentence over two lines, and scripts (and
tests) that look for a phrase miss it. Messages are printed with ``soft_wrap``: a line
is written whole and the terminal, if any, wraps it. Tables still fit the width.
"""

from __future__ import annotations

from rich.console import Console


def cli_console(*, stderr: bool = False) -> Console:
    """A console that never breaks a printed sentence across lines."""
    return Console(stderr=stderr, soft_wrap=True)


__all__ = ["cli_console"]
