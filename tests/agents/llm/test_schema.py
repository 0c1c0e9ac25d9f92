"""Schema plumbing shared by the clients: parsing, clamping, bounding, the decoding grammar.

The grammar is checked with Python's ``re`` against documents pydantic itself writes, for
schemas shaped like the agents' (nested models, lists, Literal enums, bounded numbers).
"""

from __future__ import annotations

import enum
import json
import re
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from agents._schemas import evolution_draft_model, hypothesis_draft_model
from agents.llm import ChatMessage
from agents.llm._grammar import (
    MAX_ITEMS,
    MAX_STRING,
    SPACED,
    TERSE_LENGTH,
    bounded_json_schema,
    grammar_regex,
    max_document_chars,
)
from agents.llm._schema import (
    clamp_to_schema,
    describe_problem,
    extract_json_text,
    holds_json,
    parse_answer,
    with_json_instruction,
    with_schema_in_prompt,
)


class Strategy(enum.StrEnum):
    TPE = "tpe"
    RANDOM = "random"


class Space(BaseModel):
    name: str = Field(max_length=24)
    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)
    log: bool = False


class Proposal(BaseModel):
    title: str = Field(max_length=60)
    family: Literal["lightgbm", "random_forest", "logistic_regression"]
    strategy: Strategy
    max_depth: int = Field(ge=1, le=16)
    n_trials: int = Field(ge=1, le=5000)
    seed: int
    spaces: list[Space] = Field(max_length=3)
    keywords: list[str]
    notes: str | None = None
    parent: Space | None = None


EXAMPLE = Proposal(
    title="Boosted trees beat forests here",
    family="lightgbm",
    strategy=Strategy.TPE,
    max_depth=6,
    n_trials=200,
    seed=-7,
    spaces=[Space(name="learning_rate", low=0.01, high=0.3, log=True)],
    keywords=["boosting", "depth"],
    notes=None,
    parent=Space(name="subsample", low=0.5, high=1.0),
)


def test_grammar_accepts_documents_of_the_schema() -> None:
    regex = re.compile(grammar_regex(Proposal))
    assert regex.fullmatch(EXAMPLE.model_dump_json())
    spaced = json.dumps(EXAMPLE.model_dump(mode="json"), separators=(", ", ": "))
    # No whitespace by default (so separators are forced); one space where it is allowed.
    assert not regex.fullmatch(spaced)
    assert re.fullmatch(grammar_regex(Proposal, SPACED), spaced)
    without_optional = EXAMPLE.model_dump(mode="json", exclude={"notes", "parent"})
    assert regex.fullmatch(json.dumps(without_optional, separators=(",", ":")))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family", "svm"),  # not in the Literal
        ("strategy", "grid"),  # not in the Enum
        ("max_depth", 17),  # small range becomes an enum
        ("n_trials", 12345),  # five digits for a four-digit bound
        ("title", "x" * 61),  # declared max_length
        ("keywords", ["k"] * (MAX_ITEMS + 1)),  # default list bound
        ("keywords", ["x" * (MAX_STRING + 1)]),  # default string bound
        ("seed", 10**12),  # unbounded integers still get a digit limit
    ],
)
def test_grammar_rejects_what_would_let_a_small_model_wander(field: str, value: object) -> None:
    document = EXAMPLE.model_dump(mode="json") | {field: value}
    assert not re.fullmatch(grammar_regex(Proposal), json.dumps(document, separators=(",", ":")))


def test_grammar_bounds_floats_and_newlines() -> None:
    regex = grammar_regex(Space)
    assert re.fullmatch(regex, '{"name":"a","low":0.25,"high":1,"log":false}')
    assert not re.fullmatch(regex, '{"name":"a","low":0.123456789,"high":1,"log":false}')
    assert not re.fullmatch(regex, '{"name":"a","low":1e-3,"high":1,"log":false}')
    assert not re.fullmatch(regex, '{\n"name":"a","low":0.2,"high":1,"log":false}')


def test_bounded_schema_keeps_declared_bounds() -> None:
    bounded = bounded_json_schema(Proposal)
    props = bounded["properties"]
    assert props["title"]["maxLength"] == 60
    assert props["keywords"]["maxItems"] == MAX_ITEMS
    assert props["keywords"]["items"]["maxLength"] == MAX_STRING
    assert props["spaces"]["maxItems"] == 3
    assert props["max_depth"]["enum"] == list(range(1, 17))
    assert bounded["$defs"]["Space"]["properties"]["name"]["maxLength"] == 24


def test_the_embedded_grammar_keeps_commentary_short_and_the_schema_as_it_is() -> None:
    draft = hypothesis_draft_model(("family:a->b", "family:a->c"))
    assert draft.model_json_schema()["properties"]["rationale"]["maxLength"] == 200
    assert bounded_json_schema(draft)["properties"]["rationale"]["maxLength"] == TERSE_LENGTH
    regex = grammar_regex(draft)
    answer = '{"intervention":"family:a->b","rationale":"%s","expected_gain_points":2}'
    assert re.fullmatch(regex, answer % ("r" * TERSE_LENGTH))
    assert not re.fullmatch(regex, answer % ("r" * (TERSE_LENGTH + 1)))
    # A hypothesis statement is not commentary: it keeps its own cap.
    child = bounded_json_schema(evolution_draft_model("binary"))["properties"]
    assert child["statement"]["maxLength"] == 180
    assert child["rationale"]["maxLength"] == TERSE_LENGTH


