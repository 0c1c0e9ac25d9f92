"""Neural architecture search: spaces, strategies, and the run that ties them together.

Importing this package is cheap (no torch, numpy or pandas): the spec and result models
load at once, everything else on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automl_backend.lazy import lazy_exports
from automl_backend.nas._errors import NASError
from automl_backend.nas._result import NASResult, TrialRecord
from automl_backend.nas._spec import (
    AugmentPolicy,
    CellSpace,
    MLPSpace,
    NASSpec,
    load_space,
    parse_nas_spec,
    with_augmentation,
)

if TYPE_CHECKING:
    from automl_backend.nas._adapter import nas_features
    from automl_backend.nas._artifact import NASModel
    from automl_backend.nas._runner import run_nas
    from automl_backend.nas._space import SearchSpace, describe_arch
    from automl_backend.nas._strategy import Evaluation, Proposal, SearchStrategy

_LAZY = {
    "NASModel": "_artifact",
    "nas_features": "_adapter",
    "run_nas": "_runner",
    "SearchSpace": "_space",
    "describe_arch": "_space",
    "Evaluation": "_strategy",
    "Proposal": "_strategy",
    "SearchStrategy": "_strategy",
}

__all__ = [
    "AugmentPolicy",
    "CellSpace",
    "Evaluation",
    "MLPSpace",
    "NASError",
    "NASModel",
    "NASResult",
    "NASSpec",
    "Proposal",
    "SearchSpace",
    "SearchStrategy",
    "TrialRecord",
    "describe_arch",
    "load_space",
    "nas_features",
    "parse_nas_spec",
    "run_nas",
    "with_augmentation",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
