"""Search spaces as lists of categorical decisions (no torch in this module).

Every strategy sees a space the same way: a genome is one choice index per decision.
The space decodes a genome into an architecture (a plain JSON-able dict the model
builders understand), says which genomes are valid, and samples and mutates them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl_backend.nas._errors import NASError
from automl_backend.nas._spec import CellSpace, MLPSpace

Genome = tuple[int, ...]
Architecture = dict[str, Any]

_MAX_SAMPLING_TRIES = 2000


@dataclass(frozen=True)
class Decision:
    """One categorical choice of the space."""

    name: str
    choices: tuple[Any, ...]


def cell_edges(nodes: int) -> list[tuple[int, int]]:
    """(node, input) pairs: node j reads the two cell inputs and nodes 0..j-1."""
    return [(j, i) for j in range(nodes) for i in range(j + 2)]


def _mlp_decisions(cfg: MLPSpace) -> list[Decision]:
    out = [Decision("depth", tuple(cfg.depths))]
    out += [Decision(f"width_{i}", tuple(cfg.widths)) for i in range(max(cfg.depths))]
    out += [
        Decision("activation", tuple(cfg.activations)),
        Decision("norm", tuple(cfg.norms)),
        Decision("dropout", tuple(cfg.dropouts)),
        Decision("residual", tuple(cfg.residual)),
    ]
    if cfg.mixup_alphas != [0.0]:  # the default leaves the genome as it always was
        out.append(Decision("mixup", tuple(cfg.mixup_alphas)))
    return out + _training_decisions(cfg)


def _cnn_decisions(cfg: CellSpace) -> list[Decision]:
    n_edges = len(cell_edges(cfg.nodes))
    ops = tuple(cfg.operations)
    out = [Decision(f"normal_{k}", ops) for k in range(n_edges)]
    if cfg.reductions > 0:
        out += [Decision(f"reduce_{k}", ops) for k in range(n_edges)]
    out += [
        Decision("channels", tuple(cfg.channels)),
        Decision("normal_cells", tuple(cfg.normal_cells)),
    ]
    if cfg.augment is not None:
        out += [
            Decision("augment_n", tuple(cfg.augment.n_ops)),
            Decision("augment_m", tuple(cfg.augment.magnitudes)),
        ]
    return out + _training_decisions(cfg)


def _training_decisions(cfg: MLPSpace | CellSpace) -> list[Decision]:
    return [
        Decision("lr", tuple(cfg.learning_rates)),
        Decision("weight_decay", tuple(cfg.weight_decays)),
        Decision("batch_size", tuple(cfg.batch_sizes)),
    ]


class SearchSpace:
    """Decisions of one space, with validity, sampling and mutation over genomes.

    ``fixed`` pins decisions to a choice index (one-shot methods search only the
    structure); ``constraint`` rejects decoded architectures (e.g. a parameter cap).
    """

    def __init__(
        self,
        config: MLPSpace | CellSpace,
        *,
        fixed: dict[str, int] | None = None,
        constraint: Callable[[Architecture], bool] | None = None,
    ) -> None:
        self.config = config
        self.decisions = (
            _mlp_decisions(config) if isinstance(config, MLPSpace) else _cnn_decisions(config)
        )
        self.index = {d.name: k for k, d in enumerate(self.decisions)}
        self.fixed = dict(fixed or {})
        self.constraint = constraint

    @property
    def kind(self) -> str:
        return self.config.kind

    def with_fixed(self, fixed: dict[str, int]) -> SearchSpace:
        return SearchSpace(self.config, fixed={**self.fixed, **fixed}, constraint=self.constraint)

    def free(self, genome: Genome | None = None) -> list[int]:
        """Indices of decisions that can change (and matter, when a genome is given)."""
        active = self.active(genome) if genome is not None else set(range(len(self.decisions)))
        return [
            k
            for k, d in enumerate(self.decisions)
            if len(d.choices) > 1 and d.name not in self.fixed and k in active
        ]

    def active(self, genome: Genome) -> set[int]:
        """Decisions that influence the architecture (widths past the depth do not)."""
        if self.kind == "mlp":
            depth = self.decisions[0].choices[genome[0]]
            # Residual connections join hidden layers, so one layer has none.
            return {
                k
                for k, d in enumerate(self.decisions)
                if not (d.name.startswith("width_") and int(d.name[6:]) >= depth)
                and not (d.name == "residual" and depth == 1)
            }
        # No augmentation operation, no magnitude to choose.
        if "augment_n" in self.index and self.value(genome, "augment_n") == 0:
            return set(range(len(self.decisions))) - {self.index["augment_m"]}
        return set(range(len(self.decisions)))

    def canonical(self, genome: Genome) -> Genome:
        """Same architecture, inactive decisions zeroed and fixed ones pinned."""
        active = self.active(genome)
        out = [g if k in active else 0 for k, g in enumerate(genome)]
        for name, idx in self.fixed.items():
            out[self.index[name]] = idx
        return tuple(out)

    def value(self, genome: Genome, name: str) -> Any:
        k = self.index[name]
        return self.decisions[k].choices[genome[k]]

    def to_arch(self, genome: Genome) -> Architecture:
        g = self.canonical(genome)
        v = lambda name: self.value(g, name)  # noqa: E731
        common = {"lr": v("lr"), "weight_decay": v("weight_decay"), "batch_size": v("batch_size")}
        if isinstance(self.config, MLPSpace):
            depth = v("depth")
            mixup = {"mixup_alpha": v("mixup")} if "mixup" in self.index else {}
            return {
                "kind": "mlp",
                "depth": depth,
                "widths": [v(f"width_{i}") for i in range(depth)],
                "activation": v("activation"),
                "norm": v("norm"),
                "dropout": v("dropout"),
                "residual": v("residual"),
                **mixup,
                **common,
            }
        n_edges = len(cell_edges(self.config.nodes))
        reduce = [v(f"reduce_{k}") for k in range(n_edges)] if self.config.reductions > 0 else []
        return {
            "kind": "cnn",
            "nodes": self.config.nodes,
            "reductions": self.config.reductions,
            "normal": [v(f"normal_{k}") for k in range(n_edges)],
            "reduce": reduce,
            "channels": v("channels"),
            "normal_cells": v("normal_cells"),
            **self._augment_arch(g),
            **common,
        }

    def _augment_arch(self, genome: Genome) -> Architecture:
        """{"augment": {"ops", "n", "m"}} when the space searches a policy (None for N = 0)."""
        policy = getattr(self.config, "augment", None)
        if policy is None:
            return {}
        n = self.value(genome, "augment_n")
        if n == 0:
            return {"augment": None}
        return {"augment": {"ops": list(policy.ops), "n": n, "m": self.value(genome, "augment_m")}}

    def from_arch(self, arch: Architecture) -> Genome:
        """Inverse of ``to_arch`` (used to put DARTS' discretised cells back in the space)."""
        values: dict[str, Any] = {
            "lr": arch["lr"],
            "weight_decay": arch["weight_decay"],
            "batch_size": arch["batch_size"],
        }
        if arch["kind"] == "mlp":
            values |= {k: arch[k] for k in ("depth", "activation", "norm", "dropout", "residual")}
            values |= {f"width_{i}": w for i, w in enumerate(arch["widths"])}
            if "mixup_alpha" in arch:
                values["mixup"] = arch["mixup_alpha"]
        else:
            values |= {f"normal_{k}": op for k, op in enumerate(arch["normal"])}
            values |= {f"reduce_{k}": op for k, op in enumerate(arch["reduce"])}
            values |= {"channels": arch["channels"], "normal_cells": arch["normal_cells"]}
            if "augment" in arch:
                policy = arch["augment"] or {"n": 0}
                values |= {"augment_n": policy["n"]} | (
                    {"augment_m": policy["m"]} if "m" in policy else {}
                )
        genome = [
            d.choices.index(values[d.name]) if d.name in values else 0 for d in self.decisions
        ]
        return self.canonical(tuple(genome))

    def key(self, genome: Genome) -> str:
        return json.dumps(self.to_arch(genome), sort_keys=True)

    def is_valid(self, genome: Genome) -> bool:
        if isinstance(self.config, CellSpace):
            arch = self.to_arch(genome)
            edges = cell_edges(self.config.nodes)
            for cell in ("normal", "reduce"):
                ops = arch[cell]
                for j in range(self.config.nodes if ops else 0):
                    if all(ops[e] == "zero" for e, (node, _) in enumerate(edges) if node == j):
                        return False
        return self.constraint is None or self.constraint(self.to_arch(genome))

    def sample(self, rng: np.random.Generator) -> Genome:
        for _ in range(_MAX_SAMPLING_TRIES):
            g = self.canonical(tuple(int(rng.integers(len(d.choices))) for d in self.decisions))
            if self.is_valid(g):
                return g
        raise NASError(
            f"could not sample a valid architecture in {_MAX_SAMPLING_TRIES} tries: the space "
            "(or its max_params limit) leaves (almost) no valid architecture"
        )

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """Change one decision that matters to a different choice, keeping validity."""
        for _ in range(_MAX_SAMPLING_TRIES):
            free = self.free(genome)
            if not free:
                return genome
            k = free[int(rng.integers(len(free)))]
            n = len(self.decisions[k].choices)
            new = list(genome)
            new[k] = (genome[k] + 1 + int(rng.integers(n - 1))) % n
            child = self.canonical(tuple(new))
            if child != genome and self.is_valid(child):
                return child
        return genome

    def describe(self, genome: Genome) -> str:
        return describe_arch(self.to_arch(genome))


def describe_arch(arch: Architecture) -> str:
    """A readable multi-line summary of an architecture."""
    train = f"lr={arch['lr']:g}, weight_decay={arch['weight_decay']:g}, batch={arch['batch_size']}"
    if arch.get("mixup_alpha"):
        train += f", mixup alpha={arch['mixup_alpha']:g}"
    if "augment" in arch:
        policy = arch["augment"]
        train += (
            f"\naugmentation: {policy['n']} of {', '.join(policy['ops'])} at magnitude {policy['m']}"
            if policy
            else "\naugmentation: none"
        )
    if arch["kind"] == "mlp":
        layers = " -> ".join(str(w) for w in arch["widths"])
        return (
            f"MLP, {arch['depth']} hidden layer(s): {layers}\n"
            f"activation={arch['activation']}, norm={arch['norm']}, "
            f"dropout={arch['dropout']:g}, residual={arch['residual']}\n{train}"
        )
    lines = [
        f"Cell CNN: {arch['channels']} channels, {arch['normal_cells']} normal cell(s) per stage, "
        f"{arch['reductions']} reduction cell(s), {arch['nodes']} nodes per cell"
    ]
    for cell in ("normal", "reduce"):
        if not arch[cell]:
            continue
        lines.append(f"{cell} cell:")
        for e, (node, inp) in enumerate(cell_edges(arch["nodes"])):
            if arch[cell][e] != "zero":
                src = ("input k-2", "input k-1")[inp] if inp < 2 else f"node {inp - 2}"
                lines.append(f"  node {node} <- {arch[cell][e]}({src})")
    lines.append(train)
    return "\n".join(lines)