def test_token_budget_covers_the_longest_document() -> None:
    longest = Proposal(
        title="t" * 60,
        family="logistic_regression",
        strategy=Strategy.RANDOM,
        max_depth=16,
        n_trials=5000,
        seed=-999_999_999,
        spaces=[Space(name="n" * 24, low=0.1234, high=0.5678, log=False)] * 3,
        keywords=["k" * MAX_STRING] * MAX_ITEMS,
        notes="n" * MAX_STRING,
        parent=Space(name="p" * 24, low=0.1, high=0.2),
    )
    # Measured with the optional spaces, the longest form the grammars allow.
    document = json.dumps(longest.model_dump(mode="json"), separators=(", ", ": "))
    assert re.fullmatch(grammar_regex(Proposal, SPACED), document)
    assert max_document_chars(bounded_json_schema(Proposal)) >= len(document)


def test_clamp_pulls_values_into_bounds() -> None:
    raw = EXAMPLE.model_dump(mode="json") | {
        "max_depth": 40,
        "n_trials": 0,
        "title": "y" * 80,
        "spaces": [{"name": "a", "low": -1, "high": 3.5, "log": True}] * 5,
        "parent": {"name": "b", "low": 2, "high": 0.5},
    }
    clamped = clamp_to_schema(raw, Proposal.model_json_schema())
    proposal = Proposal.model_validate(clamped)
    assert (proposal.max_depth, proposal.n_trials) == (16, 1)
    assert proposal.title == "y" * 60
    assert len(proposal.spaces) == 3
    assert (proposal.spaces[0].low, proposal.spaces[0].high) == (0.0, 1.0)
    assert proposal.parent is not None and proposal.parent.low == 1.0


def test_parse_answer_strips_fences_and_prose() -> None:
    text = f"Here you go:\n```json\n{EXAMPLE.model_dump_json()}\n```"
    assert parse_answer(Proposal, text) == EXAMPLE
    assert extract_json_text('Answer: {"a": 1} done') == '{"a": 1}'


def test_the_first_balanced_object_is_taken() -> None:
    assert extract_json_text('Sure: {"a": {"b": "}"}} and {not this}') == '{"a": {"b": "}"}}'
    assert extract_json_text('x {bad} then {"a": 1}') == '{"a": 1}'
    fenced = 'Here:\n```json\n{"a": 1}\n```\nHope {that} helps.'
    assert extract_json_text(fenced) == '{"a": 1}'
    assert extract_json_text('{"a": 1') == '{"a": 1'  # cut off: the parse error says where


def test_prose_holds_no_json() -> None:
    assert not holds_json("Hypothesis A is better, clearly.")
    assert holds_json('{"a": 1')  # cut off, but JSON: not a server ignoring the format
    assert holds_json('I think {"a": 1} fits.')
    assert holds_json('```json\n{"a": 1}\n```')


def test_schema_in_prompt_closes_the_last_user_turn() -> None:
    messages = with_schema_in_prompt(
        [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Go")],
        Space,
    )
    assert [m.role for m in messages] == ["system", "user"]
    assert '"low"' in messages[0].content
    assert messages[1].content.startswith("Go\n\n") and "one JSON object" in messages[1].content


def test_parse_answer_reports_problems_for_repair() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_answer(Space, '{"name": "a", "low": ')
    with pytest.raises(ValidationError) as info:
        parse_answer(Space, '{"name": "a", "low": 0.1}')
    assert "high: Field required" in describe_problem(info.value)


def test_json_instruction_joins_the_system_message() -> None:
    with_system = with_json_instruction(
        [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Go")],
        Space,
    )
    assert len(with_system) == 2
    assert with_system[0].content.startswith("Be brief.")
    assert '"low"' in with_system[0].content
    without = with_json_instruction([ChatMessage(role="user", content="Go")], Space)
    assert [m.role for m in without] == ["system", "user"]


class Review(BaseModel):
    """Shaped like the agents' drafts: Literal numbers, a list of Literals, min lengths."""

    score: Literal[1, 2, 3, 4, 5]
    narrowing: Literal[0.25, 0.5, 0.75]
    families: list[Literal["knn", "random_forest"]] = Field(min_length=1, max_length=3)
    critique: str = Field(min_length=5, max_length=50)
    strengths: list[str] = Field(max_length=2)


def test_grammar_handles_literal_numbers_and_minimum_lengths() -> None:
    regex = re.compile(grammar_regex(Review))
    good = Review(
        score=4, narrowing=0.5, families=["knn"], critique="too shallow", strengths=["fast"]
    )
    assert regex.fullmatch(good.model_dump_json())
    for bad in (
        {"score": 6},
        {"narrowing": 0.3},
        {"families": []},
        {"critique": "tiny"},
        {"strengths": [""]},  # free strings need one character: small models love ""
    ):
        document = good.model_dump(mode="json") | bad
        assert not regex.fullmatch(json.dumps(document, separators=(",", ":"))), bad
