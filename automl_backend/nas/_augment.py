"""Augmentation of training batches: RandAugment-style image operations and mixup.

An augmentation maps one training batch (flat rows and integer labels) to the batch
the network learns from. Only ``train`` calls it, on rows drawn from its training data:
scoring, batch-norm recalibration and prediction never do. Each augmentation owns a
seeded ``torch.Generator``, so the same seed gives the same batches, and the batch
order of training is the same with and without augmentation.

Images are standardised pixels (``Preprocessor`` scales them), so "black" is not 0:
shifts and rotations fill uncovered pixels with each image's smallest value (the
background of digit-like images), and cutout writes 0 (the mean pixel).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from automl_backend.nas._space import Architecture
from automl_backend.nas._spec import MAX_MAGNITUDE

MAX_SHIFT = 0.25
"""Largest shift, as a share of the image side, at magnitude 10."""
MAX_ROTATION_DEG = 30.0
MAX_NOISE_STD = 0.5
"""Largest Gaussian noise, in standardised pixel units."""
MAX_CUTOUT = 0.5
"""Largest cutout square, as a share of the shorter side."""


class BatchAugment(Protocol):
    """(rows, labels) -> (rows, targets): integer labels, or class probabilities (mixup)."""

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


ImageOp = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]
"""(images (B, C, H, W), strength 0-1, generator) -> images of the same shape and dtype."""


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _affine(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample each image by its 2x3 matrix; pixels from outside take the image's minimum."""
    fill = images.amin(dim=(1, 2, 3), keepdim=True)
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    moved = F.grid_sample(images - fill, grid, padding_mode="zeros", align_corners=False)
    return moved + fill


def shift(images: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``MAX_SHIFT * strength`` of its side, each axis."""
    n = len(images)
    # affine_grid coordinates span [-1, 1]: a shift of s sides is 2 s.
    limit = 2.0 * MAX_SHIFT * strength
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = _uniform(n, -limit, limit, gen)
    theta[:, 1, 2] = _uniform(n, -limit, limit, gen)
    return _affine(images, theta)


def rotate(images: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Rotate each image about its centre by up to ``MAX_ROTATION_DEG * strength`` degrees."""
    n = len(images)
    limit = math.radians(MAX_ROTATION_DEG * strength)
    angle = _uniform(n, -limit, limit, gen)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    return _affine(images, theta)


def noise(images: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``MAX_NOISE_STD * strength``."""
    draw = torch.randn(tuple(images.shape), generator=gen).to(images)
    return images + MAX_NOISE_STD * strength * draw


def cutout(images: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Zero one square per image (DeVries & Taylor 2017), its centre anywhere in the image."""
    n, _, h, w = images.shape
    side = round(MAX_CUTOUT * strength * min(h, w))
    if side == 0:
        return images
    cy = torch.randint(h, (n,), generator=gen)
    cx = torch.randint(w, (n,), generator=gen)
    top, left = cy - side // 2, cx - side // 2
    rows, cols = torch.arange(h), torch.arange(w)
    in_rows = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + side)
    in_cols = (cols[None, :] >= left[:, None]) & (cols[None, :] < left[:, None] + side)
    hole = (in_rows[:, :, None] & in_cols[:, None, :])[:, None].to(images.device)
    return images.masked_fill(hole, 0.0)


IMAGE_OPS: dict[str, ImageOp] = {"shift": shift, "rotate": rotate, "noise": noise, "cutout": cutout}


class RandAugment:
    """``n`` operations per image, each drawn uniformly from ``ops``, at magnitude ``m``."""

    def __init__(
        self, ops: list[str], n: int, m: int, image_shape: tuple[int, int, int], *, seed: int
    ) -> None:
        unknown = [op for op in ops if op not in IMAGE_OPS]
        if unknown:
            raise ValueError(f"unknown augmentation {unknown}; valid: {', '.join(IMAGE_OPS)}")
        if not 0 <= m <= MAX_MAGNITUDE:
            raise ValueError(f"augmentation magnitude must be 0-{MAX_MAGNITUDE}, got {m}")
        self.ops = list(ops)
        self.n = int(n)
        self.strength = m / MAX_MAGNITUDE
        self.image_shape = tuple(image_shape)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.n == 0 or len(x) == 0:
            return x, y
        images = x.reshape(len(x), *self.image_shape)
        for _ in range(self.n):
            pick = torch.randint(len(self.ops), (len(x),), generator=self.generator)
            out = images.clone()
            for k, name in enumerate(self.ops):
                rows = torch.nonzero(pick == k).flatten().to(x.device)
                if len(rows):
                    out[rows] = IMAGE_OPS[name](images[rows], self.strength, self.generator)
            images = out
        return images.reshape(x.shape), y


class Mixup:
    """Blend each batch with a shuffled copy of itself (Zhang et al. 2018).

    One weight ``lam ~ Beta(alpha, alpha)`` per batch; the targets become the same
    convex mixture of the two rows' one-hot labels (``F.cross_entropy`` takes them).
    """

    def __init__(self, alpha: float, n_classes: int, *, seed: int) -> None:
        if alpha <= 0:
            raise ValueError(f"mixup alpha must be positive, got {alpha}")
        self.alpha = float(alpha)
        self.n_classes = int(n_classes)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam = float(self.rng.beta(self.alpha, self.alpha))
        perm = torch.randperm(len(x), generator=self.generator).to(x.device)
        one_hot = F.one_hot(y, self.n_classes).to(x.dtype)
        mixed = lam * x + (1.0 - lam) * x[perm]
        return mixed, lam * one_hot + (1.0 - lam) * one_hot[perm]


def batch_augmentation(
    arch: Architecture, input_shape: tuple[int, ...], n_classes: int, *, seed: int
) -> BatchAugment | None:
    """The augmentation an architecture trains with; None when it has none (N = 0, no mixup)."""
    policy = arch.get("augment")
    if arch["kind"] == "cnn" and policy and policy["n"] > 0:
        c, h, w = (int(s) for s in input_shape)
        return RandAugment(policy["ops"], policy["n"], policy["m"], (c, h, w), seed=seed)
    alpha = arch.get("mixup_alpha") or 0.0
    if arch["kind"] == "mlp" and alpha > 0:
        return Mixup(alpha, n_classes, seed=seed)
    return None
