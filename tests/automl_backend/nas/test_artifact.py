"""NASModel files: safetensors plus a manifest; older torch pickles load only when trusted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from automl_backend import UntrustedModelError
from automl_backend.nas import CellSpace, MLPSpace, NASModel, SearchSpace
from automl_backend.nas._data import Preprocessor
from automl_backend.nas._models import build_model


def _model(space: MLPSpace | CellSpace, shape: tuple[int, ...], seed: int = 0) -> NASModel:
    rng = np.random.default_rng(seed)
    search = SearchSpace(space)
    arch = search.to_arch(search.sample(rng))
    torch.manual_seed(seed)
    network = build_model(arch, shape, 3)
    network.train()
    network(torch.randn(16, *shape))  # non-trivial batch-norm statistics, if any
    network.eval()
    X = rng.normal(size=(40, int(np.prod(shape))))
    kind = "image" if len(shape) == 3 else "tabular"
    return NASModel(network, arch, shape, ["a", "b", "c"], Preprocessor.fit(X, kind))


@pytest.mark.parametrize(
    ("space", "shape"),
    [(MLPSpace(norms=["batch"]), (6,)), (CellSpace(channels=[4], normal_cells=[1]), (1, 8, 8))],
)
def test_saved_model_reloads_without_trust_and_predicts_the_same(
    space: MLPSpace | CellSpace, shape: tuple[int, ...], tmp_path: Path
) -> None:
    model = _model(space, shape)
    written = model.save(tmp_path / "model.safetensors")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest) == ["model.safetensors"] and written == tmp_path / "model.safetensors"
    loaded = NASModel.load(tmp_path)
    X = np.random.default_rng(1).normal(size=(5, int(np.prod(shape))))
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    assert loaded.arch == model.arch and loaded.classes == model.classes
    assert loaded.input_shape == model.input_shape


def test_a_changed_weights_file_is_refused(tmp_path: Path) -> None:
    _model(MLPSpace(), (6,)).save(tmp_path / "model.safetensors")
    _model(MLPSpace(), (6,), seed=1).save(tmp_path / "other.safetensors")
    (tmp_path / "other.safetensors").replace(tmp_path / "model.safetensors")
    with pytest.raises(UntrustedModelError, match=r"model\.safetensors does not match"):
        NASModel.load(tmp_path)
    assert NASModel.load(tmp_path, trust=True).classes == ["a", "b", "c"]


def test_an_older_model_pt_loads_only_when_trusted(tmp_path: Path) -> None:
    model = _model(MLPSpace(), (6,))
    torch.save(
        {
            "format": 1,
            "arch": model.arch,
            "input_shape": list(model.input_shape),
            "classes": model.classes,
            "preprocessor": model.preprocessor.to_json(),
            "state_dict": model.network.state_dict(),
        },
        tmp_path / "model.pt",
    )
    with pytest.raises(UntrustedModelError, match="--trust"):
        NASModel.load(tmp_path)
    X = np.random.default_rng(1).normal(size=(5, 6))
    loaded = NASModel.load(tmp_path, trust=True)
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
