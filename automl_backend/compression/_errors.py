"""Errors of the compression subpackage that are meant for people."""

from __future__ import annotations

from automl_backend._errors import BackendError


class CompressionError(BackendError):
    """A compression request that cannot be served (bad run directory, unreachable target)."""
