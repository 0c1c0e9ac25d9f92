"""Prompt templates, one file per agent role (``prompts/<role>.md``), loaded by name.

A file holds the system message, a line ``=== user ===``, then the user message.
Placeholders are ``$name`` (string.Template), so JSON braces in a prompt need no escaping;
a missing value is a KeyError, never a silently empty prompt.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template

_SPLIT = "=== user ==="


@cache
def _load(role: str) -> tuple[Template, Template]:
    text = files(__package__).joinpath(f"{role}.md").read_text(encoding="utf-8")
    system, sep, user = text.partition(_SPLIT)
    if not sep:
        raise ValueError(f"prompts/{role}.md lacks the '{_SPLIT}' line")
    return Template(system.strip()), Template(user.strip())


def render(role: str, **values: object) -> tuple[str, str]:
    """(system, user) text of ``role``'s prompt with every placeholder filled."""
    system, user = _load(role)
    return system.substitute(values), user.substitute(values)


__all__ = ["render"]
