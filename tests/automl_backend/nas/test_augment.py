"""Augmentation of training batches: the image operations, RandAugment, mixup, and that
only training rows are ever augmented."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_backend.nas import (
    AugmentPolicy,
    CellSpace,
    MLPSpace,
    NASError,
    NASSpec,
    _augment,
    _evaluate,
    run_nas,
    with_augmentation,
)
from automl_backend.nas._augment import IMAGE_OPS, Mixup, RandAugment, batch_augmentation
from automl_backend.nas._evaluate import Evaluator
from automl_backend.nas._space import SearchSpace
from automl_backend.nas._spec import parse_nas_spec
from automl_backend.nas._strategy import Proposal
from automl_backend.nas._train import TensorData, train
from automl_backend.nas.strategies._spos import pinned_space

SHAPE = (1, 8, 8)


def images(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 64, generator=torch.Generator().manual_seed(seed))


def labels(n: int = 16) -> torch.Tensor:
    return torch.arange(n) % 4


@pytest.mark.parametrize("name", sorted(IMAGE_OPS))
@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_each_op_keeps_shape_and_dtype(name: str, strength: float) -> None:
    x = images().reshape(16, *SHAPE)
    out = IMAGE_OPS[name](x, strength, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    if strength > 0:
        assert not torch.equal(out, x)
    else:  # magnitude 0: no change (up to the resampling's rounding)
        assert torch.allclose(out, x, atol=1e-5)


@pytest.mark.parametrize("name", ["shift", "rotate"])
def test_moved_images_fill_uncovered_pixels_with_the_background(name: str) -> None:
    blank = torch.full((4, 1, 8, 8), -1.3)  # a standardised black image is below 0
    moved = IMAGE_OPS[name](blank, 1.0, torch.Generator().manual_seed(3))
    assert torch.allclose(moved, blank, atol=1e-5)  # zero padding would show as 0s
    x = blank.clone()
    x[:, 0, 3:5, 3:5] = 5.0
    moved = IMAGE_OPS[name](x, 1.0, torch.Generator().manual_seed(3))
    assert not torch.allclose(moved, x)
    assert moved.min() >= -1.3 - 1e-5 and moved.max() <= 5.0 + 1e-5


def test_cutout_zeroes_a_square_and_leaves_the_rest() -> None:
    x = torch.full((4, 1, 8, 8), 2.0)
    out = _augment.cutout(x, 1.0, torch.Generator().manual_seed(0))
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert ((zeros > 0) & (zeros <= 16)).all()  # a square of side 4, clipped at the edges
    assert ((out == 0) | (out == 2.0)).all()


def test_policy_with_n_zero_is_the_identity() -> None:
    x, y = images(), labels()
    out, out_y = RandAugment(list(IMAGE_OPS), 0, 10, SHAPE, seed=0)(x, y)
    assert torch.equal(out, x) and torch.equal(out_y, y)
    arch = {"kind": "cnn", "augment": None}
    assert batch_augmentation(arch, SHAPE, 4, seed=0) is None
    assert batch_augmentation({"kind": "cnn"}, SHAPE, 4, seed=0) is None


def test_randaugment_keeps_shape_dtype_and_labels_and_changes_rows() -> None:
    x, y = images(), labels()
    out, out_y = RandAugment(list(IMAGE_OPS), 2, 6, SHAPE, seed=0)(x, y)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out_y, y)
    assert not torch.equal(out, x)
    assert torch.equal(x, images())  # the input batch is not modified in place


def test_augmentation_is_deterministic_with_a_seed() -> None:
    x, y = images(), labels()

    def twice(make):
        first, second = make(), make()
        return [a(x, y)[0] for a in (first, first)], [a(x, y)[0] for a in (second, second)]

    run_a, run_b = twice(lambda: RandAugment(list(IMAGE_OPS), 2, 9, SHAPE, seed=7))
    assert all(torch.equal(a, b) for a, b in zip(run_a, run_b, strict=True))
    assert not torch.equal(run_a[0], run_a[1])  # successive batches get fresh draws
    other = RandAugment(list(IMAGE_OPS), 2, 9, SHAPE, seed=8)(x, y)[0]
    assert not torch.equal(other, run_a[0])
    mix_a, mix_b = Mixup(0.4, 4, seed=3)(x, y), Mixup(0.4, 4, seed=3)(x, y)
    assert torch.equal(mix_a[0], mix_b[0]) and torch.equal(mix_a[1], mix_b[1])


def test_mixup_targets_are_the_same_convex_mixture_as_the_rows() -> None:
    x, y = images(32), labels(32)
    mixed, targets = Mixup(0.4, 4, seed=0)(x, y)
    assert targets.shape == (32, 4) and targets.dtype == x.dtype
    assert (targets >= 0).all() and torch.allclose(targets.sum(1), torch.ones(32))
    # One weight per batch: read it off a row whose two labels differ.
    two_labels = (targets > 0).sum(1) == 2
    assert two_labels.any()
    lam = float(targets[two_labels][0][y[two_labels][0]])
    assert 0.0 < lam < 1.0
    # Each row is lam * itself + (1 - lam) * one partner; the partners are a permutation,
    # and each row's targets mix the two one-hot labels with the same weights.
    partner_rows = (mixed - lam * x) / (1.0 - lam)
    partners = torch.cdist(partner_rows, x).argmin(dim=1)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[partners], atol=1e-4)
    assert sorted(partners.tolist()) == list(range(32))
    one_hot = torch.nn.functional.one_hot(y, 4).float()
    assert torch.allclose(targets, lam * one_hot + (1 - lam) * one_hot[partners], atol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        Mixup(0.0, 4, seed=0)


def test_mixup_uses_one_weight_and_one_permutation_per_batch() -> None:
    x, y = images(32), labels(32)
    mix = Mixup(1.0, 4, seed=5)
    mixed, targets = mix(x, y)
    again = Mixup(1.0, 4, seed=5)
    lam = float(again.rng.beta(1.0, 1.0))
    perm = torch.randperm(32, generator=again.generator)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[perm])
    one_hot = torch.nn.functional.one_hot(y, 4).float()
    assert torch.allclose(targets, lam * one_hot + (1 - lam) * one_hot[perm])


def test_augmentation_never_touches_validation_rows(monkeypatch) -> None:
    """Validation rows are marked (every value 1000); every batch that reaches the
    augmentation must come from the training rows, and there must be such batches."""
    gen = torch.Generator().manual_seed(0)
    fit = TensorData(torch.randn(64, 64, generator=gen), torch.arange(64) % 4)
    val = TensorData(torch.full((24, 64), 1000.0), torch.arange(24) % 4)
    seen: list[torch.Tensor] = []
    real = _evaluate.batch_augmentation

    def spying(*args, **kwargs):
        augment = real(*args, **kwargs)
        assert augment is not None

        def wrapped(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            seen.append(xb.detach().clone())
            return augment(xb, yb)

        return wrapped

    monkeypatch.setattr(_evaluate, "batch_augmentation", spying)
    space = SearchSpace(
        CellSpace(channels=[4], normal_cells=[1], nodes=2, augment=AugmentPolicy(n_ops=[2]))
    )
    genome = space.sample(np.random.default_rng(0))
    arch = space.to_arch(genome)
    assert arch["augment"]["n"] == 2
    evaluator = Evaluator(fit, val, SHAPE, 4, seed=0)
    evaluation = evaluator.evaluate(Proposal(genome, 2), arch, trial=0)
    assert seen, "the training batches were not augmented"
    assert sum(len(b) for b in seen) == 2 * len(fit)
    assert all(float(b.abs().max()) < 100.0 for b in seen)
    assert 0.0 <= evaluation.accuracy <= 1.0


def test_test_rows_are_never_augmented_in_a_whole_run(digits, monkeypatch) -> None:
    X, y = digits
    X_test = np.full((40, 64), 1000.0)  # marked test rows: far outside the pixel range
    seen: list[float] = []
    real_call = RandAugment.__call__

    def spying(self, x, y_):
        seen.append(float(x.abs().max()))
        return real_call(self, x, y_)

    monkeypatch.setattr(RandAugment, "__call__", spying)
    space = CellSpace(channels=[4], normal_cells=[1], nodes=2, augment=AugmentPolicy(n_ops=[1]))
    spec = NASSpec(
        space=space, strategy="random", time_budget_s=None, max_trials=2,
        epochs_per_trial=1, final_epochs=1,
    )  # fmt: skip
    result = run_nas(spec, X, y, X_test=X_test, y_test=y[:40])
    assert seen and max(seen) < 100.0  # pixels standardised on training rows stay small
    assert result.best_architecture["augment"]["n"] == 1
    assert result.test_accuracy is not None


def test_train_learns_from_augmented_batches_only_when_asked() -> None:
    gen = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(64, 10, generator=gen), torch.arange(64) % 3)

    def trained(augment) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = torch.nn.Linear(10, 3)
        kw = dict(epochs=2, lr=1e-2, weight_decay=0.0, batch_size=16, seed=0)
        train(model, data, augment=augment, **kw)
        return model.state_dict()

    plain, again = trained(None), trained(None)
    mixed = trained(Mixup(0.4, 3, seed=0))
    assert all(torch.equal(plain[k], again[k]) for k in plain)
    assert not all(torch.equal(plain[k], mixed[k]) for k in plain)


def test_the_search_picks_n_and_m_and_zero_n_has_no_magnitude() -> None:
    space = SearchSpace(CellSpace(augment=AugmentPolicy(n_ops=[0, 1, 2], magnitudes=[3, 9])))
    assert {"augment_n", "augment_m"} <= set(space.index)
    rng = np.random.default_rng(0)
    archs = [space.to_arch(space.sample(rng)) for _ in range(200)]
    policies = {(a["augment"] or {}).get("n", 0) for a in archs}
    assert policies == {0, 1, 2}
    assert {a["augment"]["m"] for a in archs if a["augment"]} == {3, 9}
    genome = list(space.sample(rng))
    genome[space.index["augment_n"]] = 0
    g0, g1 = list(genome), list(genome)
    g0[space.index["augment_m"]], g1[space.index["augment_m"]] = 0, 1
    assert space.key(tuple(g0)) == space.key(tuple(g1))  # M does not matter when N = 0
    for arch in archs[:20]:
        assert space.to_arch(space.from_arch(arch)) == arch


def test_without_a_policy_the_space_and_architectures_are_unchanged() -> None:
    for config in (CellSpace(), MLPSpace()):
        space = SearchSpace(config)
        assert not {"augment_n", "augment_m", "mixup"} & set(space.index)
        arch = space.to_arch(space.sample(np.random.default_rng(0)))
        assert "augment" not in arch and "mixup_alpha" not in arch


def test_one_shot_strategies_pin_the_augmentation() -> None:
    space = SearchSpace(CellSpace(augment=AugmentPolicy(n_ops=[0, 1, 2], magnitudes=[3, 6, 9])))
    pinned = pinned_space(space)
    assert pinned.fixed["augment_n"] == 1 and pinned.fixed["augment_m"] == 1
    mlp = pinned_space(SearchSpace(MLPSpace(mixup_alphas=[0.0, 0.2, 0.4])))
    assert mlp.fixed["mixup"] == 1


def test_specs_with_augmentation_round_trip_through_json_and_yaml() -> None:
    import yaml

    for spec in (
        NASSpec(space=CellSpace(augment=AugmentPolicy(ops=["shift", "cutout"], n_ops=[1, 2])),
                strategy="evolution"),
        NASSpec(space=MLPSpace(mixup_alphas=[0.0, 0.2]), strategy="random"),
    ):  # fmt: skip
        assert NASSpec.model_validate_json(spec.model_dump_json()) == spec
        dumped = yaml.safe_dump(spec.model_dump(mode="json"))
        assert parse_nas_spec(yaml.safe_load(dumped)) == spec


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"kind": "cnn", "augment": {"ops": ["flip"]}}, "shift"),
        ({"kind": "cnn", "augment": {"ops": []}}, "at least one operation"),
        ({"kind": "cnn", "augment": {"n_ops": [5]}}, "outside"),
        ({"kind": "cnn", "augment": {"magnitudes": [11]}}, "outside"),
        ({"kind": "cnn", "augment": {"magnitudes": [3, 3]}}, "duplicate"),
        ({"kind": "cnn", "augment": {"strength": 3}}, "strength"),
        ({"kind": "mlp", "mixup_alphas": [-0.1]}, "outside"),
        ({"kind": "mlp", "augment": {}}, "applies to the cnn space"),
        ({"kind": "cnn", "mixup_alphas": [0.2]}, "applies to the mlp space"),
    ],
)
def test_bad_augmentation_settings_give_one_line_errors(space: dict, message: str) -> None:
    with pytest.raises(NASError, match=message) as info:
        parse_nas_spec({"space": space})
    assert "\n" not in str(info.value)


def test_with_augmentation_adds_the_default_search_and_keeps_given_settings() -> None:
    cnn = parse_nas_spec({"space": with_augmentation({"kind": "cnn"})}).space
    assert isinstance(cnn, CellSpace) and cnn.augment == AugmentPolicy()
    mine = {"kind": "cnn", "augment": {"n_ops": [1]}}
    assert with_augmentation(mine) == mine
    mlp = parse_nas_spec({"space": with_augmentation({"kind": "mlp"})}).space
    assert isinstance(mlp, MLPSpace) and mlp.mixup_alphas == [0.0, 0.2, 0.4]
    assert with_augmentation({"mixup_alphas": [0.3]}) == {"mixup_alphas": [0.3]}
