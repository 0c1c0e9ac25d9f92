"""Tables handed to the Python API, as pandas at the boundary.

The backend works on pandas. A user may hold a pandas or a polars DataFrame (or a
pyarrow Table); each is converted once, here, and anything else is refused in one line
that says what is accepted.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from agents import CoScientistError
from automl_backend import table_as_pandas

ACCEPTED = "a pandas or polars DataFrame, a pyarrow Table"


def is_frame(data: Any) -> bool:
    """Whether ``data`` is a table object (not a path or a built-in data set name)."""
    return isinstance(data, pd.DataFrame) or _library(data) in ("polars", "pyarrow")


def as_pandas(data: Any, what: str = "data") -> pd.DataFrame:
    """``data`` as a pandas DataFrame; a CoScientistError for anything else."""
    frame = table_as_pandas(data)
    if frame is not None:
        return frame
    raise CoScientistError(
        f"{what} must be {ACCEPTED}, a CSV/Parquet path or a built-in name "
        f"(sklearn:NAME, keel:NAME); got {type(data).__module__}.{type(data).__name__}"
    )


def _library(data: Any) -> str:
    return type(data).__module__.split(".")[0]


__all__ = ["ACCEPTED", "as_pandas", "is_frame"]
