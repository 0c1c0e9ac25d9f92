"""Search combinations of pruning, int8 quantization and distillation for a size or
latency target, and measure every candidate the same way.

The evaluation rows (rows the model never trained on) are split, seeded and stratified by
class, into validation rows and held-out rows (:mod:`._split`). Every choice reads the
validation rows only: each candidate's ``validation_accuracy``, which candidates meet the
target (latency is timed on a validation row) and which one wins. Only after the choice
are the held-out rows read, for the ``holdout_accuracy`` of the winner and of the baseline;
no other candidate gets one, so nothing can be picked on it. Report the held-out number:
the winner's validation accuracy is the best of many noisy draws and so is optimistic.
"""

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
from automl_backend.compression._split import EvaluationSplit, split_evaluation_rows
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
    validation_accuracy: float
    """Accuracy on the validation rows, the rows every choice is made on."""
    holdout_accuracy: float | None = None
    """Accuracy on the held-out rows: measured after the choice, for the baseline and the
    chosen candidate only (None for every other candidate)."""
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
    """Candidate meeting the target with the best validation accuracy (None: none does)."""
    n_eval_rows: int
    """Evaluation rows: the validation and the held-out rows together."""
    split: EvaluationSplit
    """Which evaluation rows are validation rows and which are held out."""
    notes: list[str] = Field(default_factory=list)

    def chosen_candidate(self) -> Candidate | None:
        """The winner (possibly the baseline itself), or None when nothing meets the target."""
        return next((c for c in [self.baseline, *self.candidates] if c.name == self.chosen), None)


class CompressionSearch:
    """Builds and measures candidates; ``models`` keeps each one for saving, ``split`` says
    which evaluation rows are validation rows and which are held out."""

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
        holdout_fraction: float = 0.5,
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
        self.split = split_evaluation_rows(evaluate[1], holdout_fraction, seed)
        self.raw_train = train[0]
        nas = teacher.nas_model
        self.pre = nas.preprocessor if nas is not None else Preprocessor.fit(train[0], "tabular")
        self.train = TensorData.from_numpy(self.pre.transform(train[0]), codes[0], self.device)
        evaluation = TensorData.from_numpy(
            self.pre.transform(evaluate[0]), codes[1], torch.device("cpu")
        )
        self.n_eval_rows = len(evaluation)
        val, hold = self.split.validation_rows, self.split.holdout_rows
        self.validation = TensorData(evaluation.X[val], evaluation.y[val])
        self.holdout = TensorData(evaluation.X[hold], evaluation.y[hold])
        self.raw_validation = _take_rows(evaluate[0], val)
        self.raw_holdout = _take_rows(evaluate[0], hold)
        self.models: dict[str, nn.Module] = {}

    def measure(self, name: str, model: nn.Module) -> Candidate:
        model = model.cpu().eval()
        self.models[name] = model
        self.report(f"measured {name}")
        return Candidate(
            name=name,
            validation_accuracy=accuracy(model, self.validation),
            size_kb=compact_size_kb(model),
            latency_ms=latency_ms(model, self.validation.X[:1]),
        )

    def baseline(self) -> Candidate:
        """The model as the run left it, measured like every candidate when it is a network
        (an AutoML ensemble is timed through its own predict_proba, preprocessing included)."""
        if self.teacher.nas_model is not None:
            return self.measure("original", self.teacher.nas_model.network)
        return Candidate(
            name="original",
            validation_accuracy=self._teacher_accuracy(self.raw_validation, self.validation),
            size_kb=self.teacher.size_kb,
            latency_ms=self.teacher.latency_ms(_take_rows(self.raw_validation, [0])),
        )

    def _teacher_accuracy(self, raw: Any, data: TensorData) -> float:
        proba = self.teacher.predict_proba(raw)
        return float(np.mean(proba.argmax(1) == data.y.numpy()))

    def holdout_accuracy(self, name: str) -> float:
        """Accuracy of candidate ``name`` on the held-out rows; call it only once the
        choice is made."""
        if name == "original" and self.teacher.nas_model is None:
            return self._teacher_accuracy(self.raw_holdout, self.holdout)
        return accuracy(self.models[name], self.holdout)

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
        chosen = (
            max(fitting, key=lambda c: (c.validation_accuracy, -c.size_kb)) if fitting else None
        )
        # The held-out rows are read from here on, and for these two models only.
        base.holdout_accuracy = self.holdout_accuracy(base.name)
        if chosen is not None:
            chosen.holdout_accuracy = self.holdout_accuracy(chosen.name)
        return CompressionResult(
            target=target,
            target_value=value,
            baseline=base,
            candidates=candidates,
            chosen=chosen.name if chosen else None,
            n_eval_rows=self.n_eval_rows,
            split=self.split,
        )


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _take_rows(X: Any, rows: list[int]) -> Any:
    """Rows at positions ``rows`` of a data frame or an array."""
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
