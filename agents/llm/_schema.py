"""Schema helpers shared by every client: the JSON instruction, parsing and clamping.

All of them work on the JSON schema pydantic derives from the model, so any agent schema
(nested models, lists, Literal enums, bounded numbers, optional fields) is handled the same
way, and no schema is ever written by hand.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.llm._types import ChatMessage

JSON_ONLY = "Answer with one JSON object only: no prose, no code fences."

_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


def schema_json(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema pydantic derives for ``schema`` (validation mode)."""
    return schema.model_json_schema()


def with_json_instruction(
    messages: list[ChatMessage], schema: type[BaseModel], *, include_schema: bool = True
) -> list[ChatMessage]:
    """Messages with a JSON-only instruction folded into the (first) system message."""
    instruction = JSON_ONLY
    if include_schema:
        compact = json.dumps(schema_json(schema), separators=(",", ":"))
        instruction += f" It must match this JSON schema: {compact}"
    if messages and messages[0].role == "system":
        first = ChatMessage(role="system", content=f"{messages[0].content}\n\n{instruction}")
        return [first, *messages[1:]]
    return [ChatMessage(role="system", content=instruction), *messages]


def with_schema_in_prompt(
    messages: list[ChatMessage], schema: type[BaseModel]
) -> list[ChatMessage]:
    """Messages for a server that enforces nothing: the schema in the system message, and a
    reminder closing the last user turn, where even a weak model still reads it."""
    conversation = with_json_instruction(messages, schema)
    reminder = f"{JSON_ONLY} Start with {{ and follow the JSON schema given above."
    if conversation[-1].role == "user":
        last = ChatMessage(role="user", content=f"{conversation[-1].content}\n\n{reminder}")
        return [*conversation[:-1], last]
    return [*conversation, ChatMessage(role="user", content=reminder)]


def _first_object(text: str) -> str | None:
    """The first balanced ``{...}`` block of ``text`` that parses as a JSON object."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict):
                return text[start:end]
        start = text.find("{", start + 1)
    return None


def _unfenced(text: str) -> str:
    """The inside of the first code fence holding a JSON object, else the text itself."""
    fenced = _FENCE.search(text)
    if fenced and _first_object(fenced.group(1)) is not None:
        return fenced.group(1).strip()
    return text


def extract_json_text(text: str) -> str:
    """The JSON document inside an answer: code fences and surrounding prose stripped.

    The first balanced ``{...}`` block that parses wins, so prose after the object (even
    prose holding braces) does no harm. With no such block, the text from the first ``{``
    is returned, so the parse error shown to the model points into its own object.
    """
    stripped = _unfenced(text.strip())
    found = _first_object(stripped)
    if found is not None:
        return found
    start = stripped.find("{")
    return stripped[start:] if start >= 0 else stripped


def holds_json(text: str) -> bool:
    """Whether ``text`` is, or contains, a JSON object (a cut-off one counts).

    A server that honours ``response_format`` starts its answer with ``{``; prose with no
    object in it means the format was ignored.
    """
    stripped = text.strip().removeprefix("```json").removeprefix("```").lstrip()
    return stripped.startswith("{") or _first_object(stripped) is not None


def parse_answer(schema: type[BaseModel], text: str) -> BaseModel:
    """Parse and validate an answer; numbers outside the schema's bounds are clamped first.

    Raises ``ValueError`` (``ValidationError`` is one) with a message fit to show the model.
    """
    document = extract_json_text(text)
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    clamped = clamp_to_schema(data, schema_json(schema))
    return schema.model_validate(clamped)


def describe_problem(exc: Exception, limit: int = 600) -> str:
    """A short description of why an answer was rejected, to feed back to the model."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()[:8]
        ]
        message = "; ".join(parts)
    else:
        message = str(exc)
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"].rsplit("/", 1)[-1]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**defs[ref], **siblings}
    if "allOf" in node and len(node["allOf"]) == 1:
        siblings = {k: v for k, v in node.items() if k != "allOf"}
        node = {**_resolve(node["allOf"][0], defs), **siblings}
    return node


def _json_type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "unknown"


def _branch_for(value: Any, branches: list[dict[str, Any]], defs: dict[str, Any]) -> dict | None:
    kind = _json_type_of(value)
    for branch in branches:
        resolved = _resolve(branch, defs)
        branch_type = resolved.get("type")
        if branch_type == kind or (branch_type == "number" and kind == "integer"):
            return resolved
        if kind == "object" and "properties" in resolved:
            return resolved
    return None


def clamp_to_schema(value: Any, schema: dict[str, Any]) -> Any:
    """Pull numbers into their bounds and cut strings and lists to their maximum length.

    A weak model often gets the shape right and a bound wrong (``"max_depth": 40`` for a
    limit of 16); clamping keeps such an answer instead of failing the whole call.
    """
    return _clamp(value, schema, schema.get("$defs", {}))


def _clamp(value: Any, node: dict[str, Any], defs: dict[str, Any]) -> Any:
    node = _resolve(node, defs)
    if "anyOf" in node or "oneOf" in node:
        branch = _branch_for(value, node.get("anyOf") or node.get("oneOf"), defs)
        return value if branch is None else _clamp(value, branch, defs)
    kind = node.get("type")
    if kind in ("integer", "number") and _json_type_of(value) in ("integer", "number"):
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        if "minimum" in node:
            value = max(value, node["minimum"])
        if "maximum" in node:
            value = min(value, node["maximum"])
        if kind == "integer" and isinstance(value, int):
            if "exclusiveMinimum" in node:
                value = max(value, int(node["exclusiveMinimum"]) + 1)
            if "exclusiveMaximum" in node:
                value = min(value, int(node["exclusiveMaximum"]) - 1)
        return value
    if kind == "string" and isinstance(value, str) and "maxLength" in node:
        return value[: node["maxLength"]]
    if kind == "array" and isinstance(value, list):
        if "maxItems" in node:
            value = value[: node["maxItems"]]
        items = node.get("items")
        return [_clamp(v, items, defs) for v in value] if isinstance(items, dict) else value
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        return {k: _clamp(v, props[k], defs) if k in props else v for k, v in value.items()}
    return value
