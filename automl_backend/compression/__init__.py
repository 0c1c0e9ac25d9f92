"""Model compression: pruning, dynamic int8 quantization, distillation, and a search over
their combinations for a size or latency target. Importing this does not import torch."""

from __future__ import annotations

from automl_backend.compression._errors import CompressionError
from automl_backend.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
