"""Calls to the LLM with a guard: a bad answer becomes None, garbage every time stops the run.

Each agent gets a :class:`LLMGuard` seeded with the run's current failure streak. An
answer that does not fit the schema (the client's LLMInvalidOutputError, or a completion
without a parsed instance) counts as unusable: the agent falls back to deterministic code
and the streak grows. A usable answer resets the streak. When the streak reaches the
context's limit the run stops with :class:`LLMUnusableError`; everything checkpointed
before that step is kept. Unreachable endpoints and rejected keys are not answers: those
errors propagate at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

from pydantic import BaseModel

import prompts
from agents._clock import LLMDeadlineError
from agents._sanitize import check_llm_text
from agents.llm import ChatMessage, LLMClient, LLMInvalidOutputError, LLMRequest, complete_each

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger(__name__)

WARN_AFTER_UNUSABLE = 3
"""Unusable answers in a row after which the terminal is told the LLM is failing."""


class CoScientistError(Exception):
    """Base of the co-scientist's errors meant for people (one line, exit 2)."""

    user_facing = True


class LLMUnusableError(CoScientistError):
    """The LLM gave unusable answers too many times in a row."""


class LLMGuard:
    """Asks the LLM for structured answers on behalf of one agent step."""

    @classmethod
    def for_state(cls, llm: LLMClient, state: Any, limit: int) -> LLMGuard:
        """A guard continuing the run's failure streak, booking time to its round."""
        return cls(
            llm,
            streak=state.get("llm_failure_streak", 0),
            limit=limit,
            round_=state.get("round", 1),
        )

    def __init__(self, llm: LLMClient, *, streak: int, limit: int, round_: int = 0) -> None:
        self.llm = llm
        self.streak = streak
        self.limit = limit
        self.round = round_
        self.failures = 0
        self.seconds = 0.0
        self.dropped: list[str] = []
        self.skipped = 0
        """Calls not made because they would have passed the run's wall-clock deadline."""

    def ask(
        self, role: str, schema: type[T], *, max_tokens: int = 200, **values: object
    ) -> T | None:
        """Render ``prompts/<role>.md`` with ``values`` and ask for a ``schema`` instance."""
        system, user = prompts.render(role, **values)
        return self.ask_messages(
            role,
            schema,
            [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)],
            max_tokens=max_tokens,
        )

    def ask_messages(
        self, role: str, schema: type[T], messages: list[ChatMessage], *, max_tokens: int = 200
    ) -> T | None:
        return self._ask([LLMRequest(messages, schema, role, max_tokens)], schema)[0]

    def ask_each(
        self, role: str, schema: type[T], cases: list[dict[str, object]], *, max_tokens: int = 200
    ) -> list[T | None]:
        """:meth:`ask` for independent ``cases`` (the prompt's values for each), sent as one
        batch: the embedded model decodes them side by side, an endpoint gets them
        concurrently. Answers come back in the cases' order."""
        requests = []
        for values in cases:
            system, user = prompts.render(role, **values)
            messages = [
                ChatMessage(role="system", content=system),
                ChatMessage(role="user", content=user),
            ]
            requests.append(LLMRequest(messages, schema, role, max_tokens))
        return self._ask(requests, schema)

    def _ask(self, requests: list[LLMRequest], schema: type[T]) -> list[T | None]:
        start = time.perf_counter()
        try:
            outcomes = complete_each(self.llm, requests)
        except LLMDeadlineError:
            # Not unusable answers: no call was made, the rules decide.
            self.skipped += len(requests)
            return [None] * len(requests)
        finally:
            self.seconds += time.perf_counter() - start
        answers: list[T | None] = []
        for request, outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, LLMInvalidOutputError):
                answers.append(self._unusable(request.role, str(outcome)))
            elif isinstance(outcome.parsed, schema):
                self.streak = 0
                answers.append(outcome.parsed)
            else:
                answers.append(self._unusable(request.role, ""))
        return answers

    def _unusable(self, role: str, problem: str) -> None:
        """Count an unusable answer; stop the run when the streak reaches the limit."""
        self.failures += 1
        self.streak += 1
        last = f"{role}, {problem or 'no parsed answer'}"
        if self.streak == WARN_AFTER_UNUSABLE < self.limit:
            # Said once per streak, while the run goes on: rules stand in for the LLM.
            logger.warning(
                "the LLM gave %d unusable answers in a row (last: %s); falling back to rules",
                self.streak,
                last,
            )
        if self.streak >= self.limit:
            raise LLMUnusableError(
                f"the LLM gave {self.streak} unusable answers in a row (last: {last}); "
                "the run stopped and keeps what it finished. "
                "Use a stronger model (COSCI_LLM_BASE_URL) and `cosci resume` the run"
            )
        return None

    def text(
        self, where: str, text: str | None, *, known_columns: tuple[str, ...] = ()
    ) -> str | None:
        """``text`` from the LLM if it passes the sanity filter (no URLs, no markup debris,
        no empty or meta answers, no unknown column names), else None; drops are counted
        and reported (``filtered_llm_texts``)."""
        if text is None:
            return None
        verdict = check_llm_text(text, known_columns=known_columns)
        if verdict.text is None:
            self.dropped.append(f"{where}: {verdict.reason}")
        return verdict.text

    def updates(self) -> dict[str, object]:
        """State updates recording this step's LLM outcome."""
        return {
            "filtered_llm_texts": self.dropped,
            "llm_failure_streak": self.streak,
            "llm_failures": self.failures,
            "spent_s": self.seconds,
            "llm_s_by_round": {self.round: self.seconds},
        }
