"""What an experiment searches, as one stable string: equal strings mean equal arms.

Names, budgets and warm starts are left out (they do not change what is searched);
families, their hyperparameter spaces, preprocessing and the training share are in.
"""

from __future__ import annotations

import json

from automl_backend import ExperimentSpec


def spec_signature(spec: ExperimentSpec) -> str:
    """A canonical description of the search space and data handling of ``spec``."""
    models = sorted(
        (m.family, json.dumps(m.model_dump(mode="json")["params"], sort_keys=True))
        for m in spec.models
    )
    pre = spec.preprocessing.model_dump(mode="json")
    return json.dumps(
        {
            "models": models,
            "preprocessing": pre,
            "train_fraction": spec.cv.train_fraction,
            "kind": spec.kind,
            "nas": spec.nas.model_dump(mode="json") if spec.nas is not None else None,
        },
        sort_keys=True,
    )


def arm_key(spec: ExperimentSpec) -> str:
    """``spec_signature`` plus what makes two runs of it comparable: trials and seed.

    Two arms with the same key measure the same thing, so one result serves both.
    """
    return f"{spec_signature(spec)}|trials={spec.budget.n_trials}|seed={spec.seed}"


__all__ = ["arm_key", "spec_signature"]
