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
    assert _enum(evolution_draft_model(task).model_json_schema(), "new_family") == family_names(
        task
    )


def test_the_plan_picks_its_question_and_factors_from_closed_lists() -> None:
    schema = plan_draft_model("binary").model_json_schema()
    assert _enum(schema, "question") == ["best", "effect", "constrained", "why"]
    assert "scaling" in _enum(schema, "factors") and "family" in _enum(schema, "factors")


def test_plan_metrics_fit_the_task() -> None:
    assert set(_enum(plan_draft_model("regression").model_json_schema(), "metric")) == {
        "rmse",
        "mae",
        "r2",
    }
    assert "rmse" not in _enum(plan_draft_model("binary").model_json_schema(), "metric")


def test_schemas_are_flat_and_every_string_and_list_is_bounded() -> None:
    keys = ("scaling:knn:none->standard", "family:knn->logistic")
    schema = hypothesis_draft_model(keys, ("L1", "L2")).model_json_schema()
    for name, node in schema["properties"].items():
        if node.get("type") == "string":
            assert "maxLength" in node or "enum" in node, name
        if node.get("type") == "array":
            assert "maxItems" in node, name
    assert _enum(schema, "cites") == ["L1", "L2"]
    assert _enum(schema, "intervention") == list(keys)
    assert len(json.dumps(schema)) < 2000  # small enough for a 135M model's prompt


def test_a_draft_naming_an_intervention_not_offered_does_not_validate() -> None:
    model = hypothesis_draft_model(("scaling:knn:none->standard", "family:knn->logistic"))
    good = {
        "intervention": "scaling:knn:none->standard",
        "rationale": "kNN distances are dominated by the widest feature.",
        "expected_gain_points": 2,
    }
    assert model.model_validate(good)
    with pytest.raises(ValidationError):
        model.model_validate({**good, "intervention": "family:knn->xgboost"})
    with pytest.raises(ValidationError):
        model.model_validate({**good, "expected_gain_points": 4})
