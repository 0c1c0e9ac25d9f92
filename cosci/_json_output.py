"""``--json``: exactly one JSON document on stdout; progress, tables and logs on stderr.

A script runs ``cosci show RUN --json | jq .answer``: whatever else the command (or a
library under it) prints must not land in the pipe. While a :class:`JsonOutput` is
open, ``sys.stdout`` is stderr, so rich consoles, tqdm bars and stray ``print`` calls
go there; :meth:`JsonOutput.emit` writes the one document to the real stdout.
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from types import TracebackType
from typing import IO, Any

from pydantic import BaseModel


def to_jsonable(document: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """A pydantic model or a mapping as plain JSON types (paths and dates as strings)."""
    if isinstance(document, BaseModel):
        return document.model_dump(mode="json")
    return json.loads(json.dumps(document, default=str))


class JsonOutput:
    """Send everything but the final document to stderr while ``enabled``.

    Disabled, it changes nothing and :meth:`emit` does nothing, so a command keeps one
    code path for both modes.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._stdout: IO[str] | None = None
        self._redirect: redirect_stdout[IO[str]] | None = None
        self._emitted = False

    def __enter__(self) -> JsonOutput:
        if self.enabled:
            self._stdout = sys.stdout
            self._redirect = redirect_stdout(sys.stderr)
            self._redirect.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._redirect is not None:
            self._redirect.__exit__(exc_type, exc, traceback)
            self._redirect = None

    def emit(self, document: BaseModel | dict[str, Any]) -> None:
        """Write ``document`` as the command's one JSON document (once)."""
        if not self.enabled:
            return
        if self._emitted:
            raise RuntimeError("--json output takes exactly one document")
        out = self._stdout or sys.stdout
        out.write(json.dumps(to_jsonable(document), indent=2) + "\n")
        out.flush()
        self._emitted = True


JSON_HELP = "Print one JSON document on stdout (progress and messages go to stderr)."

__all__ = ["JSON_HELP", "JsonOutput", "to_jsonable"]
