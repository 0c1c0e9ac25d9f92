"""cosci: the application shell (CLI, settings, reports)."""
