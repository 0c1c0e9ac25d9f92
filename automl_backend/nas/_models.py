"""Build networks from architectures, build supernets, and inherit weights between them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl_backend.nas._cells import CellNetwork
from automl_backend.nas._mlp import MLPNet, build_mlp_supernet
from automl_backend.nas._space import Architecture
from automl_backend.nas._spec import CellSpace, MLPSpace


def build_model(arch: Architecture, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """A stand-alone network for one architecture."""
    if arch["kind"] == "mlp":
        return MLPNet(int(input_shape[0]), n_classes, arch)
    return CellNetwork(_image_shape(input_shape), n_classes, arch)


def build_supernet(
    space: MLPSpace | CellSpace,
    template: Architecture,
    input_shape: tuple[int, ...],
    n_classes: int,
) -> nn.Module:
    """Weight-sharing network holding every architecture of ``space`` that agrees with
    ``template`` on the decisions one-shot methods do not search (cnn: channels and cell
    count; both: the training hyperparameters)."""
    if isinstance(space, MLPSpace):
        return build_mlp_supernet(int(input_shape[0]), n_classes, space)
    return CellNetwork(
        _image_shape(input_shape), n_classes, template, supernet_ops=list(space.operations)
    )


def _image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"the cnn space needs (channels, height, width), got {input_shape}")
    return (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))


def inherit_weights(model: nn.Module, source: dict[str, torch.Tensor]) -> None:
    """Copy weights into ``model`` from a larger (or equal) network's state dict.

    Each tensor takes the leading block of the source tensor of the same name: the
    slicing convention MLP supernets run sub-networks with; cell supernets have equal
    shapes for every shared name.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in source]
    if missing:
        raise KeyError(f"source has no weights for {missing[:3]} ...")
    with torch.no_grad():
        for name, target in own.items():
            src = source[name]
            if src.dim() != target.dim() or any(
                s < t for s, t in zip(src.shape, target.shape, strict=True)
            ):
                raise ValueError(f"cannot inherit {name}: {tuple(src.shape)} -> {target.shape}")
            block = src[tuple(slice(0, t) for t in target.shape)] if target.dim() else src
            target.copy_(block.to(target.device))


def architecture_forward(arch: Architecture) -> Any:
    """Forward function running a supernet along one architecture's path."""

    def forward(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
        return model(xb, arch)

    return forward
