"""A trained network with its preprocessing: saved as model.pt, reloaded for prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from automl_backend.nas._data import Preprocessor
from automl_backend.nas._errors import NASError
from automl_backend.nas._models import build_model
from automl_backend.nas._space import Architecture
from automl_backend.nas._train import predict_logits

MODEL_FILE = "model.pt"


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

    def save(self, path: Path) -> None:
        torch.save(
            {
                "format": 1,
                "arch": self.arch,
                "input_shape": list(self.input_shape),
                "classes": self.classes,
                "preprocessor": self.preprocessor.to_json(),
                "state_dict": {k: v.cpu() for k, v in self.network.state_dict().items()},
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> NASModel:
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.is_file():
            raise NASError(f"no NAS model at {path}")
        bundle = torch.load(path, map_location="cpu", weights_only=True)
        shape = tuple(bundle["input_shape"])
        network = build_model(bundle["arch"], shape, len(bundle["classes"]))
        network.load_state_dict(bundle["state_dict"])
        network.eval()
        return cls(
            network,
            bundle["arch"],
            shape,
            bundle["classes"],
            Preprocessor(**bundle["preprocessor"]),
        )
