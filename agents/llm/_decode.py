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

The output head (576 x 49,152 weights, a third of a step once the layers are 4-bit) is
applied after the grammar's mask is known: where the grammar allows at most a quarter of
the vocabulary, only those tokens' rows are multiplied (:func:`_scores`).

:func:`decode_batch` answers several prompts at once. Each prompt is prefilled on its own
(its shared prefix still comes from the cache), then the answers are decoded side by
side: one forward pass per step for every answer still going. A step of a 135M model on
the CPU costs about the same for one row as for a few (it reads all weights either way),
so independent calls of one agent round finish in far fewer passes. Rows of different
lengths are aligned by padding the key/value cache on the left and a step's shorter
feeds on the right; the attention mask hides the padding and every row keeps its own
positions, so each row's arithmetic is that of decoding it alone up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class _Row:
    """One answer being decoded: its grammar, what it has seen, where it stands."""

    options: DecodeOptions
    matcher: Any
    seen: Any
    length: int
    """Tokens in this row's key/value cache (its next position)."""
    decoded: Decoded
    bitmask: Any = None
    feed: list[int] = field(default_factory=list)
    done: bool = False


SUBSET_SHARE = 0.25
"""When the grammar allows at most this share of the vocabulary, only the allowed tokens'
rows of the output head are multiplied (the same numbers, the rest are -inf anyway)."""


def _forward(model: Any, ids: list[int], cache: Any) -> Any:
    """The last position's hidden state after feeding ``ids`` (the output head is applied
    later, by :func:`_scores`, to as few rows as the grammar allows)."""
    import torch

    out = model.model(input_ids=torch.tensor([ids], dtype=torch.long), cache=cache, use_cache=True)
    return out.last_hidden_state[0, -1]


def _allowed(bitmask: Any, vocab: int) -> Any:
    """llguidance's packed bitmask (32 tokens an int32) as a boolean mask over the vocabulary."""
    import torch

    shifts = torch.arange(32, dtype=torch.int32)
    bits = (bitmask[0].unsqueeze(-1) >> shifts) & 1
    return bits.reshape(-1)[:vocab].bool()


def _scores(head: Any, hidden: Any, bitmask: Any = None) -> Any:
    """The output head's logits for ``hidden``, -inf where the grammar's ``bitmask`` (if
    any) rules a token out. Over half of a structured answer's free choices allow fewer
    than a thousand of SmolLM2's 49,152 tokens (a digit, an enum value, a closing quote):
    those multiply only the allowed rows, a fraction of the head's 28 million weights."""
    import torch

    if bitmask is None:
        return head(hidden).float()
    vocab = head.weight.shape[0]
    allowed = _allowed(bitmask, vocab)
    ids = allowed.nonzero().squeeze(-1)
    if ids.numel() > SUBSET_SHARE * vocab:
        import llguidance.torch

        scores = head(hidden).float()
        llguidance.torch.apply_token_bitmask_inplace(scores, bitmask[0])
        return scores
    part = head.weight.index_select(0, ids) @ hidden
    if head.bias is not None:
        part = part + head.bias.index_select(0, ids)
    scores = torch.full((vocab,), float("-inf"))
    scores[ids] = part.float()
    return scores


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


def _prefill(
    model: Any, prompt: list[int], prefix_cache: PrefixCache | None
) -> tuple[int, Any, Any]:
    """(tokens reused from the prefix cache, the prompt's key/value cache, the hidden
    state of its last position)."""
    from transformers import DynamicCache

    if not prompt:
        raise LLMError("cannot decode from an empty prompt")
    reused, cache = prefix_cache.lookup(prompt) if prefix_cache is not None else (0, None)
    if cache is None:
        cache = DynamicCache(config=model.config)
    hidden = _forward(model, prompt[reused:], cache)
    if prefix_cache is not None:
        prefix_cache.store(prompt, cache)
    return reused, cache, hidden


def _advance(row: _Row, head: Any, hidden: Any, eos: set[int]) -> None:
    """Pick the row's next token from the output ``head`` applied to ``hidden`` and set
    what to feed next (the token and any tokens the grammar forces after it), or mark the
    row done."""
    import torch

    options, matcher, tokens = row.options, row.matcher, row.decoded.tokens
    if matcher is not None:
        import llguidance.torch

        llguidance.torch.fill_next_token_bitmask(matcher, row.bitmask, 0)
    scores = _scores(head, hidden, row.bitmask)  # no matcher, no bitmask
    _penalise(scores, row.seen, options.repetition_penalty)
    token = _choose(scores, options)
    tokens.append(token)
    row.feed = [token]
    if token in eos:
        row.done = True
        return
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
            row.feed.extend(forced)
            row.decoded.forced_tokens += len(forced)
            if ended is not None:
                row.done = True
                return
        if matcher.is_stopped():
            row.done = True
            return
    if len(tokens) >= options.max_new_tokens:
        row.done = True
        return
    row.seen[torch.tensor(row.feed)] = True


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
    return decode_batch(
        model, [prompt], [options], eos=eos, matchers=[matcher], prefix_cache=prefix_cache
    )[0]


