"""Errors of the NAS subpackage that are meant for people (bad spaces, shapes, budgets)."""

from __future__ import annotations

from automl_backend._errors import BackendError


class NASError(BackendError):
    """A NAS experiment that cannot run as given; the CLI prints it as one line."""
