"""Cell-based CNN: operations, edges, cells and the stacked network.

One network class serves three uses with identical parameter names: a stand-alone
architecture (each edge holds its one operation), the SPOS supernet (each edge holds every
operation and a path picks one) and the DARTS supernet (softmax weights mix them). So a
stand-alone network's state dict is a subset of the supernet's, which is how weights are
inherited.
"""

from __future__ import annotations

import torch
from torch import nn

from automl_backend.nas._space import Architecture, cell_edges


def _relu_conv_bn(c_in: int, c_out: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


class Zero(nn.Module):
    """The 'no edge' operation (kept as a module so DARTS can weigh it)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


def make_op(name: str, c: int, stride: int) -> nn.Module:
    """Every operation keeps ``c`` channels and maps H to ceil(H / stride)."""
    if name == "conv3x3":
        return _relu_conv_bn(c, c, 3, stride)
    if name == "conv5x5":
        return _relu_conv_bn(c, c, 5, stride)
    if name == "sep_conv3x3":
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=stride, padding=1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )
    if name == "max_pool3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip":
        return nn.Identity() if stride == 1 else _relu_conv_bn(c, c, 1, stride)
    if name == "zero":
        return Zero(stride)
    raise ValueError(f"unknown cell operation {name!r}")


class Edge(nn.Module):
    def __init__(self, c: int, stride: int, ops: list[str]) -> None:
        super().__init__()
        self.op_names = list(ops)
        self.ops = nn.ModuleDict({op: make_op(op, c, stride) for op in ops})

    def forward(self, x: torch.Tensor, choice: str | torch.Tensor) -> torch.Tensor:
        if isinstance(choice, str):
            return self.ops[choice](x)
        # DARTS: softmax-weighted sum; the zero operation adds nothing, so skip computing it.
        out = None
        for w, op in zip(choice, self.op_names, strict=True):
            if op == "zero":
                continue
            term = w * self.ops[op](x)
            out = term if out is None else out + term
        assert out is not None, "an edge needs one operation besides zero"
        return out


class Cell(nn.Module):
    def __init__(
        self,
        nodes: int,
        c_prev_prev: int,
        c_prev: int,
        c: int,
        *,
        reduction: bool,
        reduction_prev: bool,
        edge_ops: list[list[str]],
    ) -> None:
        super().__init__()
        self.nodes = nodes
        self.reduction = reduction
        # A previous reduction halved s1 but not s0: bring s0 to s1's size.
        self.pre0 = _relu_conv_bn(c_prev_prev, c, 1, 2 if reduction_prev else 1)
        self.pre1 = _relu_conv_bn(c_prev, c, 1, 1)
        self.edge_list = cell_edges(nodes)
        self.edges = nn.ModuleList(
            Edge(c, 2 if reduction and inp < 2 else 1, ops)
            for (_, inp), ops in zip(self.edge_list, edge_ops, strict=True)
        )

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, choices: list[str] | torch.Tensor
    ) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for j in range(self.nodes):
            acc = None
            for k, (node, inp) in enumerate(self.edge_list):
                if node != j or (isinstance(choices, list) and choices[k] == "zero"):
                    continue
                out = self.edges[k](states[inp], choices[k])
                acc = out if acc is None else acc + out
            if acc is None:  # only possible for invalid genomes; keeps shapes consistent
                acc = self.edges[0].ops[self.edges[0].op_names[0]](states[0]).mul(0.0)
            states.append(acc)
        return torch.cat(states[2:], dim=1)


class CellNetwork(nn.Module):
    """Stem, stages of normal cells separated by reduction cells, global pool, classifier."""

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        arch: Architecture,
        *,
        supernet_ops: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.arch = dict(arch)
        self.input_shape = tuple(input_shape)
        nodes, c = arch["nodes"], arch["channels"]
        n_edges = len(cell_edges(nodes))

        def ops_for(cell: str) -> list[list[str]]:
            if supernet_ops is not None:
                return [list(supernet_ops)] * n_edges
            return [[op] for op in arch[cell]]

        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        self.kinds: list[str] = []
        cells = []
        c_pp, c_p, c_cur, red_prev = c, c, c, False
        for stage in range(arch["reductions"] + 1):
            kinds = ["normal"] * arch["normal_cells"]
            if stage < arch["reductions"]:
                kinds.append("reduce")
            for kind in kinds:
                if kind == "reduce":
                    c_cur *= 2
                cell = Cell(
                    nodes,
                    c_pp,
                    c_p,
                    c_cur,
                    reduction=kind == "reduce",
                    reduction_prev=red_prev,
                    edge_ops=ops_for(kind),
                )
                cells.append(cell)
                self.kinds.append(kind)
                c_pp, c_p, red_prev = c_p, nodes * c_cur, kind == "reduce"
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, n_classes)

    def forward(
        self,
        x: torch.Tensor,
        arch: Architecture | None = None,
        *,
        weights: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``arch`` picks one operation per edge (SPOS); ``weights`` mixes them (DARTS)."""
        a = arch or self.arch
        x = x.reshape(x.shape[0], *self.input_shape)
        s0 = s1 = self.stem(x)
        for kind, cell in zip(self.kinds, self.cells, strict=True):
            choices = weights[kind] if weights is not None else a[kind]
            s0, s1 = s1, cell(s0, s1, choices)
        return self.classifier(torch.flatten(self.pool(s1), 1))
