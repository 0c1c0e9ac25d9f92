"""Lazy package exports: names load from their private modules on first use.

Written once for the packages whose ``__init__`` must stay cheap to import (the CLI and
the agents import them; scikit-learn, Optuna and torch load only when something runs)::

    __getattr__, __dir__ = lazy_exports(__name__, {"AutoMLClassifier": "_estimators"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``exports``: name -> module in it.

    A loaded name is cached on the package, so each module is imported once.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
