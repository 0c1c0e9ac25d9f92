"""NASSpec: the typed description of one architecture search (no torch in this module).

A spec names a search space (chain MLP for tables, cell CNN for small images), a search
strategy, the objectives and the budgets. Every choice is a finite list of allowed values
with hard limits, so an LLM or a person can only describe architectures that exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Activation = Literal["relu", "gelu", "tanh", "silu"]
Norm = Literal["none", "batch", "layer"]
CellOp = Literal["conv3x3", "conv5x5", "sep_conv3x3", "max_pool3x3", "avg_pool3x3", "skip", "zero"]
Strategy = Literal["random", "evolution", "rl", "tpe", "hyperband", "spos", "darts", "nsga2"]
Objective = Literal["accuracy", "latency", "params"]
AugmentOp = Literal["shift", "rotate", "noise", "cutout"]

CELL_OPS: tuple[str, ...] = (
    "conv3x3",
    "conv5x5",
    "sep_conv3x3",
    "max_pool3x3",
    "avg_pool3x3",
    "skip",
    "zero",
)
STRATEGIES: tuple[str, ...] = (
    "random",
    "evolution",
    "rl",
    "tpe",
    "hyperband",
    "spos",
    "darts",
    "nsga2",
)
AUGMENT_OPS: tuple[str, ...] = ("shift", "rotate", "noise", "cutout")
MAX_AUGMENT_OPS = 4
"""Most operations one image gets per batch (RandAugment's N)."""
MAX_MAGNITUDE = 10
"""Magnitudes run 0 (no change) to 10 (the strongest setting of each operation)."""
# Strategies that can trade accuracy against a second objective.
MULTI_OBJECTIVE_STRATEGIES: tuple[str, ...] = ("nsga2", "random")


def _choices(values: list, name: str, low: float, high: float) -> list:
    if not values:
        raise ValueError(f"{name} needs at least one choice")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has duplicate choices: {values}")
    bad = [v for v in values if not low <= v <= high]
    if bad:
        raise ValueError(f"{name} choices {bad} are outside [{low:g}, {high:g}]")
    return values


class _Space(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learning_rates: list[float] = [3e-3]
    weight_decays: list[float] = [1e-4]
    batch_sizes: list[int] = [64]
    max_params: int | None = Field(default=None, ge=1)
    """Constraint: architectures with more trainable parameters are never proposed."""

    @field_validator("learning_rates")
    @classmethod
    def _lr(cls, v: list[float]) -> list[float]:
        return _choices(v, "learning_rates", 1e-5, 1.0)

    @field_validator("weight_decays")
    @classmethod
    def _wd(cls, v: list[float]) -> list[float]:
        return _choices(v, "weight_decays", 0.0, 0.1)

    @field_validator("batch_sizes")
    @classmethod
    def _bs(cls, v: list[int]) -> list[int]:
        return _choices(v, "batch_sizes", 8, 1024)


class AugmentPolicy(BaseModel):
    """RandAugment-style augmentation of the cnn space's training batches (Cubuk et al. 2020).

    Each training image gets ``N`` operations drawn uniformly, with replacement, from
    ``ops``, all at magnitude ``M`` (0-10); the search picks N from ``n_ops`` and M from
    ``magnitudes`` like any other decision (N = 0: no augmentation). Validation, test
    and prediction rows are never augmented.
    """

    model_config = ConfigDict(extra="forbid")

    ops: list[AugmentOp] = list(AUGMENT_OPS)
    """shift (up to a quarter of the side at M=10), rotate (up to 30 degrees), noise
    (Gaussian, up to 0.5 standard deviations of the pixels), cutout (a zeroed square up
    to half the side)."""
    n_ops: list[int] = [0, 1, 2]
    magnitudes: list[int] = [3, 6, 9]

    @field_validator("ops")
    @classmethod
    def _ops(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError(
                f"augment.ops needs at least one operation and no duplicates, got {v} "
                f"(valid: {', '.join(AUGMENT_OPS)})"
            )
        return v

    @field_validator("n_ops")
    @classmethod
    def _n_ops(cls, v: list[int]) -> list[int]:
        return _choices(v, "augment.n_ops", 0, MAX_AUGMENT_OPS)

    @field_validator("magnitudes")
    @classmethod
    def _magnitudes(cls, v: list[int]) -> list[int]:
        return _choices(v, "augment.magnitudes", 0, MAX_MAGNITUDE)


def _refuse_other_kind(data: object, field: str, hint: str) -> object:
    if isinstance(data, dict) and field in data:
        raise ValueError(hint)
    return data


class MLPSpace(_Space):
    """Chain-structured MLP for tabular data: one decision per list below."""

    kind: Literal["mlp"] = "mlp"
    depths: list[int] = [1, 2, 3, 4]
    widths: list[int] = [32, 64, 128, 256]
    """Allowed widths; each layer picks its own."""
    activations: list[Activation] = ["relu", "gelu", "tanh", "silu"]
    norms: list[Norm] = ["none", "batch", "layer"]
    dropouts: list[float] = [0.0, 0.1, 0.3]
    residual: list[bool] = [False, True]
    learning_rates: list[float] = [1e-3, 3e-3, 1e-2]
    weight_decays: list[float] = [0.0, 1e-4, 1e-3]
    batch_sizes: list[int] = [32, 64, 128]
    mixup_alphas: list[float] = [0.0]
    """Mixup strengths to search (Zhang et al. 2018: each training batch is blended with
    a shuffled copy of itself, labels too, by a Beta(alpha, alpha) weight); 0 is off, and
    the default [0.0] leaves mixup out of the space."""

    @model_validator(mode="before")
    @classmethod
    def _no_augment(cls, data: object) -> object:
        return _refuse_other_kind(
            data, "augment", "augment (image augmentation) applies to the cnn space; "
            "the mlp space has mixup_alphas",
        )  # fmt: skip

    @field_validator("mixup_alphas")
    @classmethod
    def _mixup(cls, v: list[float]) -> list[float]:
        return _choices(v, "mixup_alphas", 0.0, 4.0)

    @field_validator("depths")
    @classmethod
    def _depths(cls, v: list[int]) -> list[int]:
        return _choices(v, "depths", 1, 8)

    @field_validator("widths")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        return _choices(v, "widths", 2, 2048)

    @field_validator("dropouts")
    @classmethod
    def _dropouts(cls, v: list[float]) -> list[float]:
        return _choices(v, "dropouts", 0.0, 0.9)

    @field_validator("activations", "norms", "residual")
    @classmethod
    def _nonempty(cls, v: list) -> list:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"needs at least one choice and no duplicates, got {v}")
        return v


class CellSpace(_Space):
    """Cell-based CNN for small images: a normal and a reduction cell, stacked.

    Each cell is a DAG with ``nodes`` intermediate nodes; node j reads every earlier
    state (the two cell inputs and nodes 0..j-1) through one edge each, and every edge
    picks one operation. The cell's output concatenates its intermediate nodes.
    """

    kind: Literal["cnn"] = "cnn"
    operations: list[CellOp] = list(CELL_OPS)
    nodes: int = Field(default=3, ge=1, le=4)
    channels: list[int] = [8, 16]
    normal_cells: list[int] = [1, 2]
    """Normal cells in each stage (a stage ends with a reduction cell, except the last)."""
    reductions: int = Field(default=1, ge=0, le=3)
    learning_rates: list[float] = [5e-3]
    weight_decays: list[float] = [3e-4]
    batch_sizes: list[int] = [64]
    max_skips: int = Field(default=2, ge=0, le=8)
    """DARTS collapse guard: most skip edges allowed in a discretised normal cell."""
    augment: AugmentPolicy | None = None
    """Searched augmentation of the training batches; None (the default) trains on the
    images as they are."""

    @model_validator(mode="before")
    @classmethod
    def _no_mixup(cls, data: object) -> object:
        return _refuse_other_kind(
            data, "mixup_alphas", "mixup_alphas applies to the mlp space; "
            "the cnn space has augment (shift, rotate, noise, cutout)",
        )  # fmt: skip

    @field_validator("operations")
    @classmethod
    def _ops(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"operations has duplicates: {v}")
        if not [op for op in v if op != "zero"]:
            raise ValueError(
                "the space has no valid architecture: every cell node needs at least one "
                f"operation other than 'zero' (valid operations: {', '.join(CELL_OPS)})"
            )
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: list[int]) -> list[int]:
        return _choices(v, "channels", 2, 256)

    @field_validator("normal_cells")
    @classmethod
    def _normal_cells(cls, v: list[int]) -> list[int]:
        return _choices(v, "normal_cells", 1, 4)


SearchSpaceConfig = Annotated[MLPSpace | CellSpace, Field(discriminator="kind")]


class NASSpec(BaseModel):
    """One neural architecture search: space, strategy, objectives and budgets."""

    model_config = ConfigDict(extra="forbid")

    space: SearchSpaceConfig = Field(default_factory=MLPSpace)
    strategy: Strategy = "evolution"
    objectives: list[Objective] = ["accuracy"]
    """First is always accuracy; a second (latency in ms on the CPU, or parameter count)
    makes the search multi-objective and the result a Pareto front."""
    image_shape: tuple[int, int, int] | None = None
    """(channels, height, width) of each row for the cnn space, e.g. (1, 8, 8) for digits;
    None infers a square one-channel image from the number of features."""
    time_budget_s: float | None = Field(default=120.0, gt=0, le=7 * 24 * 3600)
    max_trials: int | None = Field(default=None, ge=1, le=100_000)
    """Most architectures trained in a multi-trial search (None: until the time is up)."""
    epochs_per_trial: int = Field(default=4, ge=1, le=1000)
    """Training epochs of each candidate (Hyperband's largest rung; SPOS/DARTS search epochs)."""
    final_epochs: int = Field(default=30, ge=1, le=10_000)
    """Most epochs to retrain the winner on all training rows (fewer if time runs out)."""
    search_fraction: float = Field(default=0.6, gt=0.0, lt=1.0)
    """Share of the time budget for searching; the rest retrains the winner."""
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    fidelity_rungs: int = Field(default=3, ge=1, le=6)
    """Evolution and TPE: score new candidates first at cheap fidelities (one epoch, part
    of the rows) and retrain the best third at each next rung up to epochs_per_trial on
    every row (asynchronous successive halving); 1 trains every candidate in full."""
    population_size: int = Field(default=10, ge=2, le=1000)
    """Evolution / NSGA-II population; SPOS evolutionary sub-network search population."""
    fine_tune: bool = True
    """Start the winner's final training from its searched weights (the trained candidate,
    or the SPOS supernet's inherited weights) instead of from scratch."""
    seed: int = 0
    n_threads: int = Field(default=1, ge=1, le=256)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: list[str]) -> list[str]:
        if not v or v[0] != "accuracy":
            raise ValueError("objectives must start with 'accuracy', e.g. accuracy,latency")
        if len(set(v)) != len(v) or len(v) > 2:
            raise ValueError("objectives: accuracy plus at most one of latency, params")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> NASSpec:
        multi = len(self.objectives) > 1
        if multi and self.strategy not in MULTI_OBJECTIVE_STRATEGIES:
            raise ValueError(
                f"strategy '{self.strategy}' optimises accuracy alone; with objectives "
                f"{','.join(self.objectives)} use strategy nsga2 (or random)"
            )
        if self.strategy == "nsga2" and not multi:
            raise ValueError("strategy nsga2 needs two objectives, e.g. accuracy,latency")
        if self.strategy == "darts" and self.space.kind != "cnn":
            raise ValueError("strategy darts searches cells: use the cnn space")
        if self.image_shape is not None:
            if self.space.kind != "cnn":
                raise ValueError("image_shape only applies to the cnn space")
            if min(self.image_shape) < 1:
                raise ValueError(f"image_shape must be positive, got {self.image_shape}")
        if self.time_budget_s is None and self.max_trials is None:
            raise ValueError("set time_budget_s or max_trials (or both)")
        return self


