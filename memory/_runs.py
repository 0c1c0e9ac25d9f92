"""The runs ledger: every finished experiment, and the meta-learning warm-start look-up.

How the meta vector is stored: not at all. Each record keeps its full DatasetProfile (in
the item's metadata, as JSON), and ``similar_runs`` recomputes ``meta_vector()`` for every
past run at query time and ranks them with an exact numpy distance. Reasons:
- the scaling inside ``meta_vector()`` belongs to automl_backend and may change; vectors
  frozen at write time would then be compared on different scales, while recomputing keeps
  old and new runs comparable (and tolerates a vector that grows a component);
- the ledger holds one item per experiment, thousands at most. At 1,000 runs a whole
  look-up took ~75 ms p50 on a busy 2-core machine (bench/memory.py), mostly fetching and
  parsing the records; the exact ranking itself was ~7 ms. An approximate HNSW index over
  a second collection would save little of that and add a second write to keep in sync;
- the collection's own embedding is then free for the text of the run (hypothesis, data
  set, outcome), which serves ``search_runs`` for novelty checks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from memory._collections import RUNS, Collections
from memory._records import RunRecord, SimilarRun

if TYPE_CHECKING:
    from automl_backend import DatasetProfile

_log = logging.getLogger(__name__)


def _task_kind(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def record_run(store: Collections, record: RunRecord) -> None:
    if not isinstance(record, RunRecord):
        raise TypeError(f"record_run takes a RunRecord, not {type(record).__name__}")
    metadata: dict[str, str | float | int] = {
        "record": record.model_dump_json(),
        "status": record.status,
        "task": record.profile.task,
        "task_kind": _task_kind(record.profile.task),
        "dataset": record.dataset_key,
        "metric": record.metric,
        "created_at": record.created_at.isoformat(),
    }
    if record.best_config is not None:
        metadata["family"] = record.best_config.family
    if record.best_score is not None:
        metadata["best_score"] = record.best_score
    store.add(RUNS, ids=[record.run_id], texts=[record.document()], metadatas=[metadata])


def _parse_records(metadatas: Iterable[dict[str, object]]) -> list[RunRecord]:
    records = []
    for meta in metadatas:
        try:
            records.append(RunRecord.model_validate_json(str(meta.get("record", ""))))
        except ValidationError as exc:
            # A record written by an older schema must not break every later look-up.
            _log.warning("skipping a stored run that no longer validates: %s", exc)
    return records


def nearest_best_runs(
    profile: DatasetProfile, records: Sequence[RunRecord], k: int
) -> list[SimilarRun]:
    """Best successful run per (data set, metric), nearest data sets first.

    Only runs of the same kind of task are comparable (a classifier's configuration does not
    warm-start a regressor). Ties in distance go to the higher score.
    """
    kind = _task_kind(profile.task)
    candidates = [
        r
        for r in records
        if r.status == "ok"
        and r.best_config is not None
        and r.best_score is not None
        and _task_kind(r.profile.task) == kind
    ]
    if not candidates or k < 1:
        return []
    best: dict[tuple[str, str], RunRecord] = {}
    for record in candidates:
        key = (record.dataset_key, record.metric)
        held = best.get(key)
        if held is None or (record.best_score or 0.0) > (held.best_score or 0.0):
            best[key] = record
    chosen = list(best.values())
    query = np.asarray(profile.meta_vector(), dtype=float)
    distances = []
    for record in chosen:
        vector = np.asarray(record.profile.meta_vector(), dtype=float)
        if vector.shape != query.shape:
            distances.append(float("inf"))
        else:
            distances.append(float(np.linalg.norm(vector - query)))
    order = sorted(range(len(chosen)), key=lambda i: (distances[i], -(chosen[i].best_score or 0.0)))
    return [
        SimilarRun(record=chosen[i], distance=distances[i])
        for i in order[:k]
        if np.isfinite(distances[i])
    ]


def similar_runs(store: Collections, profile: DatasetProfile, k: int) -> list[SimilarRun]:
    """An empty ledger gives an empty list: no history is the normal first-run state."""
    if store.count(RUNS) == 0:
        return []
    metas = store.get_metadatas(
        RUNS, where={"$and": [{"status": "ok"}, {"task_kind": _task_kind(profile.task)}]}
    )
    return nearest_best_runs(profile, _parse_records(metas), k)


def search_runs(store: Collections, text: str, k: int) -> list[SimilarRun]:
    if store.count(RUNS) == 0:
        return []
    out = []
    for hit in store.query(RUNS, text, k):
        parsed = _parse_records([hit.metadata])
        if parsed:
            out.append(SimilarRun(record=parsed[0], distance=hit.distance))
    return out
