"""Token-by-token decoding of the embedded model, with its own key/value cache.

transformers' ``generate`` prefills the whole prompt on every call and runs one forward
pass per token, grammar-forced ones included. This loop does the same arithmetic (the
repetition penalty over prompt and answer, the grammar mask, greedy choice or
temperature with top-p sampling) but can start from a cached prompt prefix
(:class:`PrefixCache`) and can feed the tokens the grammar forces (JSON keys, quotes,
commas: llguidance's ``compute_ff_tokens``) in the same forward pass as the token before
them, instead of one pass each.

With fast-forward the forced text is entered as the tokenizer's canonical tokens, where
token-by-token decoding lets the model pick any split of it; the text is the same, but
the model then sees slightly different tokens, so later free text may differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.llm._errors import LLMError
from agents.llm._prefix_cache import PrefixCache


@dataclass(frozen=True)
class DecodeOptions:
    """How to pick tokens."""

    max_new_tokens: int
    repetition_penalty: float = 1.0
    sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    fast_forward: bool = True


@dataclass
class Decoded:
    """The new tokens and what it took to get them."""

    tokens: list[int]
    reused_prompt_tokens: int
    forward_passes: int
    forced_tokens: int


def _forward(model: Any, ids: list[int], cache: Any) -> Any:
    import torch

    out = model(
        input_ids=torch.tensor([ids], dtype=torch.long),
        cache=cache,
        use_cache=True,
        logits_to_keep=1,  # only the last position's logits: skips a 49k-wide projection
    )
    return out.logits[0, -1].float()


def _penalise(scores: Any, seen: Any, penalty: float) -> None:
    """transformers' repetition penalty: every token already in the text is made less
    likely (positive logits divided, negative ones multiplied)."""
    import torch

    if penalty == 1.0:
        return
    picked = scores[seen]
    scores[seen] = torch.where(picked < 0, picked * penalty, picked / penalty)


def _choose(scores: Any, options: DecodeOptions) -> int:
    import torch

    if not options.sample:
        return int(torch.argmax(scores))
    logits = scores / options.temperature
    # transformers' top-p: drop the least likely tokens whose total is at most 1 - top_p.
    ordered, index = torch.sort(logits, descending=False)
    cumulative = ordered.softmax(-1).cumsum(-1)
    drop = cumulative <= 1 - options.top_p
    drop[-1] = False
    logits = logits.clone()
    logits[index[drop]] = float("-inf")
    return int(torch.multinomial(logits.softmax(-1), 1))


def decode(
    model: Any,
    prompt: list[int],
    options: DecodeOptions,
    *,
    eos: set[int],
    matcher: Any = None,
    prefix_cache: PrefixCache | None = None,
) -> Decoded:
    """New tokens after ``prompt`` (the last one an end-of-sequence token if the model or
    grammar ended the answer), under the llguidance ``matcher`` if given."""
    import torch
    from transformers import DynamicCache

    if not prompt:
        raise LLMError("cannot decode from an empty prompt")
    reused, cache = prefix_cache.lookup(prompt) if prefix_cache is not None else (0, None)
    if cache is None:
        cache = DynamicCache(config=model.config)
    logits = _forward(model, prompt[reused:], cache)
    passes = 1
    if prefix_cache is not None:
        prefix_cache.store(prompt, cache)
    seen = torch.zeros(logits.shape[0], dtype=torch.bool)
    seen[torch.tensor(prompt)] = True
    bitmask = None
    if matcher is not None:
        import llguidance.torch

        bitmask = llguidance.torch.allocate_token_bitmask(1, logits.shape[0])
    tokens: list[int] = []
    forced_total = 0
    while len(tokens) < options.max_new_tokens:
        scores = logits.clone()
        _penalise(scores, seen, options.repetition_penalty)
        if matcher is not None:
            llguidance.torch.fill_next_token_bitmask(matcher, bitmask, 0)
            llguidance.torch.apply_token_bitmask_inplace(scores, bitmask[0])
        token = _choose(scores, options)
        tokens.append(token)
        if token in eos:
            break
        feed = [token]
        if matcher is not None:
            if not matcher.consume_token(token):
                raise LLMError(f"the grammar rejected token {token}: {matcher.get_error()}")
            if options.fast_forward:
                room = options.max_new_tokens - len(tokens)
                forced = matcher.compute_ff_tokens()[:room]
                if forced and not matcher.consume_tokens(forced):
                    raise LLMError(f"the grammar rejected its own forced tokens: {forced}")
                ended = next((i for i, t in enumerate(forced) if t in eos), None)
                if ended is not None:
                    forced = forced[: ended + 1]
                tokens.extend(forced)
                feed.extend(forced)
                forced_total += len(forced)
                if ended is not None:
                    break
            if matcher.is_stopped():
                break
        if len(tokens) >= options.max_new_tokens:
            break
        seen[torch.tensor(feed)] = True
        logits = _forward(model, feed, cache)
        passes += 1
    return Decoded(tokens, reused, passes, forced_total)
