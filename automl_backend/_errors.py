"""Errors the backend raises for people (bad data, bad specs), as opposed to bugs."""

from __future__ import annotations


class BackendError(Exception):
    """Base of every user-facing backend error; the CLI prints it as one line, exit 2."""

    user_facing = True


class DataError(BackendError, ValueError):
    """The data cannot be used as given (missing file, bad target, too few rows...)."""


class SpecError(BackendError, ValueError):
    """An ExperimentSpec that does not validate against the registry."""


class UntrustedModelError(BackendError):
    """A model folder that fails its integrity check (no manifest, a changed file, a
    pickle): loading it could run code from it, so it needs ``--trust`` / ``trust=True``."""
