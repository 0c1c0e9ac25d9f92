"""Registry-derived pydantic types and JSON schemas for LLM-facing structured output.

``ModelSpace`` accepts any distribution and checks it in a validator; a language
model cannot see such checks. The types built here put the registry *into* the
schema: family names and hyperparameter names are enums/fields, numeric bounds are
``minimum``/``maximum``, categorical choices are enums. Anything an LLM produces
under this schema converts losslessly into a valid :class:`ModelSpace`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from automl_backend._registry import HyperParameter, family_info, family_names, hyperparameters


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _distribution_type(family: str, name: str, hp: HyperParameter) -> Any:
    prefix = f"{_camel(family)}{_camel(name)}"
    config = ConfigDict(extra="forbid")
    if hp.kind == "categorical":
        choice = Literal[hp.choices]  # type: ignore[valid-type]
        return create_model(
            f"{prefix}Choice",
            __config__=config,
            type=(Literal["categorical"], ...),
            choices=(list[choice], Field(min_length=1)),  # type: ignore[valid-type]
        )
    number: Any = int if hp.kind == "int" else float
    bounds = {"ge": hp.low, "le": hp.high}
    ranged = create_model(
        f"{prefix}Range",
        __config__=config,
        type=(Literal[hp.kind], ...),
        low=(number, Field(**bounds)),
        high=(number, Field(**bounds)),
        log=(bool, False),
    )
    fixed = create_model(
        f"{prefix}Choice",
        __config__=config,
        type=(Literal["categorical"], ...),
        choices=(list[Annotated[number, Field(**bounds)]], Field(min_length=1)),
    )
    return Annotated[Union[ranged, fixed], Field(discriminator="type")]  # noqa: UP007


@cache
def _space_type(family: str, task: str | None) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, hp in hyperparameters(family, task).items():
        kind = _distribution_type(family, name, hp)
        description = f"{hp.help + '; ' if hp.help else ''}limits: {hp.limits_text()}"
        fields[name] = (Optional[kind], Field(default=None, description=description))  # noqa: UP045
    params = create_model(
        f"{_camel(family)}Params", __config__=ConfigDict(extra="forbid"), **fields
    )
    return create_model(
        f"{_camel(family)}Space",
        __config__=ConfigDict(extra="forbid"),
        __doc__=family_info(family).description,
        family=(Literal[family], ...),
        params=(params, Field(default_factory=params)),
    )


def model_space_type(task: str | None = None) -> Any:
    """A discriminated union (on ``family``) of per-family space models for ``task``.

    Use it as a field type in an LLM output model; turn an instance into a
    :class:`ModelSpace` with ``ModelSpace.model_validate(obj.model_dump(exclude_none=True))``.
    """
    members = tuple(_space_type(f, task) for f in family_names(task))
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="family")]  # type: ignore[valid-type]  # noqa: UP007


def registry_json_schema(task: str | None = None) -> dict[str, Any]:
    """JSON schema of one model-space entry whose enums are exactly the registry.

    ``task`` (binary, multiclass, regression) keeps only the families and
    hyperparameters that apply to it.
    """
    return TypeAdapter(model_space_type(task)).json_schema()
