"""The one set of training and measuring functions every strategy and compressor uses."""

from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]
"""How to run a model on a batch (one-shot supernets pass a sampled path here)."""
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""(logits, labels, row indices) -> loss; the indices let distillation look up soft labels."""
Augment = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""(rows, labels) of a training batch -> (rows, targets) to learn from (``_augment.py``)."""


def _plain_forward(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    return model(xb)


def _cross_entropy(logits: torch.Tensor, yb: torch.Tensor, _idx: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, yb)


def resolve_device(preference: str = "auto") -> torch.device:
    """CUDA when present (unless cpu is asked for), else the CPU."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def configure_torch(n_threads: int, seed: int) -> None:
    """Fix the CPU thread count and every random seed torch and numpy use."""
    torch.set_num_threads(n_threads)
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


@dataclass
class TensorData:
    """Features and integer labels already on the training device."""

    X: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_numpy(cls, X: np.ndarray, y: np.ndarray, device: torch.device) -> TensorData:
        return cls(
            torch.as_tensor(X, dtype=torch.float32, device=device),
            torch.as_tensor(y, dtype=torch.long, device=device),
        )

    def __len__(self) -> int:
        return int(self.y.shape[0])


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled row-index batches; a last batch of one row is dropped (batch norm needs two)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if len(idx) > 1 or n == 1:
            yield idx


@dataclass
class TrainResult:
    epochs: int
    """Epochs completed."""
    seconds: float
    losses: list[float] = field(default_factory=list)
    """Mean training loss per completed epoch."""
    cut_by_deadline: bool = False


def cosine_lr(base_lr: float, epoch: int, total: int) -> float:
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(epoch, total) / max(total, 1)))


def train(
    model: nn.Module,
    data: TensorData,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    seed: int,
    deadline: float | None = None,
    fit_to_deadline: bool = False,
    min_epochs: int = 0,
    forward: Forward = _plain_forward,
    loss_fn: LossFn = _cross_entropy,
    on_epoch: Callable[[int, float], None] | None = None,
    augment: Augment | None = None,
) -> TrainResult:
    """AdamW with a cosine schedule over ``epochs``.

    ``augment`` transforms each training batch before the forward pass (the targets it
    returns, integer labels or class probabilities, go to ``loss_fn``); nothing else in
    this module augments, so scoring always sees rows as they are.

    ``deadline`` (a ``time.monotonic()`` value) stops training mid-epoch. With
    ``fit_to_deadline`` the epoch count shrinks after each epoch so the schedule still
    anneals before the deadline instead of being cut off at a high learning rate.
    The first ``min_epochs`` epochs always run in full.
    """
    device = data.X.device
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    start = time.monotonic()
    total = epochs
    result = TrainResult(epochs=0, seconds=0.0)
    epoch = 0
    while epoch < total:
        for group in opt.param_groups:
            group["lr"] = cosine_lr(lr, epoch, total)
        loss_sum, n_seen = 0.0, 0
        for idx in batches(len(data), batch_size, gen):
            if deadline is not None and epoch >= min_epochs and time.monotonic() > deadline:
                result.cut_by_deadline = True
                break
            idx_dev = idx.to(device)
            xb, yb = data.X[idx_dev], data.y[idx_dev]
            if augment is not None:
                xb, yb = augment(xb, yb)
            logits = forward(model, xb)
            loss = loss_fn(logits, yb, idx_dev)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            n_seen += len(idx)
        if result.cut_by_deadline:
            break
        epoch += 1
        result.epochs = epoch
        result.losses.append(loss_sum / max(n_seen, 1))
        if on_epoch is not None:
            on_epoch(epoch, result.losses[-1])
        if fit_to_deadline and deadline is not None:
            per_epoch = (time.monotonic() - start) / epoch
            fits = epoch + int((deadline - time.monotonic()) / max(per_epoch, 1e-9))
            total = max(epoch, min(total, fits))
    result.seconds = time.monotonic() - start
    model.eval()
    return result


@torch.no_grad()
def predict_logits(
    model: nn.Module, X: torch.Tensor, *, forward: Forward = _plain_forward, batch_size: int = 1024
) -> torch.Tensor:
    model.eval()
    outs = [forward(model, X[s : s + batch_size]) for s in range(0, len(X), batch_size)]
    return torch.cat(outs) if outs else torch.empty(0)


def accuracy(model: nn.Module, data: TensorData, *, forward: Forward = _plain_forward) -> float:
    logits = predict_logits(model, data.X, forward=forward)
    return float((logits.argmax(1) == data.y).float().mean()) if len(data) else float("nan")


@torch.no_grad()
def recalibrate_batch_norm(
    model: nn.Module,
    data: TensorData,
    *,
    forward: Forward = _plain_forward,
    batch_size: int = 128,
    max_rows: int = 1024,
    seed: int = 0,
) -> None:
    """Re-estimate batch-norm statistics for inherited weights (SPOS evaluates sub-networks
    this way: the supernet's running statistics mix every path and mislead)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    gen = torch.Generator().manual_seed(seed)
    seen = 0
    for idx in batches(len(data), batch_size, gen):
        forward(model, data.X[idx.to(data.X.device)])
        seen += len(idx)
        if seen >= max_rows:
            break
    for m in norms:
        m.momentum = 0.1
    model.eval()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def size_kb(model: nn.Module) -> float:
    """Bytes of the serialised state dict (what a deployed copy occupies on disk)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell() / 1024.0


@torch.no_grad()
def latency_ms(
    model: nn.Module, example: torch.Tensor, *, repeats: int = 15, forward: Forward = _plain_forward
) -> float:
    """Median CPU inference time of one batch (the example), after two warm-up runs.

    Measured on the CPU even when training runs on a GPU: the objective is CPU latency.
    """
    model.eval()
    if next(model.parameters(), torch.empty(0)).device.type != "cpu":
        raise ValueError("latency_ms measures CPU latency: move the model to the CPU first")
    x = example.cpu()
    for _ in range(2):
        forward(model, x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        forward(model, x)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def seconds_per_epoch_probe(
    model: nn.Module, data: TensorData, batch_size: int, *, n_batches: int = 3
) -> float:
    """Time a few forward/backward passes of a throwaway model and extrapolate to an epoch."""
    device = data.X.device
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    bs = min(batch_size, len(data))
    xb, yb = data.X[:bs], data.y[:bs]
    F.cross_entropy(model(xb), yb).backward()  # first call pays one-off allocation costs
    t0 = time.perf_counter()
    for _ in range(n_batches):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    per_batch = (time.perf_counter() - t0) / n_batches
    return per_batch * math.ceil(len(data) / bs)