def _error_line(exc: Exception, source: str) -> str:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return f"{source}: {exc}"
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return f"{source}: " + "; ".join(parts)


def parse_nas_spec(data: dict, source: str = "NAS spec") -> NASSpec:
    """Validate a NAS spec; problems become one NASError line naming the field."""
    from pydantic import ValidationError

    from automl_backend.nas._errors import NASError

    try:
        return NASSpec.model_validate(data)
    except ValidationError as exc:
        raise NASError(_error_line(exc, source)) from None


DEFAULT_MIXUP_ALPHAS: list[float] = [0.0, 0.2, 0.4]
"""What ``with_augmentation`` lets the search choose from for the mlp space (0: off)."""


def with_augmentation(space: dict) -> dict:
    """The space searching its kind's augmentation too (cnn: the default RandAugment-style
    policy; mlp: mixup alphas ``DEFAULT_MIXUP_ALPHAS``); settings it already has stay."""
    if space.get("kind", "mlp") == "cnn":
        return space if space.get("augment") is not None else {**space, "augment": {}}
    if "mixup_alphas" in space:
        return space
    return {**space, "mixup_alphas": list(DEFAULT_MIXUP_ALPHAS)}


def load_space(value: str) -> dict:
    """'mlp', 'cnn', or a YAML/JSON file holding a space (or a whole NAS spec with 'space')."""
    from pathlib import Path

    from automl_backend.nas._errors import NASError

    if value in ("mlp", "cnn"):
        return {"kind": value}
    path = Path(value)
    if not path.is_file():
        raise NASError(f"--space must be mlp, cnn or a YAML/JSON file; {value!r} is neither")
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise NASError(f"cannot read space file {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise NASError(f"space file {path} must hold a mapping (kind: mlp|cnn, ...)")
    return data
