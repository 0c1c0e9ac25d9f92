"""The grammar the embedded model decodes under: a regex built from the pydantic schema.

A 135M-parameter model gets JSON structure right only when the grammar leaves it no room
to wander: it degenerates into endless strings or digits ("1.1.1.1...") and runs out of
tokens mid-document. So every string, list and number is given a length here before the
schema is compiled to a regex, and the token budget is derived from the longest document
the regex admits, so generation always ends inside the grammar.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from agents.llm._schema import schema_json

WHITESPACE = ""
"""No space between JSON tokens: free whitespace invites runs of newlines, and even an
optional space leaves the next byte unforced, so the decoder cannot fast-forward the keys
and separators (``{"name":"`` becomes one forced run without it)."""
SPACED = r"[ ]?"
"""At most one space between JSON tokens (the grammar before fast-forwarding)."""

MAX_STRING = 160
MAX_ITEMS = 5
MAX_INT_DIGITS = 9
MAX_FRACTION_DIGITS = 4
SMALL_INT_RANGE = 64
"""Integer fields with at most this many allowed values become an enum of those values."""
TERSE_FIELDS = frozenset({"rationale", "critique", "reason", "argument", "advice"})
TERSE_LENGTH = 100
"""By default the embedded model's commentary fields end at this many characters, below
their schemas' 200 (``LocalLLM(terse_length=...)`` changes it). Decoding is what a
round's LLM time goes on (about 50 ms per answer token with float32 layers, against next
to nothing per cached prompt token, fitted over one run's 22 calls), and the small model
runs every rationale to its cap with rambling text. The schemas stay as
they are, so endpoints keep the longer cap and recorded runs still replay."""

# outlines_core writes these for unbounded numbers; its digit-count keywords are unreliable
# for one-digit limits, so the generic forms are rewritten after compilation instead.
_ANY_FRACTION_AND_EXPONENT = r"(\.[0-9]+)?([eE][+-][0-9]+)?"
_ANY_INTEGER_DIGITS = r"[1-9][0-9]*"


def bounded_json_schema(
    schema: type[BaseModel],
    *,
    max_string: int = MAX_STRING,
    max_items: int = MAX_ITEMS,
    terse_length: int = TERSE_LENGTH,
) -> dict[str, Any]:
    """The model's JSON schema with a cap on every string, list and integer that lacks one.

    Bounds declared on the pydantic model are kept; small integer ranges become enums, so
    the grammar itself keeps them in range.
    """
    document = json.loads(json.dumps(schema_json(schema)))

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(child) for child in node]
        if not isinstance(node, dict):
            return node
        node = {key: visit(value) for key, value in node.items()}
        kind = node.get("type")
        constrained = {"enum", "const", "pattern", "format"} & node.keys()
        if kind == "string" and not constrained:
            # An empty string is the cheapest way through the grammar, and a small model
            # takes it for every free-text field unless one character is required.
            node.setdefault("minLength", 1)
            node.setdefault("maxLength", max(max_string, node["minLength"]))
        elif kind == "array" and "maxItems" not in node:
            node["maxItems"] = max(max_items, node.get("minItems", 0))
        elif kind == "integer" and not constrained:
            node = _bounded_integer(node)
        for name, field in node.get("properties", {}).items():
            if name in TERSE_FIELDS and isinstance(field, dict) and "maxLength" in field:
                field["maxLength"] = max(min(field["maxLength"], terse_length),
                                         field.get("minLength", 0))  # fmt: skip
        return node

    bounded = visit({key: value for key, value in document.items() if key != "$defs"})
    if "$defs" in document:
        bounded["$defs"] = {name: visit(sub) for name, sub in document["$defs"].items()}
    return bounded


def _bounded_integer(node: dict[str, Any]) -> dict[str, Any]:
    low = node.get("minimum")
    if "exclusiveMinimum" in node:
        low = int(node["exclusiveMinimum"]) + 1
    high = node.get("maximum")
    if "exclusiveMaximum" in node:
        high = int(node["exclusiveMaximum"]) - 1
    if low is not None and high is not None and 0 <= high - low < SMALL_INT_RANGE:
        keep = {k: v for k, v in node.items() if k in ("title", "description", "default")}
        return {**keep, "enum": list(range(int(low), int(high) + 1))}
    digits = MAX_INT_DIGITS
    if low is not None and high is not None:
        digits = min(digits, len(str(max(abs(int(low)), abs(int(high))))))
    return {**node, "minDigits": 1, "maxDigits": max(2, digits)}


def grammar_regex(schema: type[BaseModel], whitespace: str = WHITESPACE,
                  terse_length: int = TERSE_LENGTH) -> str:  # fmt: skip
    """The regex every answer for ``schema`` must match, numbers bounded in length, with
    ``whitespace`` (a regex) allowed between JSON tokens and commentary fields ending at
    ``terse_length`` characters."""
    from outlines_core.json_schema import build_regex_from_schema

    bounded = bounded_json_schema(schema, terse_length=terse_length)
    regex = build_regex_from_schema(json.dumps(bounded), whitespace)
    regex = regex.replace(_ANY_FRACTION_AND_EXPONENT, rf"(\.[0-9]{{1,{MAX_FRACTION_DIGITS}}})?")
    return regex.replace(_ANY_INTEGER_DIGITS, rf"[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}}")


def max_document_chars(bounded: dict[str, Any]) -> int:
    """Upper bound on the length of any document the bounded schema admits.

    Every token is at least one character, so this also bounds the tokens needed to finish.
    """
    defs = bounded.get("$defs", {})
    gap = len(" ") * 2  # optional space on either side of a separator

    def size(node: dict[str, Any], depth: int) -> int:
        if depth > 12:  # recursive models: the grammar nests too, but not this deep in practice
            return 0
        if "$ref" in node:
            return size(defs[node["$ref"].rsplit("/", 1)[-1]], depth + 1)
        if "enum" in node or "const" in node:
            values = node.get("enum", [node.get("const")])
            return max(len(json.dumps(v)) for v in values)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in node:
                return max(size(branch, depth + 1) for branch in node[key])
        kind = node.get("type")
        if kind == "string":
            return 2 + 2 * node.get("maxLength", MAX_STRING)  # escapes take two characters
        if kind == "integer":
            return 1 + node.get("maxDigits", MAX_INT_DIGITS)
        if kind == "number":
            return 2 + MAX_INT_DIGITS + MAX_FRACTION_DIGITS
        if kind == "boolean":
            return 5
        if kind == "null":
            return 4
        if kind == "array":
            items = node.get("items", {})
            item = size(items, depth + 1) if isinstance(items, dict) and items else 16
            return 2 + node.get("maxItems", MAX_ITEMS) * (item + 1 + gap)
        if "properties" in node:
            fields = sum(
                len(json.dumps(name)) + 2 + 2 * gap + size(sub, depth + 1)
                for name, sub in node["properties"].items()
            )
            return 2 + gap + fields
        return 256  # free-form value: generous, the grammar still bounds it

    return size(bounded, 0)
