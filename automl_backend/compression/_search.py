"""Search combinations of pruning, int8 quantization and distillation for a size or
latency target; measure every candidate the same way on held-out rows."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn

from automl_backend.compression._distill import distill_student
from automl_backend.compression._errors import CompressionError
from automl_backend.compression._prune import (
    fine_tune_masked,
    magnitude_prune,
    structured_prune_mlp,
)
from automl_backend.compression._quantize import quantize_int8
from automl_backend.compression._storage import compact_size_kb
from automl_backend.compression._teacher import Teacher
from automl_backend.nas._data import Preprocessor
from automl_backend.nas._mlp import MLPNet
from automl_backend.nas._train import (
    TensorData,
    accuracy,
    configure_torch,
    latency_ms,
    resolve_device,
)


class Candidate(BaseModel):
    name: str
    accuracy: float
    """Accuracy on the evaluation rows."""
    size_kb: float
    latency_ms: float
    """Median CPU time to predict one row."""
    meets_target: bool = False


class CompressionResult(BaseModel):
    target: Literal["latency_ms", "size_kb"]
    target_value: float
    baseline: Candidate
    candidates: list[Candidate]
    chosen: str | None = None
    """Most accurate candidate meeting the target (None: none does)."""
    n_eval_rows: int
    notes: list[str] = Field(default_factory=list)


class CompressionSearch:
    """Builds and measures candidates; ``models`` keeps each one for saving."""

    def __init__(
        self,
        teacher: Teacher,
        train: tuple[Any, np.ndarray],
        evaluate: tuple[Any, np.ndarray],
        *,
        sparsities: tuple[float, ...] = (0.5, 0.75, 0.9),
        student_widths: tuple[tuple[int, ...], ...] = ((32,), (64,), (128,)),
        fine_tune_epochs: int = 5,
        distill_epochs: int = 60,
        seed: int = 0,
        n_threads: int = 1,
        device: str = "auto",
        report: Callable[[str], None] = lambda _m: None,
    ) -> None:
        configure_torch(n_threads, seed)
        # Fine-tuning and distillation use the GPU when there is one; every candidate is
        # measured on the CPU, where int8 dynamic quantization runs.
        self.device = resolve_device(device)
        self.teacher = teacher
        self.sparsities, self.student_widths = sparsities, student_widths
        self.fine_tune_epochs, self.distill_epochs = fine_tune_epochs, distill_epochs
        self.seed, self.report = seed, report
        lookup = {c: i for i, c in enumerate(teacher.classes)}
        codes = [np.array([lookup.get(_plain(v), -1) for v in y]) for y in (train[1], evaluate[1])]
        if (codes[0] < 0).any():
            raise CompressionError("the training rows have labels the model never saw")
        self.raw_train, self.raw_eval = train[0], evaluate[0]
        nas = teacher.nas_model
        self.pre = nas.preprocessor if nas is not None else Preprocessor.fit(train[0], "tabular")
        self.train = TensorData.from_numpy(self.pre.transform(train[0]), codes[0], self.device)
        self.eval = TensorData.from_numpy(
            self.pre.transform(evaluate[0]), codes[1], torch.device("cpu")
        )
        self.models: dict[str, nn.Module] = {}

    def measure(self, name: str, model: nn.Module) -> Candidate:
        model = model.cpu().eval()
        self.models[name] = model
        self.report(f"measured {name}")
        return Candidate(
            name=name,
            accuracy=accuracy(model, self.eval),
            size_kb=compact_size_kb(model),
            latency_ms=latency_ms(model, self.eval.X[:1]),
        )

    def baseline(self) -> Candidate:
        """The model as the run left it, measured like every candidate when it is a network
        (an AutoML ensemble is timed through its own predict_proba, preprocessing included)."""
        if self.teacher.nas_model is not None:
            return self.measure("original", self.teacher.nas_model.network)
        row = self.raw_eval.iloc[:1] if hasattr(self.raw_eval, "iloc") else self.raw_eval[:1]
        proba = self.teacher.predict_proba(self.raw_eval)
        acc = float(np.mean(proba.argmax(1) == self.eval.y.numpy()))
        return Candidate(
            name="original",
            accuracy=acc,
            size_kb=self.teacher.size_kb,
            latency_ms=self.teacher.latency_ms(row),
        )

    def _fine_tuned(self, model: nn.Module, masks: dict) -> nn.Module:
        lr = 0.3 * float(getattr(model, "arch", {}).get("lr", 3e-3))
        bs = int(getattr(model, "arch", {}).get("batch_size", 64))
        fine_tune_masked(
            model,
            self.train,
            masks,
            epochs=self.fine_tune_epochs,
            lr=lr,
            batch_size=bs,
            seed=self.seed,
        )
        return model

    def network_candidates(self) -> list[Candidate]:
        """Prune and quantize the run's own network (NAS runs only)."""
        net = self.teacher.nas_model.network.cpu()
        out = [self.measure("int8", quantize_int8(net))]
        for s in self.sparsities:
            pruned = copy.deepcopy(net)
            masks = magnitude_prune(pruned, s)
            self._fine_tuned(pruned, masks)
            out.append(self.measure(f"magnitude {s:.0%}", pruned))
            out.append(self.measure(f"magnitude {s:.0%} + int8", quantize_int8(pruned)))
        if isinstance(net, MLPNet):
            for s in self.sparsities:
                small = structured_prune_mlp(net, s)
                self._fine_tuned(small, {})
                out.append(self.measure(f"neurons -{s:.0%}", small))
                out.append(self.measure(f"neurons -{s:.0%} + int8", quantize_int8(small)))
        return out

    def student_candidates(self) -> list[Candidate]:
        """Distil the teacher into small MLPs (float and int8)."""
        proba = self.teacher.predict_proba(self.raw_train)
        out = []
        for widths in self.student_widths:
            label = "x".join(str(w) for w in widths)
            student = distill_student(
                proba, self.train, list(widths), epochs=self.distill_epochs, seed=self.seed
            )
            out.append(self.measure(f"student MLP {label}", student))
            out.append(self.measure(f"student MLP {label} + int8", quantize_int8(student)))
        return out

    def run(self, target: Literal["latency_ms", "size_kb"], value: float) -> CompressionResult:
        if value <= 0:
            raise CompressionError(f"the target must be positive, got {value:g}")
        base = self.baseline()
        candidates = []
        if self.teacher.kind == "nas":
            candidates += self.network_candidates()
        candidates += self.student_candidates()
        for c in [base, *candidates]:
            c.meets_target = getattr(c, target) <= value
        fitting = [c for c in [base, *candidates] if c.meets_target]
        chosen = max(fitting, key=lambda c: (c.accuracy, -c.size_kb)) if fitting else None
        notes: list[str] = []
        return CompressionResult(
            target=target,
            target_value=value,
            baseline=base,
            candidates=candidates,
            chosen=chosen.name if chosen else None,
            n_eval_rows=len(self.eval),
            notes=notes,
        )


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
