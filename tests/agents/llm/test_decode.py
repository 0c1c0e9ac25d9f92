"""The incremental decoder and its prefix cache, on a tiny random Llama (no weights are
downloaded: the model is built from a config), against transformers' own ``generate``."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agents.llm._decode import DecodeOptions, decode, decode_batch
from agents.llm._errors import LLMError
from agents.llm._prefix_cache import PrefixCache, shared_prefix

VOCAB = 96
EOS = 2


@pytest.fixture(scope="module")
def tiny_model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=EOS,
        pad_token_id=0,
    )
    return LlamaForCausalLM(config).eval()


def _prompt(seed: int, n: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB, (n,), generator=generator).tolist()


def _generate(model: LlamaForCausalLM, prompt: list[int], n: int, penalty: float) -> list[int]:
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([prompt]),
            max_new_tokens=n,
            do_sample=False,
            repetition_penalty=penalty,
            pad_token_id=0,
        )
    return out[0, len(prompt) :].tolist()


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_decoding_matches_transformers_generate(
    tiny_model: LlamaForCausalLM, penalty: float
) -> None:
    prompt = _prompt(1, 40)
    options = DecodeOptions(max_new_tokens=24, repetition_penalty=penalty)
    with torch.inference_mode():
        mine = decode(tiny_model, prompt, options, eos={EOS}).tokens
    assert mine == _generate(tiny_model, prompt, 24, penalty)  # both end with EOS if it comes


def test_a_cached_prefix_gives_the_same_tokens_and_skips_its_prefill(
    tiny_model: LlamaForCausalLM,
) -> None:
    shared = _prompt(2, 60)
    first, second = shared + _prompt(3, 12), shared + _prompt(4, 9)
    options = DecodeOptions(max_new_tokens=20, repetition_penalty=1.3)
    cache = PrefixCache()
    with torch.inference_mode():
        cold = [decode(tiny_model, p, options, eos=set()).tokens for p in (first, second)]
        decode(tiny_model, first, options, eos=set(), prefix_cache=cache)
        warm = decode(tiny_model, second, options, eos=set(), prefix_cache=cache)
        again = decode(tiny_model, first, options, eos=set(), prefix_cache=cache)
    assert warm.tokens == cold[1]
    assert warm.reused_prompt_tokens >= 60
    # The very same prompt: all but its last token come from the cache.
    assert again.tokens == cold[0] and again.reused_prompt_tokens == len(first) - 1


def test_decoding_stops_at_an_end_token(tiny_model: LlamaForCausalLM) -> None:
    prompt = _prompt(5, 30)
    options = DecodeOptions(max_new_tokens=30)
    with torch.inference_mode():
        free = decode(tiny_model, prompt, options, eos=set()).tokens
        stop_at = free[3]
        ended = decode(tiny_model, prompt, options, eos={stop_at}).tokens
    assert ended == free[: free.index(stop_at) + 1]


class _FakeCache:
    """Stands in for a DynamicCache: a list of positions, cropped by a negative count."""

    def __init__(self, n: int) -> None:
        self.positions = list(range(n))

    def crop(self, count: int) -> None:
        assert count < 0, "this transformers version crops by a negative count"
        del self.positions[count:]


def test_the_prefix_cache_picks_the_longest_shared_prefix_and_copies_it() -> None:
    cache = PrefixCache(max_entries=2, min_shared=3)
    cache.store([1, 2, 3, 4, 5], _FakeCache(5))
    cache.store([1, 2, 9, 9], _FakeCache(4))
    n, hit = cache.lookup([1, 2, 3, 4, 7, 8])
    assert n == 4 and hit.positions == [0, 1, 2, 3]
    n, again = cache.lookup([1, 2, 3, 4, 5, 6])
    assert n == 5 and len(again.positions) == 5, "the stored entry was not cropped in place"
    assert cache.lookup([1, 2, 8]) == (0, None)  # 2 shared tokens: below min_shared
    # The same prompt again: its last token is left to prefill.
    assert cache.lookup([1, 2, 3, 4, 5])[0] == 4


def test_the_prefix_cache_drops_the_least_recently_used_prompt() -> None:
    cache = PrefixCache(max_entries=2, min_shared=1)
    cache.store([1, 1, 1], _FakeCache(3))
    cache.store([2, 2, 2], _FakeCache(3))
    cache.lookup([1, 1, 1, 5])  # [1, 1, 1] is now the most recent
    cache.store([3, 3, 3], _FakeCache(3))
    assert len(cache) == 2
    assert cache.lookup([2, 2, 2, 5]) == (0, None)
    assert cache.lookup([1, 1, 1, 5])[0] == 3
    cache.clear()
    assert len(cache) == 0 and cache.hits == 0


def test_shared_prefix() -> None:
    assert shared_prefix((1, 2, 3), (1, 2, 4, 5)) == 2
    assert shared_prefix((), (1,)) == 0
    assert shared_prefix((1, 2), (1, 2)) == 2


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_decoding_side_by_side_gives_each_prompt_its_own_answer(
    tiny_model: LlamaForCausalLM, penalty: float
) -> None:
    # Prompts of different lengths, answers of different lengths (one stops at a token
    # the others pass), one row with a smaller token limit: the stacked cache is padded on
    # the left, steps on the right, and rows leave the batch as they finish.
    prompts = [_prompt(10, 41), _prompt(11, 17), _prompt(12, 29)]
    options = [DecodeOptions(max_new_tokens=n, repetition_penalty=penalty) for n in (24, 9, 16)]
    with torch.inference_mode():
        alone = [
            decode(tiny_model, p, o, eos=set()).tokens
            for p, o in zip(prompts, options, strict=True)
        ]
        stop = alone[0][4]
        calls: list[int] = []
        hook = tiny_model.model.register_forward_hook(lambda *_: calls.append(1))
        try:
            together = decode_batch(tiny_model, prompts, options, eos={stop})
        finally:
            hook.remove()
    expected = [a[: a.index(stop) + 1] if stop in a else a for a in alone]
    assert [d.tokens for d in together] == expected
    assert len(expected[0]) == 5 and len({len(e) for e in expected}) > 1
    assert len(together[1].tokens) <= 9
    # One prefill per prompt, then one pass per step for the whole batch: the longest
    # answer's steps, not the sum over answers.
    steps = max(d.forward_passes for d in together) - 1
    assert len(calls) == len(prompts) + steps
    assert len(calls) < sum(d.forward_passes for d in together)


def test_decoding_side_by_side_reuses_the_prefix_cache(tiny_model: LlamaForCausalLM) -> None:
    shared = _prompt(20, 50)
    prompts = [shared + _prompt(21, 8), shared + _prompt(22, 13)]
    options = [DecodeOptions(max_new_tokens=16, repetition_penalty=1.3)] * 2
    cache = PrefixCache()
    with torch.inference_mode():
        cold = decode_batch(tiny_model, prompts, options, eos=set())
        warm = decode_batch(tiny_model, prompts, options, eos=set(), prefix_cache=cache)
    assert [d.tokens for d in warm] == [d.tokens for d in cold]
    assert warm[0].reused_prompt_tokens == 0 and warm[1].reused_prompt_tokens >= 50


def test_decode_batch_refuses_mismatched_options(tiny_model: LlamaForCausalLM) -> None:
    with pytest.raises(LLMError, match="2 prompts but 1 decode options"):
        decode_batch(tiny_model, [[3, 4], [5, 6]], [DecodeOptions(max_new_tokens=2)], eos=set())


def _packed_mask(allowed: set[int], vocab: int) -> torch.Tensor:
    """llguidance's layout: token t is bit t % 32 of int32 word t // 32."""
    words = [0] * ((vocab + 31) // 32)
    for token in allowed:
        words[token // 32] |= 1 << (token % 32)
    signed = [w - (1 << 32) if w >= 1 << 31 else w for w in words]
    return torch.tensor([signed], dtype=torch.int32)


@pytest.mark.parametrize("allowed", [{3, 31, 40, 95}, set(range(5, VOCAB))])
def test_the_head_scores_only_what_the_grammar_allows(allowed: set[int]) -> None:
    from agents.llm._decode import SUBSET_SHARE, _allowed, _scores

    torch.manual_seed(1)
    head = torch.nn.Linear(32, VOCAB, bias=True)
    hidden = torch.randn(32)
    bitmask = _packed_mask(allowed, VOCAB)
    assert set(_allowed(bitmask, VOCAB).nonzero().squeeze(-1).tolist()) == allowed
    with torch.inference_mode():
        full = head(hidden)
        scores = _scores(head, hidden, bitmask)
    ids = sorted(allowed)
    assert torch.allclose(scores[ids], full[ids], atol=1e-6)
    rest = [t for t in range(VOCAB) if t not in allowed]
    assert torch.isinf(scores[rest]).all() and (scores[rest] < 0).all()
    # The first case takes the subset path, the second the whole head.
    assert (len(allowed) <= SUBSET_SHARE * VOCAB) == (len(ids) == 4)
    assert int(scores.argmax()) == max(ids, key=lambda t: float(full[t]))
