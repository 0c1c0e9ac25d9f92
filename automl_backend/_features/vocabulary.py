"""The feature-transform vocabulary: a closed, typed list of what a spec may ask for.

Each transform names columns of the data and a kind from a fixed list; nothing here
is code, so a spec written by a language model can only pick among these. Columns are
checked against the data when the spec meets it (:func:`check_features`), which also
enforces the limits on generated columns and memory.

Rules for awkward values (the same at fit and at predict time):
- ``log1p`` and ``sqrt`` keep the sign: ``sign(x) * log1p(|x|)``, ``sign(x) * sqrt(|x|)``.
- ``reciprocal`` of 0 and ``ratio`` by 0 are NaN; so is any result that overflows.
  NaN (also from missing inputs) is imputed by the pipeline's numeric imputer.
- Categories unseen in training (and missing values, which count as one category
  ``__missing__``) get frequency 0, group count 0, group mean/std NaN, and the
  training-fold target mean in target encoding.
- A date column's unparseable values are NaT, so their parts are NaN.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from automl_backend._errors import SpecError

MAX_GENERATED_COLUMNS = 200
"""At most this many generated columns per experiment."""
MAX_GENERATED_BYTES = 2 * 2**30
"""At most this much memory (float64 rows x generated columns) per experiment."""
MAX_POLYNOMIAL_COLUMNS = 6
MISSING_CATEGORY = "__missing__"

UnaryKind = Literal["log1p", "sqrt", "square", "reciprocal", "rank"]
BinaryKind = Literal["ratio", "product", "difference", "sum"]
DatePart = Literal["year", "month", "weekday", "hour", "days"]
RowStat = Literal["mean", "std", "missing"]
NUMERIC_KINDS = ("numeric", "boolean")


def _strict() -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True)


class Unary(BaseModel):
    """One numeric column through a fixed function; ``rank`` is its training quantile."""

    model_config = _strict()
    kind: UnaryKind
    column: str

    def names(self) -> list[str]:
        return [f"{self.kind}({self.column})"]


class Bins(BaseModel):
    """Quantile bin index (0..bins-1) of a numeric column, edges from training rows."""

    model_config = _strict()
    kind: Literal["bins"] = "bins"
    column: str
    bins: int = Field(default=5, ge=2, le=64)

    def names(self) -> list[str]:
        return [f"bins{self.bins}({self.column})"]


class Binary(BaseModel):
    """Two numeric columns combined: ``left / right``, ``*``, ``-`` or ``+``."""

    model_config = _strict()
    kind: BinaryKind
    left: str
    right: str

    def names(self) -> list[str]:
        return [f"{self.kind}({self.left},{self.right})"]


class GroupStat(BaseModel):
    """Mean, std or count of a numeric column within each category of ``by``."""

    model_config = _strict()
    kind: Literal["group"] = "group"
    column: str
    by: str
    stat: Literal["mean", "std", "count"] = "mean"

    def names(self) -> list[str]:
        return [f"{self.stat}({self.column}|{self.by})"]


class Frequency(BaseModel):
    """Share of training rows with the row's category."""

    model_config = _strict()
    kind: Literal["frequency"] = "frequency"
    column: str

    def names(self) -> list[str]:
        return [f"frequency({self.column})"]


class TargetEncoding(BaseModel):
    """Mean target per category, cross-fitted: training rows get out-of-fold means.

    Classification with k > 2 classes gives one column per class.
    """

    model_config = _strict()
    kind: Literal["target_encoding"] = "target_encoding"
    column: str
    folds: int = Field(default=5, ge=2, le=10)

    def names(self, n_classes: int = 0) -> list[str]:
        if n_classes > 2:
            return [f"target_encoding({self.column})[{k}]" for k in range(n_classes)]
        return [f"target_encoding({self.column})"]


class Polynomial(BaseModel):
    """Every degree-2 product (squares and pairs) of a few numeric columns."""

    model_config = _strict()
    kind: Literal["polynomial"] = "polynomial"
    columns: list[str] = Field(min_length=1, max_length=MAX_POLYNOMIAL_COLUMNS)

    def names(self) -> list[str]:
        cols = self.columns
        return [f"{a}*{b}" for i, a in enumerate(cols) for b in cols[i:]]


class Projection(BaseModel):
    """PCA or Gaussian random-projection components of numeric columns (all if None)."""

    model_config = _strict()
    kind: Literal["pca", "random_projection"]
    columns: list[str] | None = None
    components: int = Field(default=2, ge=1, le=50)

    def names(self) -> list[str]:
        return [f"{self.kind}_{i}" for i in range(self.components)]


class DateParts(BaseModel):
    """Parts of a date column; ``days`` counts days since 1970-01-01."""

    model_config = _strict()
    kind: Literal["date_parts"] = "date_parts"
    column: str
    parts: list[DatePart] = Field(
        default_factory=lambda: ["year", "month", "weekday", "hour", "days"], min_length=1
    )

    def names(self) -> list[str]:
        return [f"{part}({self.column})" for part in self.parts]


