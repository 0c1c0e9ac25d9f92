"""Feed the backend's loaded data sets (``Dataset``) to NAS.

The loader drops constant columns, which is right for tables but wrong for images: the
always-blank border pixels of sklearn digits are part of the 8×8 grid. For the cnn space
they are put back, with their constant value, in the data set's natural column order.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pandas as pd

from automl_backend.nas._errors import NASError

_CONSTANT = re.compile(r"^constant \(single value (.+)\)$")


def _number(text: str, column: str) -> float:
    """The value of a repr such as ``0.0`` or ``np.float64(0.0)``."""
    inner = re.fullmatch(r"\w+(?:\.\w+)*\((.*)\)", text)
    try:
        return float(ast.literal_eval(inner.group(1) if inner else text))
    except (ValueError, SyntaxError, TypeError):
        raise NASError(f"pixel column {column!r} is constant and not numeric") from None


def _natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(name))]


def nas_features(dataset: Any, space_kind: str) -> pd.DataFrame:
    """The feature table NAS should see for ``dataset`` (a backend ``Dataset``)."""
    X: pd.DataFrame = dataset.X
    if space_kind != "cnn" or not getattr(dataset, "dropped", None):
        return X
    restored: dict[str, Any] = {}
    for column, reason in dataset.dropped.items():
        match = _CONSTANT.match(reason)
        if match is None:
            raise NASError(
                f"the loader dropped column {column!r} ({reason}); the cnn space "
                "needs every pixel column"
            )
        restored[column] = _number(match.group(1), column)
    kept = [str(c) for c in X.columns]
    if kept != sorted(kept, key=_natural_key):
        raise NASError(
            "the loader dropped constant columns and the pixel columns are not in a natural "
            f"order to put them back ({', '.join(list(restored)[:3])}...)"
        )
    full = X.assign(**{c: v for c, v in restored.items()})
    return full[sorted(full.columns, key=_natural_key)]