def decode_batch(
    model: Any,
    prompts: list[list[int]],
    options: list[DecodeOptions],
    *,
    eos: set[int],
    matchers: list[Any] | None = None,
    prefix_cache: PrefixCache | None = None,
) -> list[Decoded]:
    """:func:`decode` for several prompts at once, each under its own options and matcher;
    the answers come back in the prompts' order."""
    import torch

    if len(options) != len(prompts):
        raise LLMError(f"{len(prompts)} prompts but {len(options)} decode options")
    matchers = matchers if matchers is not None else [None] * len(prompts)
    if len(matchers) != len(prompts):
        raise LLMError(f"{len(prompts)} prompts but {len(matchers)} grammar matchers")
    head = model.get_output_embeddings()
    vocab = head.weight.shape[0]
    rows: list[_Row] = []
    caches: list[Any] = []
    first: list[Any] = []
    for prompt, option, matcher in zip(prompts, options, matchers, strict=True):
        reused, cache, hidden = _prefill(model, prompt, prefix_cache)
        seen = torch.zeros(vocab, dtype=torch.bool)
        seen[torch.tensor(prompt)] = True
        bitmask = None
        if matcher is not None:
            import llguidance.torch

            bitmask = llguidance.torch.allocate_token_bitmask(1, vocab)
        rows.append(_Row(option, matcher, seen, len(prompt), Decoded([], reused, 1, 0), bitmask))
        caches.append(cache)
        first.append(hidden)
    if len(rows) == 1:
        _decode_one(model, head, rows[0], caches[0], first[0], eos)
    else:
        _decode_side_by_side(model, head, rows, caches, first, eos)
    return [row.decoded for row in rows]


def _decode_one(model: Any, head: Any, row: _Row, cache: Any, hidden: Any, eos: set[int]) -> None:
    """One row: no padding, no mask; a forward pass for the new tokens only."""
    while row.options.max_new_tokens > 0:
        _advance(row, head, hidden, eos)
        if row.done:
            return
        hidden = _forward(model, row.feed, cache)
        row.decoded.forward_passes += 1


def _decode_side_by_side(
    model: Any, head: Any, rows: list[_Row], caches: list[Any], hidden: list[Any], eos: set[int]
) -> None:
    import torch

    cache = _stack_left_padded(model, caches)
    longest = max(row.length for row in rows)
    mask = torch.zeros(len(rows), longest, dtype=torch.long)
    for i, row in enumerate(rows):
        mask[i, longest - row.length :] = 1
    going = list(range(len(rows)))  # rows[going[b]] is batch row b of the cache
    step_hidden = dict(zip(going, hidden, strict=True))
    while True:
        for index in going:
            row = rows[index]
            if row.options.max_new_tokens <= 0:
                row.done = True
            else:
                _advance(row, head, step_hidden[index], eos)
        keep = [b for b, index in enumerate(going) if not rows[index].done]
        if not keep:
            return
        if len(keep) < len(going):
            kept = torch.tensor(keep, dtype=torch.long)
            cache.batch_select_indices(kept)
            mask = mask[kept]
            going = [going[b] for b in keep]
        width = max(len(rows[index].feed) for index in going)
        ids = torch.zeros(len(going), width, dtype=torch.long)
        step_mask = torch.zeros(len(going), width, dtype=torch.long)
        positions = torch.zeros(len(going), width, dtype=torch.long)
        for b, index in enumerate(going):
            row = rows[index]
            n = len(row.feed)
            ids[b, :n] = torch.tensor(row.feed)
            step_mask[b, :n] = 1
            # Padding continues the row's positions; the mask keeps it out of every row.
            positions[b] = torch.arange(row.length, row.length + width)
        mask = torch.cat([mask, step_mask], dim=1)
        states = model.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
        ).last_hidden_state
        last = torch.tensor([len(rows[index].feed) - 1 for index in going])
        ends = states[torch.arange(len(going)), last]
        step_hidden = {}
        for b, index in enumerate(going):
            row = rows[index]
            row.length += len(row.feed)
            row.decoded.forward_passes += 1
            step_hidden[index] = ends[b]


def _stack_left_padded(model: Any, caches: list[Any]) -> Any:
    """One cache holding every row's keys and values, shorter rows padded on the left
    (the padding is zeros, hidden by the attention mask)."""
    import torch
    from transformers import DynamicCache

    stacked = DynamicCache(config=model.config)
    longest = max(cache.get_seq_length() for cache in caches)
    for layer in range(len(caches[0].layers)):
        keys, values = [], []
        for cache in caches:
            k, v = cache.layers[layer].keys, cache.layers[layer].values
            gap = longest - k.shape[-2]
            keys.append(torch.nn.functional.pad(k, (0, 0, gap, 0)))
            values.append(torch.nn.functional.pad(v, (0, 0, gap, 0)))
        stacked.update(torch.cat(keys), torch.cat(values), layer)
    return stacked
