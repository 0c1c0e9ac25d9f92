"""Trials on many machines: a study on a database server that ``cosci worker``s join.

``run_spec(spec, data, storage="postgresql://...")`` creates (or joins) the spec's study
there and publishes its problem; :func:`run_study_worker` evaluates its trials from any
process that reaches the database, and :func:`follow_studies` does so for every study
of a name prefix as drivers create them. See the README's "Scaling out" section.
"""

from __future__ import annotations

from automl_backend._hpo.storage import is_shared_storage, open_storage, redact
from automl_backend._hpo.study_worker import WorkerSummary, follow_studies, run_study_worker

__all__ = [
    "WorkerSummary",
    "follow_studies",
    "is_shared_storage",
    "open_storage",
    "redact",
    "run_study_worker",
]
