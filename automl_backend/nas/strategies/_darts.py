"""First-order DARTS (Liu et al. 2019) on the cell space, with a skip-connection guard.

Every edge mixes all operations with softmax weights (the architecture parameters).
Weight steps on one half of the training rows alternate with architecture steps on the
other half. At the end each node keeps its two strongest incoming edges, each with its
strongest operation other than zero.

DARTS is known to collapse into parameter-free skip connections as it trains longer
(Zela et al. 2020; Chen & Hsieh 2020). The guard follows DARTS+ (Liang et al. 2019):
once the derived normal cell holds more than ``max_skips`` skip edges the search stops
early, and discretisation never keeps more than ``max_skips`` skips per cell (the weakest
are replaced by their edge's best other operation). Every firing is written to ``notes``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from automl_backend.nas._augment import BatchAugment, batch_augmentation
from automl_backend.nas._models import build_supernet
from automl_backend.nas._space import Architecture, SearchSpace, cell_edges
from automl_backend.nas._strategy import Evaluation, Proposal
from automl_backend.nas._train import TensorData, batches, cosine_lr
from automl_backend.nas.strategies._context import OneShotContext
from automl_backend.nas.strategies._spos import pinned_space


def discretise(
    weights: np.ndarray, ops: list[str], nodes: int, max_skips: int | None
) -> tuple[list[str], int]:
    """Cell operations from softmax weights (edges x ops); returns them and how many skip
    edges the cap replaced."""
    edges = cell_edges(nodes)
    candidates = [k for k, op in enumerate(ops) if op != "zero"]
    chosen = ["zero"] * len(edges)
    strength = np.zeros(len(edges))
    for j in range(nodes):
        incoming = [e for e, (node, _) in enumerate(edges) if node == j]
        best_op = {e: max(candidates, key=lambda k, e=e: weights[e, k]) for e in incoming}
        ranked = sorted(incoming, key=lambda e: -weights[e, best_op[e]])
        for e in ranked[:2]:
            chosen[e] = ops[best_op[e]]
            strength[e] = weights[e, best_op[e]]
    replaced = 0
    alternatives = [k for k in candidates if ops[k] != "skip"]
    if max_skips is not None and alternatives:
        skips = sorted(
            (e for e, op in enumerate(chosen) if op == "skip"), key=lambda e: strength[e]
        )
        for e in skips[: max(0, len(skips) - max_skips)]:
            chosen[e] = ops[max(alternatives, key=lambda k, e=e: weights[e, k])]
            replaced += 1
    return chosen, replaced


class DARTS:
    name = "darts"

    def __init__(
        self,
        space: SearchSpace,
        context: OneShotContext,
        *,
        epochs: int,
        arch_lr: float = 3e-3,
        search_share: float = 0.85,
    ) -> None:
        if space.kind != "cnn":
            raise ValueError("DARTS searches cells: it needs the cnn space")
        self.space = pinned_space(space)
        self.ctx = context
        self.epochs = epochs
        self.arch_lr = arch_lr
        self.search_share = search_share
        self.max_skips = space.config.max_skips
        self.guard_fired = False
        self.search_epochs = 0
        self.alphas: dict[str, torch.Tensor] = {}
        self._augment: BatchAugment | None = None
        self._done = False
        self.notes: list[str] = []

    def _derive(self, cap: bool) -> tuple[Architecture, dict[str, int]]:
        arch = self.space.to_arch(self.space.sample(np.random.default_rng(self.ctx.seed)))
        ops = list(self.space.config.operations)
        replaced = {}
        for cell, alpha in self.alphas.items():
            w = F.softmax(alpha.detach(), dim=-1).cpu().numpy()
            arch[cell], replaced[cell] = discretise(
                w, ops, arch["nodes"], self.max_skips if cap else None
            )
        return arch, replaced

    def search(self) -> Architecture:
        rng = np.random.default_rng(self.ctx.seed)
        template = self.space.to_arch(self.space.sample(rng))
        net = build_supernet(self.space.config, template, self.ctx.input_shape, self.ctx.n_classes)
        device = self.ctx.train.X.device
        net.to(device)
        n_ops, n_edges = len(self.space.config.operations), len(cell_edges(template["nodes"]))
        gen = torch.Generator().manual_seed(self.ctx.seed)
        self.alphas = {
            cell: (1e-3 * torch.randn(n_edges, n_ops, generator=gen)).to(device).requires_grad_()
            for cell in ("normal", "reduce")
            if template[cell]
        }
        data = self.ctx.train
        order = torch.randperm(len(data), generator=gen).to(device)
        half = len(data) // 2
        w_data = TensorData(data.X[order[:half]], data.y[order[:half]])
        a_data = TensorData(data.X[order[half:]], data.y[order[half:]])
        w_opt = torch.optim.AdamW(
            net.parameters(), lr=template["lr"], weight_decay=template["weight_decay"]
        )
        a_opt = torch.optim.Adam(
            list(self.alphas.values()), lr=self.arch_lr, betas=(0.5, 0.999), weight_decay=1e-3
        )
        # Only the weight steps see augmented rows: the architecture steps score the
        # held-out half as it is, like a validation set.
        self._augment = batch_augmentation(
            template, self.ctx.input_shape, self.ctx.n_classes, seed=self.ctx.seed
        )
        deadline = self.ctx.share_of_remaining(self.search_share)
        total, start, epoch = self.ctx.max_epochs, time.monotonic(), 0
        self.ctx.report("DARTS: training the supernet and architecture weights")
        while epoch < total:
            for group in w_opt.param_groups:
                group["lr"] = cosine_lr(template["lr"], epoch, total)
            if not self._epoch(net, w_data, a_data, w_opt, a_opt, template["batch_size"],
                               gen, deadline):  # fmt: skip
                break  # the deadline cut this epoch short
            epoch += 1
            self.search_epochs = epoch
            skips = self._derive(cap=False)[0]["normal"].count("skip")
            if skips > self.max_skips:
                self.guard_fired = True
                self.notes.append(
                    f"DARTS skip guard fired after epoch {epoch}: the normal cell had "
                    f"{skips} skip connections (cap {self.max_skips}); search stopped early"
                )
                break
            if deadline is not None:  # shrink the schedule so it anneals before the deadline
                per_epoch = (time.monotonic() - start) / epoch
                fits = epoch + int((deadline - time.monotonic()) / max(per_epoch, 1e-9))
                total = max(epoch, min(total, fits))
        arch, replaced = self._derive(cap=True)
        for cell, n in replaced.items():
            if n:
                self.guard_fired = True
                self.notes.append(
                    f"DARTS skip guard replaced {n} skip connection(s) in the {cell} cell "
                    f"(cap {self.max_skips})"
                )
        self.notes.append(f"DARTS searched {self.search_epochs} epochs")
        return arch

    def _epoch(
        self,
        net: torch.nn.Module,
        w_data: TensorData,
        a_data: TensorData,
        w_opt: torch.optim.Optimizer,
        a_opt: torch.optim.Optimizer,
        batch_size: int,
        gen: torch.Generator,
        deadline: float | None,
    ) -> bool:
        """One pass over the weight rows, each weight step preceded by an architecture
        step on a batch of the other rows (first-order: no unrolled look-ahead)."""
        net.train()
        device = w_data.X.device
        a_batches = batches(len(a_data), batch_size, gen)
        for idx in batches(len(w_data), batch_size, gen):
            if deadline is not None and time.monotonic() > deadline:
                return False
            a_idx = next(a_batches, None)
            if a_idx is None:
                a_batches = batches(len(a_data), batch_size, gen)
                a_idx = next(a_batches)
            a_idx, idx = a_idx.to(device), idx.to(device)
            mix = {c: F.softmax(a, dim=-1) for c, a in self.alphas.items()}
            a_loss = F.cross_entropy(net(a_data.X[a_idx], weights=mix), a_data.y[a_idx])
            a_opt.zero_grad(set_to_none=True)
            a_loss.backward()
            a_opt.step()
            mix = {c: F.softmax(a.detach(), dim=-1) for c, a in self.alphas.items()}
            xb, yb = w_data.X[idx], w_data.y[idx]
            if self._augment is not None:
                xb, yb = self._augment(xb, yb)
            w_loss = F.cross_entropy(net(xb, weights=mix), yb)
            w_opt.zero_grad(set_to_none=True)
            w_loss.backward()
            w_opt.step()
        return True

    def ask(self) -> Proposal | None:
        if self._done:
            return None
        self._done = True
        arch = self.search()
        return Proposal(self.space.from_arch(arch), self.epochs, info={"darts": True})

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """DARTS proposes once; the evaluation only confirms the derived architecture."""
