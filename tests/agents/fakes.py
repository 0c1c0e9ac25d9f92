"""Test doubles for the co-scientist's plumbing tests. NOT a language model.

``ScriptedFakeLLM`` answers every structured request with a scripted, schema-valid
object (or with garbage, on request). It exists only so graph tests can run without a
model; it proves nothing about answer quality. ``hash_embed`` is a deterministic
bag-of-words hashing embedding standing in for MiniLM in fast tests.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from agents.llm import ChatMessage, Completion, LLMInvalidOutputError

Answer = Callable[[list[ChatMessage], type[BaseModel]], dict[str, Any]]


class ScriptedFakeLLM:
    """FOR TESTS ONLY: a scripted stand-in for an LLMClient (plumbing, not intelligence).

    Hypothesis drafts cycle through ``families`` (one family each); every other schema
    gets a fixed plausible answer unless ``answers`` overrides it by schema name. With
    ``garbage=True`` every call fails the way a real client fails on unusable output.
    With ``texts`` (for the LLM wrappers' tests: recording, replay, usage) each call is
    answered with the next of them instead, whatever the prompt.
    """

    def __init__(
        self,
        families: Iterable[str] = ("logistic", "knn", "random_forest", "extra_trees"),
        *,
        answers: dict[str, Answer] | None = None,
        garbage: bool = False,
        verdict: str = "A",
        texts: list[str] | None = None,
        model: str = "scripted-fake",
    ) -> None:
        self._families = itertools.cycle(list(families))
        self.answers = answers or {}
        self.garbage = garbage
        self.verdict = verdict
        self.texts = None if texts is None else list(texts)
        self.model = model
        self.calls: list[tuple[str, str]] = []

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        name = schema.__name__ if schema is not None else "text"
        self.calls.append((role, name))
        if self.texts is not None:
            return self._next_text(messages, schema)
        if self.garbage or schema is None:
            raise LLMInvalidOutputError(name, 3, "scripted garbage: '1.1.1.1.1'")
        make = self.answers.get(name) or getattr(self, f"_{name}", None)
        if make is None:
            raise AssertionError(f"ScriptedFakeLLM has no script for {name}")
        data = make(messages, schema)
        try:
            parsed = schema.model_validate(data)
        except ValueError as exc:
            raise LLMInvalidOutputError(name, 1, str(exc)) from exc
        return Completion(parsed=parsed, text=json.dumps(data), model=self.model)

    def _next_text(self, messages: list[ChatMessage], schema: type[BaseModel] | None) -> Completion:
        assert self.texts is not None
        text = self.texts.pop(0)
        return Completion(
            parsed=schema.model_validate_json(text) if schema is not None else None,
            text=text,
            prompt_tokens=10 * len(messages),
            completion_tokens=len(text.split()),
            latency_s=0.25,
            model=self.model,
        )

    # ---------------------------------------------------------------- scripts

    def _PlanDraft(self, messages: list[ChatMessage], schema: type[BaseModel]) -> dict[str, Any]:
        metric = schema.model_json_schema()["properties"]["metric"]["enum"][0]
        return {
            "goal_asks_for": "unclear",
            "question": "best",
            "factors": ["family"],
            "metric": metric,
            "objective": "find the best model family by cross-validated score",
            "focus_families": [_first_enum(schema, "focus_families")],
        }

    def _HypothesisDraft(
        self, messages: list[ChatMessage], schema: type[BaseModel]
    ) -> dict[str, Any]:
        """Picks the offered intervention whose key names the next scripted family (the
        first option when none does)."""
        family = next(self._families)
        keys = _enum(schema, "intervention")
        key = next((k for k in keys if k.endswith(f"->{family}")), keys[0])
        return {
            "intervention": key,
            "rationale": f"{family} suits data of this size and shape.",
            "expected_gain_points": 1,
        }

    def _ReviewDraft(self, messages: list[ChatMessage], schema: type[BaseModel]) -> dict[str, Any]:
        return {"correctness": 4, "novelty": 3, "feasibility": 5, "critique": "Sound and cheap."}

    def _MatchVerdict(self, messages: list[ChatMessage], schema: type[BaseModel]) -> dict[str, Any]:
        return {"winner": self.verdict, "reason": "Scripted preference."}

    def _DebateTurn(self, messages: list[ChatMessage], schema: type[BaseModel]) -> dict[str, Any]:
        return {"argument": "Its family fits the data better."}

    def _EvolutionDraft(
        self, messages: list[ChatMessage], schema: type[BaseModel]
    ) -> dict[str, Any]:
        return {
            "operator": "narrow",
            "narrowing": 0.5,
            "new_family": _first_enum(schema, "new_family"),
            "statement": "Searching closer to the parent's best configuration helps.",
            "rationale": "The parent's best region looks promising.",
        }

    def _MetaReviewDraft(
        self, messages: list[ChatMessage], schema: type[BaseModel]
    ) -> dict[str, Any]:
        return {
            "strengths": ["tuned models beat defaults"],
            "weaknesses": [],
            "advice": "Narrow the leaders.",
        }

    def _OverviewDraft(
        self, messages: list[ChatMessage], schema: type[BaseModel]
    ) -> dict[str, Any]:
        return {"summary": "The tested hypotheses were ranked by their measured scores."}


def _enum(schema: type[BaseModel], field: str) -> list[str]:
    """Allowed values of an enum field (or of a list of enums)."""
    document = schema.model_json_schema()
    node = document["properties"][field]
    node = node.get("items", node)
    if "$ref" in node:
        node = document["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node.get("enum") or [node["const"]])


def _first_enum(schema: type[BaseModel], field: str) -> str:
    """First allowed value of an enum field (or of a list of enums)."""
    return _enum(schema, field)[0]


def hash_embed(texts: Sequence[str], dims: int = 64) -> np.ndarray:
    """FOR TESTS ONLY: unit vectors from hashed word counts (deterministic, no model)."""
    out = np.zeros((len(texts), dims))
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9_]+", text.lower()):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % dims] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def start_run(
    run_dir: Any,
    llm: Any,
    context: Any,
    *,
    goal: str = "Which model family predicts the target best?",
    data: str = "sklearn:breast_cancer",
    target: str | None = None,
    embed: Callable[[Sequence[str]], np.ndarray] | None = hash_embed,
    memory: Any = None,
) -> Any:
    """Create a run directory and advance it to its first pause or its end (tests only)."""
    from agents import ResearchRun, RunConfig

    config = RunConfig(
        goal=goal, data=data, target=target, context=context, use_memory=memory is not None
    )
    run = ResearchRun.create(run_dir, config)
    list(run.advance(llm, run.toolbox(memory, embed=embed)))
    return run


def experiment_events(run_dir: Any) -> list[dict[str, Any]]:
    """The start/finish lines of a run's experiments.log."""
    from pathlib import Path

    path = Path(run_dir) / "experiments.log"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class FakeMemory:
    """FOR TESTS ONLY: a memory store stand-in that remembers what was recorded.

    ``similar_runs`` answers with one past run whose best configuration is ``warm``.
    """

    def __init__(self, warm: Any) -> None:
        self.warm = warm
        self.recorded: list[Any] = []

    def similar_runs(self, profile: Any, k: int = 5) -> list[Any]:
        from memory import RunRecord, SimilarRun

        record = RunRecord(
            profile=profile,
            status="ok",
            metric="accuracy",
            best_score=0.95,
            best_config=self.warm,
            hypothesis="an earlier run",
        )
        return [SimilarRun(record=record, distance=0.0)]

    def search_literature(self, query: str, k: int = 5) -> list[Any]:
        from memory import LiteratureHit

        return [
            LiteratureHit(
                text="Tune k-NN's k.",
                title="k-NN",
                source="notes/knn.md",
                kind="corpus",
                distance=0.1,
            )
        ]

    def record_run(self, record: Any) -> None:
        self.recorded.append(record)


class BatchingFakeLLM(ScriptedFakeLLM):
    """FOR TESTS ONLY: the scripted fake with a ``complete_batch`` that answers a batch
    request by request and records each batch's size (plumbing, not batching)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[str]] = []

    def complete_batch(self, requests: list[Any]) -> list[Any]:
        from agents.llm._batch import complete_one

        self.batches.append([request.role for request in requests])
        return [complete_one(self, request) for request in requests]
