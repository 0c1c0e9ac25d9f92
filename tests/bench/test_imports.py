"""Every name a bench script imports from the project exists: the scripts import most of
them inside functions, so a moved function would otherwise fail only when a benchmark
runs (bench/ is not run by the test suite)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
PROJECT = ("agents", "automl_backend", "cosci", "memory", "tools")


def _project_imports() -> list[tuple[str, str, str]]:
    """(script, module, name) of each ``from <project module> import name`` in bench/."""
    found = []
    for script in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.split(".")[0] in PROJECT
            ):
                found += [(script.name, node.module, alias.name) for alias in node.names]
    return found


IMPORTS = _project_imports()


def test_the_bench_scripts_import_from_the_project() -> None:
    assert len(IMPORTS) > 20
    assert ("agents.py", "cosci._results", "llm_usage") in IMPORTS


@pytest.mark.parametrize(("script", "module", "name"), IMPORTS)
def test_each_imported_name_exists(script: str, module: str, name: str) -> None:
    imported = importlib.import_module(module)
    assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), (
        f"bench/{script}: {module} has no {name}"
    )
