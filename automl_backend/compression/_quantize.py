"""Dynamic int8 post-training quantization of Linear layers (weights int8, activations
quantized on the fly per batch); runs on the CPU."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def quantize_int8(model: nn.Module) -> nn.Module:
    """A quantized CPU copy; convolutions stay float (dynamic mode covers Linear only)."""
    from torch.ao.quantization import quantize_dynamic

    float_copy = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        # torch announces a move of eager quantization to torchao; the API still works in
        # the pinned torch, and torchao is not a dependency of this project.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(float_copy, {nn.Linear}, dtype=torch.qint8)
