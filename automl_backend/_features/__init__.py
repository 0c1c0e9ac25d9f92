"""Feature engineering and augmentation as typed, closed interventions.

A spec's ``features`` list names transforms from a fixed vocabulary (``vocabulary``);
``FeatureBuilder`` (``builder``) turns them into the first step of every trial
pipeline, fit on training rows only. ``candidates`` proposes transforms from rules over
the data, ``selection`` keeps those that improve inner-fold CV (``features: auto``), and
``oversample`` is SMOTE-style oversampling applied inside training folds only.

Only the leaf modules are re-exported here: ``candidates`` and ``selection`` build
pipelines (``automl_backend._preprocess``), which import this package's vocabulary, so
they are imported by their module path to keep the imports one-way.
"""

from automl_backend._features.builder import FeatureBuilder, parse_transforms
from automl_backend._features.oversample import OversampledClassifier, smote_resample
from automl_backend._features.vocabulary import (
    MAX_GENERATED_COLUMNS,
    FeatureTransform,
    check_features,
    describe_transform,
)

__all__ = [
    "MAX_GENERATED_COLUMNS",
    "FeatureBuilder",
    "FeatureTransform",
    "OversampledClassifier",
    "check_features",
    "describe_transform",
    "parse_transforms",
    "smote_resample",
]
