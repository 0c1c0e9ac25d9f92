"""The embedded model's speed-ups change nothing in what it answers (greedy decoding): the
prefix cache, the grammar fast-forward, and the incremental decoder itself against
transformers' generate. Real model, so slow."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from agents.llm import ChatMessage, Completion, LocalLLM
from agents.llm._batch import LLMRequest

pytestmark = pytest.mark.slow


class Verdict(BaseModel):
    winner: Literal["A", "B", "draw"]
    confidence: int = Field(ge=1, le=5)
    reason: str = Field(min_length=5, max_length=80)


SYSTEM = ChatMessage(
    role="system",
    content="You judge which of two machine-learning hypotheses is more likely to hold.",
)
QUESTIONS = [
    "A: a tuned random forest beats logistic regression. B: scaling helps knn. Which holds?",
    "A: gradient boosting beats an svm. B: dropping features helps. Which holds?",
]


def _answers(llm: LocalLLM) -> list[str]:
    llm.clear_prefix_cache()
    return [
        llm.complete([SYSTEM, ChatMessage(role="user", content=q)], Verdict, role="ranking").text
        for q in QUESTIONS
    ]


def _variant(base: LocalLLM, **options: object) -> LocalLLM:
    return LocalLLM(base.cache_dir, threads=1, **options)  # type: ignore[arg-type]


def test_the_prefix_cache_changes_no_answer(local_llm: LocalLLM) -> None:
    cold = _answers(_variant(local_llm, prefix_cache=False))
    cached = _variant(local_llm, prefix_cache=True)
    warm = _answers(cached)
    assert warm == cold
    # The second question reused the first one's system message and more.
    assert cached.load().prefix_cache.reused_tokens >= 20


def test_fast_forward_gives_the_same_valid_json_in_fewer_passes(
    local_llm: LocalLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.llm._local as local_module

    passes: list[tuple[int, int]] = []
    original = local_module.decode_batch

    def counting(*args: object, **kwargs: object) -> object:
        decoded = original(*args, **kwargs)  # type: ignore[arg-type]
        passes.extend((d.forward_passes, d.forced_tokens) for d in decoded)
        return decoded

    monkeypatch.setattr(local_module, "decode_batch", counting)
    step_by_step = _answers(_variant(local_llm, prefix_cache=False, fast_forward=False))
    forwarded = _answers(_variant(local_llm, prefix_cache=False, fast_forward=True))
    assert forwarded == step_by_step
    for text in forwarded:
        Verdict.model_validate_json(text)
    slow, fast = passes[: len(QUESTIONS)], passes[len(QUESTIONS) :]
    assert all(forced == 0 for _, forced in slow)
    assert all(forced > 0 for _, forced in fast)
    assert sum(p for p, _ in fast) < sum(p for p, _ in slow)


def test_the_incremental_decoder_answers_as_transformers_generate(local_llm: LocalLLM) -> None:
    incremental = _answers(_variant(local_llm, prefix_cache=False, fast_forward=False))
    generated = _answers(_variant(local_llm, decoder="generate"))
    assert incremental == generated


def test_a_batch_answers_as_one_call_each_in_fewer_passes(
    local_llm: LocalLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.llm._local as local_module

    questions = [*QUESTIONS, "A: more trees help. B: a smaller learning rate helps. Which?"]
    requests = [
        LLMRequest([SYSTEM, ChatMessage(role="user", content=q)], Verdict, role="ranking")
        for q in questions
    ]
    # A free-text request rides in the same batch, with its own token limit.
    requests.append(
        LLMRequest([ChatMessage(role="user", content="Name one tree ensemble.")], max_tokens=12)
    )
    llm = _variant(local_llm, prefix_cache=False)
    forwards: list[int] = []
    hook = llm.load().model.model.register_forward_hook(lambda *_: forwards.append(1))
    try:
        alone = [llm.complete(r.messages, r.schema, max_tokens=r.max_tokens) for r in requests]
        passes_alone = len(forwards)
        batches: list[int] = []
        original = local_module.decode_batch

        def counting(*args: object, **kwargs: object) -> object:
            batches.append(1)
            return original(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(local_module, "decode_batch", counting)
        together = llm.complete_batch(requests)
        passes_together = len(forwards) - passes_alone
    finally:
        hook.remove()
    assert all(isinstance(c, Completion) for c in together)
    assert [c.text for c in together] == [c.text for c in alone]  # type: ignore[union-attr]
    assert [c.completion_tokens for c in together] == [c.completion_tokens for c in alone]  # type: ignore[union-attr]
    # One batch, and fewer forward passes of the model than one call after another.
    assert len(batches) == 1
    assert passes_together < passes_alone
