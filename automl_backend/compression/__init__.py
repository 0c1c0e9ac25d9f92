"""Model compression: pruning, dynamic int8 quantization, distillation, and a search over
their combinations for a size or latency target. Importing this does not import torch."""

from __future__ import annotations

from typing import Any

from automl_backend.compression._errors import CompressionError

__all__ = [
    "CompressionError",
    "CompressionResult",
    "EvaluationSplit",
    "compress_run",
    "distill_student",
    "magnitude_prune",
    "quantize_int8",
    "structured_prune_mlp",
]

_LAZY = {
    "CompressionResult": "_search",
    "EvaluationSplit": "_split",
    "compress_run": "_run",
    "distill_student": "_distill",
    "magnitude_prune": "_prune",
    "quantize_int8": "_quantize",
    "structured_prune_mlp": "_prune",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"automl_backend.compression.{_LAZY[name]}"), name)
