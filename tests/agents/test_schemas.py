"""The LLM-facing schemas: closed choices from the registry, small and flat."""

import json

import pytest
from pydantic import ValidationError

from agents._schemas import evolution_draft_model, hypothesis_draft_model, plan_draft_model
from automl_backend import family_names


def _enum(schema: dict, field: str) -> list:
    node = schema["properties"][field]
    node = node.get("items", node)
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node["enum"]


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_family_enums_are_exactly_the_registry_for_the_task(task: str) -> None:
    schema = hypothesis_draft_model(task).model_json_schema()
    assert _enum(schema, "families") == family_names(task)
    assert _enum(evolution_draft_model(task).model_json_schema(), "new_family") == family_names(
        task
    )


def test_plan_metrics_fit_the_task() -> None:
    assert set(_enum(plan_draft_model("regression").model_json_schema(), "metric")) == {
        "rmse",
        "mae",
        "r2",
    }
    assert "rmse" not in _enum(plan_draft_model("binary").model_json_schema(), "metric")


def test_schemas_are_flat_and_every_string_and_list_is_bounded() -> None:
    schema = hypothesis_draft_model("binary", ("L1", "L2")).model_json_schema()
    for name, node in schema["properties"].items():
        if node.get("type") == "string":
            assert "maxLength" in node or "enum" in node, name
        if node.get("type") == "array":
            assert "maxItems" in node, name
    assert _enum(schema, "cites") == ["L1", "L2"]
    assert len(json.dumps(schema)) < 2000  # small enough for a 135M model's prompt


def test_a_draft_naming_an_unknown_family_does_not_validate() -> None:
    model = hypothesis_draft_model("binary")
    good = {
        "statement": "A tuned logistic model wins here.",
        "rationale": "Linear data.",
        "families": ["logistic"],
        "scaling": "auto",
        "feature_selection": "none",
        "expected_gain_points": 1,
    }
    assert model.model_validate(good)
    with pytest.raises(ValidationError):
        model.model_validate({**good, "families": ["xgboost"]})
    with pytest.raises(ValidationError):
        model.model_validate({**good, "expected_gain_points": 4})
