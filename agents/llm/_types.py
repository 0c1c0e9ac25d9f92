"""The boundary every language model sits behind: messages in, a completion out."""

from __future__ import annotations

from typing import Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from agents.llm._errors import LLMError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ChatMessage(BaseModel):
    """One turn of a chat: who speaks and what they say."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class Completion(BaseModel):
    """What a model answered, with the cost of getting the answer."""

    model_config = ConfigDict(frozen=True)

    parsed: SerializeAsAny[BaseModel] | None = None
    """Validated instance of the requested schema; None when no schema was asked for."""
    text: str
    """Raw text the model produced (the JSON document when a schema was asked for)."""
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    latency_s: float = Field(default=0.0, ge=0)
    """Wall time of the whole call, retries and repair turns included."""
    model: str

    def parsed_as(self, schema: type[ModelT]) -> ModelT:
        """The parsed answer typed as ``schema``; an LLMError when it is something else."""
        if not isinstance(self.parsed, schema):
            got = type(self.parsed).__name__ if self.parsed is not None else "no parsed answer"
            raise LLMError(f"expected a {schema.__name__} from the model, got {got}")
        return self.parsed


@runtime_checkable
class LLMClient(Protocol):
    """Anything that can answer a chat, optionally as an instance of a pydantic model.

    ``role`` names the agent asking (for usage accounting and the call log);
    ``max_tokens`` caps the answer, None leaving the choice to the implementation.
    """

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion: ...
