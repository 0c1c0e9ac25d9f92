"""The deployed form of a network's weights, whose byte count is the reported size.

Dense tensors are stored at their own precision (float32, or int8 plus a scale and zero
point for dynamically quantized Linear layers). A tensor that is at least half zeros is
stored as a bitmap of its non-zero positions plus the non-zero values (one bit per entry
instead of four bytes) whenever that is smaller, which is how magnitude pruning turns
into smaller files.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn


def _quantized_linears(model: nn.Module) -> dict[str, nn.Module]:
    return {
        name: m
        for name, m in model.named_modules()
        if type(m).__name__ == "Linear" and type(m).__module__.startswith("torch.ao.nn.quantized")
    }


def weight_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """Every stored tensor as a numpy array (int8 for quantized weights)."""
    arrays: dict[str, np.ndarray] = {}
    quantized = _quantized_linears(model)
    for name, m in quantized.items():
        w, b = m._packed_params._weight_bias()
        arrays[f"{name}.weight.int8"] = w.int_repr().numpy()
        arrays[f"{name}.weight.qparams"] = np.array([w.q_scale(), w.q_zero_point()], np.float32)
        if b is not None:
            arrays[f"{name}.bias"] = b.detach().numpy().astype(np.float32)
    for key, t in model.state_dict().items():
        owner = key.rsplit(".", 2)[0] if "_packed_params" in key else None
        if owner in quantized or not isinstance(t, torch.Tensor) or t.is_quantized:
            continue
        arrays[key] = t.detach().cpu().numpy()
    return arrays


def pack(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    packed: dict[str, np.ndarray] = {}
    for key, a in arrays.items():
        bitmap_bytes = (a.size + 7) // 8 + int(np.count_nonzero(a)) * a.itemsize + 4 * a.ndim
        if a.dtype != np.int64 and a.size >= 64 and bitmap_bytes < a.nbytes:
            packed[f"{key}::mask"] = np.packbits(a.ravel() != 0)
            packed[f"{key}::values"] = a.ravel()[a.ravel() != 0]
            packed[f"{key}::shape"] = np.array(a.shape, np.int32)
        else:
            packed[key] = a
    return packed


def unpack(packed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, a in packed.items():
        if key.endswith("::mask"):
            base = key[: -len("::mask")]
            shape = tuple(int(s) for s in packed[f"{base}::shape"])
            values = packed[f"{base}::values"]
            n = int(np.prod(shape))
            mask = np.unpackbits(a)[:n].astype(bool)
            full = np.zeros(n, dtype=values.dtype)
            full[mask] = values
            out[base] = full.reshape(shape)
        elif "::" not in key:
            out[key] = a
    return out


def save_compact(model: nn.Module, path: Path | io.BytesIO) -> None:
    np.savez(path, **pack(weight_arrays(model)))


def compact_size_kb(model: nn.Module) -> float:
    buf = io.BytesIO()
    save_compact(model, buf)
    return buf.tell() / 1024.0


def load_compact(path: Path | io.BytesIO) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return unpack({k: data[k] for k in data.files})
