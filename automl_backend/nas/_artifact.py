"""A trained network with its preprocessing: saved as model.safetensors, reloaded for prediction.

safetensors holds tensors and a header of strings, nothing executable: the weights,
and the architecture, input shape, classes and preprocessing as JSON in the header.
Older runs saved ``model.pt`` (a restricted torch pickle); only ``trust=True`` loads one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from automl_backend._integrity import record_files, refusal, verify_folder
from automl_backend.nas._data import Preprocessor
from automl_backend.nas._errors import NASError
from automl_backend.nas._models import build_model
from automl_backend.nas._space import Architecture
from automl_backend.nas._train import predict_logits

MODEL_FILE = "model.safetensors"
LEGACY_MODEL_FILE = "model.pt"
_FORMAT = "2"


class NASModel:
    """Predicts class labels and probabilities on raw rows (table or image array)."""

    def __init__(
        self,
        network: nn.Module,
        arch: Architecture,
        input_shape: tuple[int, ...],
        classes: list[Any],
        preprocessor: Preprocessor,
    ) -> None:
        self.network = network
        self.arch = arch
        self.input_shape = tuple(input_shape)
        self.classes = list(classes)
        self.preprocessor = preprocessor

    def features(self, X: pd.DataFrame | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(self.preprocessor.transform(X), dtype=torch.float32)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        self.network.cpu()
        logits = predict_logits(self.network, self.features(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        codes = self.predict_proba(X).argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[codes]

    def save(self, path: Path) -> Path:
        """Write ``path`` (safetensors) and record its SHA-256 in the folder's manifest."""
        from safetensors.torch import save_file

        path = Path(path)
        # Clones: safetensors refuses tensors that share memory.
        tensors = {k: v.detach().cpu().clone() for k, v in self.network.state_dict().items()}
        header = {
            "format": _FORMAT,
            "arch": json.dumps(self.arch),
            "input_shape": json.dumps(list(self.input_shape)),
            "classes": json.dumps(self.classes),
            "preprocessor": json.dumps(self.preprocessor.to_json()),
        }
        save_file(tensors, str(path), metadata=header)
        record_files(path.parent, [path.name])
        return path

    @classmethod
    def load(cls, path: Path, trust: bool = False) -> NASModel:
        """Load from a run directory or its model file.

        Unless ``trust``, the folder's manifest must list the file with a matching hash,
        and an older ``model.pt`` is refused (:class:`UntrustedModelError`).
        """
        path = model_path(Path(path))
        if not path.is_file():
            raise NASError(f"no NAS model at {path}")
        pickled = path.suffix != ".safetensors"
        if not trust:
            verify_folder(path.parent, [path.name])
            if pickled:
                raise refusal(path, f"{path.name} is a torch pickle (an older cosci's format)")
        try:
            bundle = _read_pickle(path) if pickled else _read_safetensors(path)
            shape = tuple(bundle["input_shape"])
            network = build_model(bundle["arch"], shape, len(bundle["classes"]))
            network.load_state_dict(bundle["state_dict"])
        except Exception as exc:
            raise NASError(f"cannot load NAS model {path}: {type(exc).__name__}: {exc}") from None
        network.eval()
        return cls(
            network,
            bundle["arch"],
            shape,
            bundle["classes"],
            Preprocessor(**bundle["preprocessor"]),
        )


def model_path(path: Path) -> Path:
    """The model file of a run directory (an older run's ``model.pt`` if that is all it
    has), or ``path`` itself when it is a file."""
    if not path.is_dir():
        return path
    legacy = path / LEGACY_MODEL_FILE
    return legacy if legacy.is_file() and not (path / MODEL_FILE).is_file() else path / MODEL_FILE


def _read_safetensors(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as fh:
        header = fh.metadata() or {}
        state = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118
    if header.get("format") != _FORMAT:
        raise ValueError(f"unknown model format {header.get('format')!r}")
    bundle: dict[str, Any] = {k: json.loads(header[k]) for k in
                              ("arch", "input_shape", "classes", "preprocessor")}  # fmt: skip
    bundle["state_dict"] = state
    return bundle


def _read_pickle(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
