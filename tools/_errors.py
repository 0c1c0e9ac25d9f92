"""Errors of the agent tools meant for people."""

from __future__ import annotations


class ToolError(Exception):
    """A tool cannot do what was asked (bad replay log, unusable data)."""

    user_facing = True
