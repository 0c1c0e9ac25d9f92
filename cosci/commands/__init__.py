"""CLI command groups. Each module exposes ``register(app)`` and imports heavy code lazily."""

from __future__ import annotations

from cosci.commands import automl, export, llm, memory, nas, research, worker

COMMAND_MODULES = (automl, worker, nas, research, export, llm, memory)

__all__ = ["COMMAND_MODULES"]
