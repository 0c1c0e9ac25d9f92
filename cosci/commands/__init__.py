"""CLI command groups. Each module exposes ``register(app)`` and imports heavy code lazily."""

from __future__ import annotations

from cosci.commands import automl, export, llm, memory, nas, research, review, worker

COMMAND_MODULES = (automl, worker, nas, research, review, export, llm, memory)

__all__ = ["COMMAND_MODULES"]
