"""Magnitude (unstructured) and structured (neuron) pruning, and masked fine-tuning."""

from __future__ import annotations

import copy

import torch
from torch import nn

from automl_backend.nas._mlp import MLPNet
from automl_backend.nas._train import LossFn, TensorData, train

Masks = dict[str, torch.Tensor]


def prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    """Weights of Linear and Conv layers (biases and norms are too small to matter)."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            out[f"{name}.weight"] = m.weight
    return out


def magnitude_prune(model: nn.Module, sparsity: float) -> Masks:
    """Zero the globally smallest-magnitude ``sparsity`` share of prunable weights, in place.

    A global threshold (rather than one per layer) lets redundant layers lose more.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = prunable(model)
    if not weights or sparsity == 0.0:
        return {k: torch.ones_like(w, dtype=torch.bool) for k, w in weights.items()}
    magnitudes = torch.cat([w.detach().abs().flatten().cpu() for w in weights.values()])
    k = int(sparsity * magnitudes.numel())
    threshold = magnitudes.kthvalue(max(k, 1)).values.item()
    masks = {}
    with torch.no_grad():
        for name, w in weights.items():
            masks[name] = w.abs() > threshold
            w.mul_(masks[name])
    return masks


def fine_tune_masked(
    model: nn.Module,
    data: TensorData,
    masks: Masks,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    loss_fn: LossFn | None = None,
) -> None:
    """Train with pruned weights held at zero (their gradients are masked; AdamW's
    decoupled weight decay keeps zeros at zero)."""
    model.to(data.X.device)
    masks = {name: mask.to(data.X.device) for name, mask in masks.items()}
    weights = prunable(model)
    handles = [
        weights[name].register_hook(lambda g, m=mask: g * m)
        for name, mask in masks.items()
        if name in weights
    ]
    try:
        kwargs = {"loss_fn": loss_fn} if loss_fn is not None else {}
        train(
            model,
            data,
            epochs=epochs,
            lr=lr,
            weight_decay=0.0,
            batch_size=batch_size,
            seed=seed,
            **kwargs,
        )
    finally:
        for h in handles:
            h.remove()
    with torch.no_grad():
        for name, mask in masks.items():
            weights[name].mul_(mask)


def _groups(net: MLPNet) -> list[list[int]]:
    """Layers joined by identity residuals must keep the same neurons."""
    groups: list[list[int]] = []
    for i in range(len(net.linears)):
        identity = (
            net.arch["residual"]
            and i > 0
            and str(i) not in net.projs
            and net.linears[i].out_features == net.linears[i - 1].out_features
        )
        if identity:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def structured_prune_mlp(net: MLPNet, fraction: float) -> MLPNet:
    """A narrower copy of ``net`` without the ``fraction`` of hidden neurons (per layer)
    whose incoming weights have the smallest L1 norm; the result is a dense, smaller MLP."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    keep: dict[int, torch.Tensor] = {}
    for group in _groups(net):
        score = sum(net.linears[i].weight.detach().abs().sum(1) for i in group)
        width = net.linears[group[0]].out_features
        n_keep = max(1, round(width * (1 - fraction)))
        kept = torch.sort(torch.topk(score, n_keep).indices).values
        for i in group:
            keep[i] = kept
    arch = copy.deepcopy(net.arch)
    arch["widths"] = [len(keep[i]) for i in range(len(net.linears))]
    small = MLPNet(net.linears[0].in_features, net.head.out_features, arch)
    for name in net.projs:
        if name not in small.projs:  # widths became equal, but the join stays a projection
            i = int(name)
            small.projs[name] = nn.Linear(len(keep[i - 1]), len(keep[i]), bias=False)
    with torch.no_grad():
        for i, lin in enumerate(net.linears):
            rows = keep[i]
            cols = keep[i - 1] if i > 0 else torch.arange(lin.in_features)
            small.linears[i].weight.copy_(lin.weight[rows][:, cols])
            small.linears[i].bias.copy_(lin.bias[rows])
            for kind, norm in net.norms[i].items():
                target = small.norms[i][kind]
                for attr in ("weight", "bias", "running_mean", "running_var"):
                    src = getattr(norm, attr, None)
                    if src is not None:
                        getattr(target, attr).copy_(src[rows])
            if str(i) in small.projs:
                small.projs[str(i)].weight.copy_(net.projs[str(i)].weight[rows][:, cols])
        small.head.weight.copy_(net.head.weight[:, keep[len(net.linears) - 1]])
        small.head.bias.copy_(net.head.bias)
    return small.eval()