class RowStats(BaseModel):
    """Per-row statistics over numeric columns (all if None): mean, std, missing count."""

    model_config = _strict()
    kind: Literal["row_stats"] = "row_stats"
    columns: list[str] | None = None
    stats: list[RowStat] = Field(default_factory=lambda: ["mean", "std", "missing"], min_length=1)

    @field_validator("stats")
    @classmethod
    def _once(cls, stats: list[str]) -> list[str]:
        if len(set(stats)) != len(stats):
            raise ValueError(f"row_stats lists a statistic twice: {stats}")
        return stats

    def names(self) -> list[str]:
        return [f"row_{stat}" for stat in self.stats]


FeatureTransform = Annotated[
    Unary
    | Bins
    | Binary
    | GroupStat
    | Frequency
    | TargetEncoding
    | Polynomial
    | Projection
    | DateParts
    | RowStats,
    Field(discriminator="kind"),
]
"""One transform of the vocabulary, chosen by its ``kind``."""


def describe_transform(transform: FeatureTransform) -> str:
    """A short readable name, e.g. ``ratio(a,b)`` or ``pca_0..pca_2 of 5 columns``."""
    names = transform.names()
    if isinstance(transform, Projection):
        over = "all numeric columns" if transform.columns is None else ",".join(transform.columns)
        return f"{transform.kind}({transform.components} of {over})"
    if isinstance(transform, Polynomial):
        return f"polynomial({','.join(transform.columns)})"
    return names[0] if len(names) == 1 else f"{transform.kind}({names[0]}...)"


# ---------------------------------------------------------------- checks against data


def _columns_by_role(transform: FeatureTransform) -> list[tuple[str, str]]:
    """(column, role) pairs a transform reads; role: numeric, categorical or datetime."""
    if isinstance(transform, Unary | Bins):
        return [(transform.column, "numeric")]
    if isinstance(transform, Binary):
        return [(transform.left, "numeric"), (transform.right, "numeric")]
    if isinstance(transform, GroupStat):
        return [(transform.column, "numeric"), (transform.by, "categorical")]
    if isinstance(transform, Frequency | TargetEncoding):
        return [(transform.column, "categorical")]
    if isinstance(transform, DateParts):
        return [(transform.column, "datetime")]
    if isinstance(transform, Polynomial):
        return [(c, "numeric") for c in transform.columns]
    return [(c, "numeric") for c in transform.columns or []]


def _role_of(kind: str) -> str:
    return "numeric" if kind in NUMERIC_KINDS else kind


def _valid(column_types: dict[str, str], role: str) -> str:
    names = [c for c, k in column_types.items() if _role_of(k) == role]
    return ", ".join(names) if names else "(none)"


def resolved_columns(transform: FeatureTransform, column_types: dict[str, str]) -> list[str]:
    """The numeric columns a projection or row statistic reads (all when it names none)."""
    assert isinstance(transform, Projection | RowStats)
    if transform.columns is not None:
        return list(transform.columns)
    return [c for c, k in column_types.items() if k in NUMERIC_KINDS]


def output_width(transform: FeatureTransform, column_types: dict[str, str], n_classes: int) -> int:
    """How many columns ``transform`` adds on this data."""
    if isinstance(transform, TargetEncoding):
        return len(transform.names(n_classes))
    if isinstance(transform, Projection):
        return min(transform.components, len(resolved_columns(transform, column_types)))
    return len(transform.names())


def check_features(
    features: list[FeatureTransform],
    column_types: dict[str, str],
    *,
    n_rows: int,
    n_classes: int = 0,
) -> None:
    """Raise a one-line :class:`SpecError` unless every transform fits this data.

    Each named column must exist with the right type (the message lists the valid
    columns); generated columns must stay within :data:`MAX_GENERATED_COLUMNS` and
    :data:`MAX_GENERATED_BYTES`.
    """
    total = 0
    for i, transform in enumerate(features):
        where = f"features[{i}] ({transform.kind})"
        for column, role in _columns_by_role(transform):
            kind = column_types.get(column)
            if kind is None:
                raise SpecError(
                    f"{where}: no column {column!r} in the data; "
                    f"{role} columns: {_valid(column_types, role)}"
                )
            if _role_of(kind) != role:
                raise SpecError(
                    f"{where}: column {column!r} is {kind}, not {role}; "
                    f"{role} columns: {_valid(column_types, role)}"
                )
        if isinstance(transform, Projection | RowStats) and not resolved_columns(
            transform, column_types
        ):
            raise SpecError(f"{where}: the data has no numeric columns")
        if isinstance(transform, TargetEncoding) and n_classes == 1:
            raise SpecError(f"{where}: target encoding needs at least two classes")
        total += output_width(transform, column_types, n_classes)
    if total > MAX_GENERATED_COLUMNS:
        raise SpecError(
            f"features generate {total} columns; at most {MAX_GENERATED_COLUMNS} are allowed "
            "(use fewer transforms, fewer components or fewer polynomial columns)"
        )
    if total * n_rows * 8 > MAX_GENERATED_BYTES:
        raise SpecError(
            f"features generate {total} columns x {n_rows} rows "
            f"({total * n_rows * 8 / 2**30:.1f} GiB); at most "
            f"{MAX_GENERATED_BYTES / 2**30:.0f} GiB are allowed (use fewer transforms)"
        )
