"""Measure one proposal: build, (inherit,) train, score on validation rows, time on the CPU."""

from __future__ import annotations

import copy
import time

import torch

from automl_backend.nas._augment import batch_augmentation
from automl_backend.nas._models import build_model, inherit_weights
from automl_backend.nas._space import Architecture
from automl_backend.nas._strategy import Evaluation, Proposal
from automl_backend.nas._train import (
    TensorData,
    accuracy,
    count_params,
    latency_ms,
    recalibrate_batch_norm,
    train,
)

_MIN_ROWS = 64
"""Fewest rows a low-fidelity estimate trains on."""


class Evaluator:
    """Shared by every strategy, so all of them are measured the same way."""

    def __init__(
        self,
        train_data: TensorData,
        val_data: TensorData,
        input_shape: tuple[int, ...],
        n_classes: int,
        *,
        seed: int = 0,
        deadline: float | None = None,
    ) -> None:
        self.train_data = train_data
        self.val_data = val_data
        self.input_shape = tuple(input_shape)
        self.n_classes = n_classes
        self.seed = seed
        self.deadline = deadline
        self.example = val_data.X[:1].detach().cpu()
        self._subsets: dict[float, TensorData] = {}

    def rows(self, share: float) -> TensorData:
        """The training rows a ``share`` of them trains on: one fixed random subset per
        share (seeded), so every candidate at a fidelity sees the same rows."""
        if share >= 1.0:
            return self.train_data
        if share not in self._subsets:
            n = len(self.train_data)
            keep = min(n, max(_MIN_ROWS, round(share * n)))
            gen = torch.Generator().manual_seed(self.seed)
            idx = torch.randperm(n, generator=gen)[:keep].sort().values
            idx = idx.to(self.train_data.X.device)
            self._subsets[share] = TensorData(self.train_data.X[idx], self.train_data.y[idx])
        return self._subsets[share]

    def build(self, arch: Architecture, trial: int) -> torch.nn.Module:
        torch.manual_seed(self.seed * 100_003 + trial)
        return build_model(arch, self.input_shape, self.n_classes).to(self.train_data.X.device)

    def evaluate(self, proposal: Proposal, arch: Architecture, trial: int) -> Evaluation:
        start = time.monotonic()
        model = self.build(arch, trial)
        if proposal.init_state is not None:
            inherit_weights(model, proposal.init_state)
        epochs, complete = 0, True
        if proposal.epochs > 0:
            result = train(
                model,
                self.rows(proposal.rows),
                epochs=proposal.epochs,
                lr=arch["lr"],
                weight_decay=arch["weight_decay"],
                batch_size=arch["batch_size"],
                seed=self.seed + trial,
                deadline=self.deadline,
                augment=batch_augmentation(
                    arch, self.input_shape, self.n_classes, seed=self.seed + trial
                ),
            )
            epochs, complete = result.epochs, not result.cut_by_deadline
        elif proposal.init_state is not None:
            recalibrate_batch_norm(model, self.train_data, seed=self.seed + trial)
        acc = accuracy(model, self.val_data)
        # The runner keeps the winner's weights to start its final training from them.
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return Evaluation(
            accuracy=acc,
            params=count_params(model),
            latency_ms=self.cpu_latency(model),
            epochs=epochs,
            seconds=time.monotonic() - start,
            complete=complete,
            state=state,
        )

    def cpu_latency(self, model: torch.nn.Module) -> float:
        on_cpu = model if self.train_data.X.device.type == "cpu" else copy.deepcopy(model).cpu()
        return latency_ms(on_cpu, self.example, repeats=10)
