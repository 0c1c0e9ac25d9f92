"""4-bit layers: the codes give back the float weights exactly, the int4 product matches
the float one up to bfloat16 rounding, and only layers on a 4-bit grid are packed."""

from __future__ import annotations

import pytest
import torch

from agents.llm import ChatMessage, LocalLLM
from agents.llm._packed import (
    GROUP,
    FourBitLinear,
    PackReport,
    four_bit_codes,
    four_bit_kernel_available,
    pack_four_bit,
)

needs_kernel = pytest.mark.skipif(
    not four_bit_kernel_available(), reason="this torch has no int4 CPU matrix product"
)


def _q4_linear(rows: int, inputs: int, seed: int = 0) -> torch.nn.Linear:
    """A linear map with Q4_1-style weights: offset + scale * code per group of 32 inputs,
    each group using codes 0 and 15 (as Q4_1 quantisation does)."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 16, (rows, inputs // GROUP, GROUP), generator=generator)
    codes[..., 0], codes[..., 1] = 0, 15
    # Q4_1 stores each group's scale and offset as float16.
    scale = (torch.rand(rows, inputs // GROUP, 1, generator=generator) * 0.02 + 0.001).half()
    low = (-torch.rand(rows, inputs // GROUP, 1, generator=generator) * 0.1).half()
    linear = torch.nn.Linear(inputs, rows, bias=False)
    with torch.no_grad():
        linear.weight.copy_((low.float() + scale.float() * codes).reshape(rows, inputs))
    return linear


def test_the_codes_give_back_the_weights_exactly() -> None:
    linear = _q4_linear(48, 128)
    found = four_bit_codes(linear.weight)
    assert found is not None
    codes, scale, low = found
    assert codes.shape == (48, 128) and scale.shape == low.shape == (48, 128 // GROUP)
    assert int(codes.min()) == 0 and int(codes.max()) == 15
    rebuilt = low.repeat_interleave(GROUP, 1) + scale.repeat_interleave(GROUP, 1) * codes
    assert torch.allclose(rebuilt, linear.weight.detach(), rtol=0, atol=1e-7)


def test_float_weights_are_not_on_a_grid() -> None:
    assert four_bit_codes(torch.nn.Linear(64, 8).weight) is None
    assert four_bit_codes(torch.zeros(8, 40)) is None  # inputs not a multiple of 32


@needs_kernel
def test_the_four_bit_product_matches_the_float_one() -> None:
    linear = _q4_linear(96, 192, seed=1)
    found = four_bit_codes(linear.weight)
    assert found is not None
    packed = FourBitLinear(linear, *found)
    x = torch.randn(3, 5, 192, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected, got = linear(x), packed(x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    relative = float((got - expected).abs().max() / expected.abs().max())
    assert relative < 0.02, relative
    assert not torch.equal(got, expected)  # bfloat16 inputs: close, not identical


class _Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = torch.nn.Module()
        self.attn.q_proj = _q4_linear(64, 64, seed=3)
        self.mlp = torch.nn.Module()
        self.mlp.up_proj = _q4_linear(128, 64, seed=4)
        self.mlp.down_proj = torch.nn.Linear(128, 64, bias=False)  # float weights


class _TinyCausalLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = torch.nn.Module()
        self.model.layers = torch.nn.ModuleList([_Block(), _Block()])
        self.lm_head = _q4_linear(100, 64, seed=5)


@needs_kernel
def test_only_decoder_layers_on_a_grid_are_packed() -> None:
    model = _TinyCausalLM()
    report = pack_four_bit(model)
    assert (report.packed, report.kept) == (4, 2)
    assert report.reasons[0] == "down_proj: weights not on a 4-bit grid"
    for block in model.model.layers:
        assert isinstance(block.attn.q_proj, FourBitLinear)
        assert isinstance(block.mlp.up_proj, FourBitLinear)
        assert isinstance(block.mlp.down_proj, torch.nn.Linear)
    assert isinstance(model.lm_head, torch.nn.Linear)  # the output head stays float32
    assert report.describe() == "4 layers as 4-bit products, 2 kept in float32"


def test_a_model_without_decoder_layers_is_left_alone() -> None:
    report = pack_four_bit(torch.nn.Linear(4, 4))
    assert report == PackReport(0, 0, ["the model has no decoder layers to pack"])
    assert report.describe() == "float32 layers: the model has no decoder layers to pack"


@pytest.mark.slow
@needs_kernel
def test_the_embedded_model_packs_every_layer_and_predicts_the_same_tokens(
    local_llm: LocalLLM,
) -> None:
    packed = LocalLLM(local_llm.cache_dir, threads=1, four_bit=True).load()
    full = LocalLLM(local_llm.cache_dir, threads=1, four_bit=False).load()
    assert packed.layers == "210 layers as 4-bit products"
    assert full.layers == "float32 layers"
    messages = [
        ChatMessage(role="system", content="You are a concise assistant."),
        ChatMessage(role="user", content="Which model family suits 20,000 rows of tabular data?"),
    ]
    ids = full.tokenizer.apply_chat_template(
        [m.model_dump() for m in messages], add_generation_prompt=True, return_tensors="pt"
    )
    ids = ids if torch.is_tensor(ids) else ids["input_ids"]
    with torch.inference_mode():
        expected = full.model(ids).logits[0]
        got = packed.model(ids).logits[0]
    agree = float((got.argmax(-1) == expected.argmax(-1)).float().mean())
    assert agree >= 0.95, agree
