"""Knowledge distillation (Hinton et al. 2015) of any classifier into a small MLP.

The student matches the teacher's class probabilities softened by a temperature (which
exposes how the teacher ranks the wrong classes) and, with weight 1 - alpha, the true
labels. The KL term is scaled by T² so its gradients keep their size as T changes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from automl_backend.nas._mlp import MLPNet
from automl_backend.nas._train import LossFn, TensorData, train


def soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Teacher probabilities at ``temperature`` (softmax of log-probabilities / T)."""
    z = np.log(np.clip(proba, 1e-8, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def distillation_loss(soft_targets: torch.Tensor, temperature: float, alpha: float) -> LossFn:
    def loss(logits: torch.Tensor, yb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits / temperature, dim=1)
        kd = F.kl_div(log_p, soft_targets[idx], reduction="batchmean") * temperature**2
        return alpha * kd + (1 - alpha) * F.cross_entropy(logits, yb)

    return loss


def student_arch(widths: list[int]) -> dict:
    return {
        "kind": "mlp",
        "depth": len(widths),
        "widths": list(widths),
        "activation": "relu",
        "norm": "none",
        "dropout": 0.0,
        "residual": False,
        "lr": 3e-3,
        "weight_decay": 1e-4,
        "batch_size": 64,
    }


def distill_student(
    teacher_proba: np.ndarray,
    data: TensorData,
    widths: list[int],
    *,
    temperature: float = 4.0,
    alpha: float = 0.7,
    epochs: int = 60,
    seed: int = 0,
) -> MLPNet:
    """Train a fresh MLP with ``widths`` hidden units on the teacher's soft labels."""
    if teacher_proba.shape[0] != len(data):
        raise ValueError("one row of teacher probabilities per training row is needed")
    torch.manual_seed(seed)
    arch = student_arch(widths)
    student = MLPNet(int(data.X.shape[1]), teacher_proba.shape[1], arch)
    soft = torch.as_tensor(soften(teacher_proba, temperature), dtype=torch.float32)
    train(
        student,
        data,
        epochs=epochs,
        lr=arch["lr"],
        weight_decay=arch["weight_decay"],
        batch_size=arch["batch_size"],
        seed=seed,
        loss_fn=distillation_loss(soft.to(data.X.device), temperature, alpha),
    )
    return student.eval()
