"""Chain MLP whose layers can also run narrower and shallower than built.

Built to an exact architecture it is an ordinary network (modules called directly, so
quantization and pruning can swap them). Built to the space's largest sizes it is the
SPOS supernet: a sub-network uses the first rows/columns of each weight matrix, which is
also exactly how ``inherit_weights`` copies weights into a stand-alone network.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from automl_backend.nas._space import Architecture

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}


def _norm(kind: str, width: int) -> nn.Module:
    return nn.BatchNorm1d(width) if kind == "batch" else nn.LayerNorm(width)


class MLPNet(nn.Module):
    """Hidden layers ``linears[i]`` with optional norm, dropout and residual projection."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        arch: Architecture,
        *,
        held_norms: tuple[str, ...] | None = None,
        all_projections: bool = False,
    ) -> None:
        super().__init__()
        self.arch = dict(arch)
        widths = list(arch["widths"])
        ins = [n_features, *widths[:-1]]
        self.linears = nn.ModuleList(nn.Linear(i, w) for i, w in zip(ins, widths, strict=True))
        held = held_norms if held_norms is not None else (arch["norm"],)
        held = tuple(k for k in held if k != "none")
        self.norms = nn.ModuleList(nn.ModuleDict({k: _norm(k, w) for k in held}) for w in widths)
        # Residual joins need a projection when widths differ; a supernet keeps one per
        # layer because its sub-networks can make any two neighbouring widths differ.
        self.projs = nn.ModuleDict(
            {
                str(i): nn.Linear(ins[i], widths[i], bias=False)
                for i in range(1, len(widths))
                if all_projections or (arch["residual"] and ins[i] != widths[i])
            }
        )
        self.head = nn.Linear(widths[-1], n_classes)

    def forward(self, x: torch.Tensor, arch: Architecture | None = None) -> torch.Tensor:
        if arch is None:
            return self._forward_exact(x)
        return self._forward_sliced(x, arch)

    def _forward_exact(self, x: torch.Tensor) -> torch.Tensor:
        a = self.arch
        act = _ACTIVATIONS[a["activation"]]
        h = x
        for i, lin in enumerate(self.linears):
            z = lin(h)
            if a["norm"] != "none":
                z = self.norms[i][a["norm"]](z)
            z = F.dropout(act(z), a["dropout"], self.training)
            if a["residual"] and i > 0:
                z = z + (self.projs[str(i)](h) if str(i) in self.projs else h)
            h = z
        return self.head(h)

    def _forward_sliced(self, x: torch.Tensor, a: Architecture) -> torch.Tensor:
        act = _ACTIVATIONS[a["activation"]]
        h, prev = x, x.shape[1]
        for i in range(a["depth"]):
            w = a["widths"][i]
            lin = self.linears[i]
            z = F.linear(h, lin.weight[:w, :prev], lin.bias[:w])
            if a["norm"] == "batch":
                bn = self.norms[i]["batch"]
                z = F.batch_norm(
                    z,
                    bn.running_mean[:w] if bn.running_mean is not None else None,
                    bn.running_var[:w] if bn.running_var is not None else None,
                    bn.weight[:w],
                    bn.bias[:w],
                    self.training or bn.running_mean is None,
                    bn.momentum if bn.momentum is not None else 0.1,
                    bn.eps,
                )
            elif a["norm"] == "layer":
                ln = self.norms[i]["layer"]
                z = F.layer_norm(z, (w,), ln.weight[:w], ln.bias[:w], ln.eps)
            z = F.dropout(act(z), a["dropout"], self.training)
            if a["residual"] and i > 0:
                z = z + (h if w == prev else F.linear(h, self.projs[str(i)].weight[:w, :prev]))
            h, prev = z, w
        return F.linear(h, self.head.weight[:, :prev], self.head.bias)


def build_mlp_supernet(n_features: int, n_classes: int, space: Any) -> MLPNet:
    """The largest network of an MLP space, holding every norm and residual projection."""
    depth, width = max(space.depths), max(space.widths)
    arch = {
        "depth": depth,
        "widths": [width] * depth,
        "norm": "none",
        "residual": True,
        "activation": space.activations[0],
        "dropout": 0.0,
    }
    held = tuple(k for k in space.norms if k != "none")
    return MLPNet(n_features, n_classes, arch, held_norms=held, all_projections=True)
