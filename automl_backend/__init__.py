"""automl_backend: tabular AutoML (search spaces, HPO, ensembles, estimators, run artifacts).

Usable on its own, without any agent::

    from automl_backend import AutoMLClassifier
    model = AutoMLClassifier(time_budget=60).fit(X, y)

Names are imported lazily so that ``import automl_backend`` stays cheap (the CLI and
the agents import it; scikit-learn and Optuna load only when something runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automl_backend.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # errors
    "BackendError": "_errors",
    "DataError": "_errors",
    "SpecError": "_errors",
    "UntrustedModelError": "_errors",
    # search-space contract
    "IntDistribution": "_distributions",
    "FloatDistribution": "_distributions",
    "CategoricalDistribution": "_distributions",
    "Distribution": "_distributions",
    "ExperimentSpec": "_spec",
    "ModelSpace": "_spec",
    "PreprocessingSpace": "_spec",
    "PreprocessingConfig": "_spec",
    "TrialConfig": "_spec",
    "SearchSpec": "_spec",
    "BudgetSpec": "_spec",
    "CVSpec": "_spec",
    "EnsembleSpec": "_spec",
    "parse_spec": "_spec",
    "narrow_space_around": "_narrow",
    # feature transforms
    "FeatureTransform": "_features",
    "candidate_features": "_features.candidates",
    "describe_transform": "_features.vocabulary",
    "select_features": "_features.selection",
    # registry
    "family_names": "_registry",
    "default_space": "_registry",
    "default_config": "_registry",
    "metric_names": "_metrics",
    "metric_is_loss": "_metrics",
    "natural_value": "_metrics",
    "family_info": "_registry",
    # data
    "Dataset": "_dataset",
    "load_dataset": "_loaders",
    "keel_train_test": "_loaders",
    "read_table": "_loaders",
    "table_as_pandas": "_loaders",
    "train_test_split_dataset": "_splits",
    "DatasetProfile": "_profile",
    "profile_dataset": "_profile",
    # running
    "ExperimentResult": "_result",
    "EnsembleMember": "_result",
    "run_spec": "_runner",
    "score_model": "_model",
    "has_oof": "_hpo.oof",
    "OOFInfo": "_hpo.oof",
    "OOF_INFO_FILE": "_hpo.oof",
    "ProgressEvent": "_progress",
    "FittedModel": "_model",
    "load_model": "_model",
    "combine_runs": "_combine",
    "CombinedResult": "_combine",
    "AutoMLClassifier": "_estimators",
    "AutoMLRegressor": "_estimators",
}

__all__ = [
    "OOF_INFO_FILE",
    "AutoMLClassifier",
    "AutoMLRegressor",
    "BackendError",
    "BudgetSpec",
    "CVSpec",
    "CategoricalDistribution",
    "CombinedResult",
    "DataError",
    "Dataset",
    "DatasetProfile",
    "Distribution",
    "EnsembleMember",
    "EnsembleSpec",
    "ExperimentResult",
    "ExperimentSpec",
    "FeatureTransform",
    "FittedModel",
    "FloatDistribution",
    "IntDistribution",
    "ModelSpace",
    "OOFInfo",
    "PreprocessingConfig",
    "PreprocessingSpace",
    "ProgressEvent",
    "SearchSpec",
    "SpecError",
    "TrialConfig",
    "UntrustedModelError",
    "candidate_features",
    "combine_runs",
    "default_config",
    "default_space",
    "describe_transform",
    "family_info",
    "family_names",
    "has_oof",
    "keel_train_test",
    "load_dataset",
    "load_model",
    "metric_is_loss",
    "metric_names",
    "narrow_space_around",
    "natural_value",
    "parse_spec",
    "profile_dataset",
    "read_table",
    "run_spec",
    "score_model",
    "select_features",
    "table_as_pandas",
    "train_test_split_dataset",
]

if TYPE_CHECKING:
    from automl_backend._combine import CombinedResult, combine_runs
    from automl_backend._dataset import Dataset
    from automl_backend._distributions import (
        CategoricalDistribution,
        Distribution,
        FloatDistribution,
        IntDistribution,
    )
    from automl_backend._errors import BackendError, DataError, SpecError, UntrustedModelError
    from automl_backend._estimators import AutoMLClassifier, AutoMLRegressor
    from automl_backend._features import FeatureTransform
    from automl_backend._features.candidates import candidate_features
    from automl_backend._features.selection import select_features
    from automl_backend._features.vocabulary import describe_transform
    from automl_backend._hpo.oof import OOF_INFO_FILE, OOFInfo, has_oof
    from automl_backend._loaders import (
        keel_train_test,
        load_dataset,
        read_table,
        table_as_pandas,
    )
    from automl_backend._metrics import metric_is_loss, metric_names, natural_value
    from automl_backend._model import FittedModel, load_model, score_model
    from automl_backend._narrow import narrow_space_around
    from automl_backend._profile import DatasetProfile, profile_dataset
    from automl_backend._progress import ProgressEvent
    from automl_backend._registry import default_config, default_space, family_info, family_names
    from automl_backend._result import EnsembleMember, ExperimentResult
    from automl_backend._runner import run_spec
    from automl_backend._spec import (
        BudgetSpec,
        CVSpec,
        EnsembleSpec,
        ExperimentSpec,
        ModelSpace,
        PreprocessingConfig,
        PreprocessingSpace,
        SearchSpec,
        TrialConfig,
        parse_spec,
    )
    from automl_backend._splits import train_test_split_dataset

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
