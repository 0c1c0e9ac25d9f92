"""What one-shot strategies need beyond the space: data, shapes, time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from automl_backend.nas._train import TensorData


@dataclass
class OneShotContext:
    train: TensorData
    """Rows the supernet learns from (DARTS splits them for weights and architecture)."""
    input_shape: tuple[int, ...]
    n_classes: int
    seed: int = 0
    deadline: float | None = None
    """``time.monotonic()`` by which the whole search must end."""
    max_epochs: int = 40
    """Most supernet epochs (fewer when the deadline comes first)."""
    report: Callable[[str], None] = field(default=lambda _msg: None)

    def share_of_remaining(self, share: float) -> float | None:
        """A deadline ``share`` of the way from now to the search deadline."""
        if self.deadline is None:
            return None
        now = time.monotonic()
        return now + share * max(0.0, self.deadline - now)
