"""Export a run directory to MLflow: ``cosci export mlflow RUN --tracking-uri URI``.

A co-scientist run becomes a parent MLflow run (its settings as params, the answer and
the leader as tags, report.md / results.json / elo.png / best_model/ as artefacts) with
one child run per hypothesis: both arms' ExperimentSpecs as params (``treatment.*``,
``control.*``), the per-fold scores as metrics (one step per fold), the statement,
prediction and verdict as tags, and the arms' run directories as artefacts. A
``cosci automl`` run folder becomes a parent run for the search with one child per
trial. Nothing is computed again: everything is read from the run directory.

MLflow is optional (``pip install 'cosci-automl[mlflow]'``, which installs
``mlflow-skinny``); it is imported only here, and only when an export runs.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from cosci._api import open_result

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from agents import Hypothesis
    from automl_backend import ExperimentResult

SOURCE_TAG = "cosci.source"
"""On a parent run: the absolute path of the run directory it was exported from."""
MAX_PARAM_CHARS = 6000
"""MLflow's limit on a param value; longer values are cut, and say so."""
BATCH = 100
"""MLflow takes at most 100 params or tags per log_batch call."""


class ExportError(Exception):
    """An export that cannot be done; one line for the person."""

    user_facing = True


class ExportSummary(BaseModel):
    """What an export made in the tracking store."""

    kind: Literal["co-scientist", "automl"]
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    child_run_ids: dict[str, str]
    """Child run ids by hypothesis id (co-scientist) or trial number (automl)."""


# ---------------------------------------------------------------- pure helpers


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested mappings and lists as dotted ``key: text`` pairs (lists of scalars as JSON)."""
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}{key}.")
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for index, inner in enumerate(value):
            label = inner.get("family", index) if isinstance(inner, Mapping) else index
            yield from flatten(inner, f"{prefix}{label}.")
    else:
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) > MAX_PARAM_CHARS:
            text = text[: MAX_PARAM_CHARS - 12] + " [truncated]"
        yield prefix.rstrip("."), text


def spec_params(spec: BaseModel | None, prefix: str) -> dict[str, str]:
    if spec is None:
        return {}
    return dict(flatten(spec.model_dump(mode="json", exclude_none=True), f"{prefix}."))


def _mlflow_client(tracking_uri: str) -> MlflowClient:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise ExportError(
            "the MLflow export needs MLflow: pip install 'cosci-automl[mlflow]'"
        ) from None
    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        # The person asked for a file store by name; MLflow 3 refuses one unless told.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=tracking_uri)


class _Writer:
    """The few MlflowClient calls an export makes, batched within MLflow's limits."""

    def __init__(self, client: MlflowClient, experiment_id: str) -> None:
        self.client = client
        self.experiment_id = experiment_id

    def start(
        self, name: str, parent: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        all_tags = {**(tags or {}), **({"mlflow.parentRunId": parent} if parent else {})}
        return self.client.create_run(self.experiment_id, run_name=name, tags=all_tags).info.run_id

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = {},
        metrics: Mapping[str, float | list[float] | None] = {},
        tags: Mapping[str, str | None] = {},
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        points = []
        for key, value in metrics.items():
            values = value if isinstance(value, list) else [value]
            points += [
                Metric(key, float(v), 0, step) for step, v in enumerate(values) if v is not None
            ]
        param_list = [Param(k, v) for k, v in params.items()]
        tag_list = [RunTag(k, str(v)[:5000]) for k, v in tags.items() if v is not None]
        for start in range(0, max(len(param_list), len(tag_list), len(points), 1), BATCH):
            self.client.log_batch(
                run_id,
                metrics=points[start : start + BATCH],
                params=param_list[start : start + BATCH],
                tags=tag_list[start : start + BATCH],
            )

    def files(self, run_id: str, paths: list[Path], folder: str | None = None) -> None:
        for path in paths:
            if path.is_dir():
                self.client.log_artifacts(run_id, str(path), folder or path.name)
            elif path.is_file():
                self.client.log_artifact(run_id, str(path), folder)

    def finish(self, run_id: str, ok: bool = True) -> None:
        self.client.set_terminated(run_id, "FINISHED" if ok else "FAILED")


# ---------------------------------------------------------------- the export


def export_to_mlflow(
    run_dir: Path, tracking_uri: str, *, experiment: str | None = None, replace: bool = False
) -> ExportSummary:
    """Export a co-scientist or ``cosci automl`` run directory to MLflow.

    ``experiment`` names the MLflow experiment (default: "cosci"). A run directory
    already exported to the same experiment is refused unless ``replace``, which deletes
    the earlier export first.
    """
    run_dir = Path(run_dir)
    if (run_dir / "run.json").is_file():
        kind: Literal["co-scientist", "automl"] = "co-scientist"
    elif (run_dir / "result.json").is_file():
        kind = "automl"
    else:
        raise ExportError(
            f"{run_dir} is neither a co-scientist run (no run.json) nor a cosci automl "
            "run folder (no result.json)"
        )
    client = _mlflow_client(tracking_uri)
    name = experiment or "cosci"
    found = client.get_experiment_by_name(name)
    experiment_id = found.experiment_id if found else client.create_experiment(name)
    _previous_export(client, experiment_id, run_dir, replace)
    writer = _Writer(client, experiment_id)
    if kind == "co-scientist":
        parent, children = _export_research(writer, run_dir)
    else:
        parent, children = _export_automl(writer, run_dir)
    return ExportSummary(
        kind=kind,
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        parent_run_id=parent,
        child_run_ids=children,
    )


def _previous_export(
    client: MlflowClient, experiment_id: str, run_dir: Path, replace: bool
) -> None:
    source = str(run_dir.resolve())
    earlier = client.search_runs([experiment_id], filter_string=f"tags.`{SOURCE_TAG}` = '{source}'")
    if earlier and not replace:
        raise ExportError(
            f"{run_dir} is already exported to this experiment (run "
            f"{earlier[0].info.run_id}); pass --replace to export it again"
        )
    for parent in earlier:
        parent_id = parent.info.run_id
        for child in client.search_runs(
            [experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'"
        ):
            client.delete_run(child.info.run_id)
        client.delete_run(parent_id)


def _export_research(writer: _Writer, run_dir: Path) -> tuple[str, dict[str, str]]:
    results = open_result(run_dir).results
    config = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    plan = results.plan
    metric = plan.metric if plan else ""
    answer = results.answer
    parent = writer.start(
        run_dir.name,
        tags={SOURCE_TAG: str(run_dir.resolve()), "cosci.kind": "co-scientist"},
    )
    params = {
        "goal": config["goal"],
        "data": config["data"],
        "target": str(config.get("target")),
        **dict(flatten(config.get("context", {}), "context.")),
    }
    if plan is not None:
        params |= {"task": plan.task, "metric": plan.metric, "question": plan.question}
    writer.log(
        parent,
        params=params,
        metrics={
            "best_model_holdout": results.best_model_holdout,
            "compute_seconds": results.compute_seconds,
            "experiment_seconds": results.experiment_seconds,
            "llm_calls": float(results.llm.calls),
            "llm_seconds": results.llm.seconds,
            "decisive_matches": float(results.decisive_matches),
        },
        tags={
            "cosci.status": results.status,
            "cosci.stop_reason": results.stop_reason,
            "cosci.answer": answer.sentence if answer else None,
            "cosci.best_hypothesis": results.best_hypothesis,
            "mlflow.note.content": answer.sentence if answer else results.goal,
        },
    )
    writer.files(
        parent,
        [run_dir / n for n in ("report.md", "results.json", "elo.png", "run.json", "best_model")],
    )
    ranked = {r.id: r for r in results.ranking}
    children = {}
    for h in results.hypotheses:
        child = writer.start(f"{h.id}: {h.statement[:80]}", parent=parent)
        row = ranked.get(h.id)
        writer.log(
            child,
            params=spec_params(h.experiment, "treatment") | spec_params(h.control, "control"),
            metrics={
                **_arm_metrics(h.result, ""),
                **_arm_metrics(h.control_result, "control_"),
                "effect_points": h.effect.points if h.effect else None,
                "effect_low": h.effect.low if h.effect else None,
                "effect_high": h.effect.high if h.effect else None,
                "holdout_score": results.holdout_scores.get(h.id),
                "elo": row.elo if row else None,
            },
            tags={
                "cosci.hypothesis": h.id,
                "cosci.statement": h.statement,
                "cosci.factor": h.factor,
                "cosci.origin": h.origin,
                "cosci.chosen_by": h.chosen_by,
                "cosci.status": h.status,
                "cosci.control": h.control_label,
                "cosci.treatment": h.treatment_label,
                "cosci.prediction": h.prediction.describe(metric),
                "cosci.verdict": h.verdict,
                "cosci.effect": h.effect.describe() if h.effect else None,
                "cosci.rank": str(row.rank) if row and row.rank is not None else None,
                "cosci.parents": ",".join(h.parent_ids) or None,
            },
        )
        writer.files(child, _arm_dirs(h, run_dir, "treatment"), "treatment")
        writer.files(child, _arm_dirs(h, run_dir, "control"), "control")
        writer.finish(child, ok=h.status != "failed")
        children[h.id] = child
    writer.finish(parent)
    return parent, children


def _arm_metrics(result: ExperimentResult | None, prefix: str) -> dict[str, Any]:
    if result is None or not result.ok:
        return {}
    return {
        f"{prefix}cv_score": result.best_score,
        f"{prefix}fold_score": list(result.fold_scores),
        f"{prefix}n_trials": float(result.n_trials),
        f"{prefix}fit_time_s": result.fit_time_s,
    }


def _arm_dirs(h: Hypothesis, run_dir: Path, arm: str) -> list[Path]:
    result = h.result if arm == "treatment" else h.control_result
    if result is None or result.run_dir is None:
        return []
    path = Path(result.run_dir)
    if not path.is_absolute():
        path = run_dir / path
    return [path] if path.is_dir() else []


def _export_automl(writer: _Writer, run_dir: Path) -> tuple[str, dict[str, str]]:
    from automl_backend import ExperimentResult, ExperimentSpec

    result = ExperimentResult.model_validate_json((run_dir / "result.json").read_text("utf-8"))
    spec = (
        ExperimentSpec.from_file(run_dir / "spec.yaml")
        if (run_dir / "spec.yaml").is_file()
        else None
    )
    parent = writer.start(
        run_dir.name, tags={SOURCE_TAG: str(run_dir.resolve()), "cosci.kind": "automl"}
    )
    best = result.best_config
    writer.log(
        parent,
        params=spec_params(spec, "spec"),
        metrics={
            **_arm_metrics(result, ""),
            "ensemble_score": result.ensemble_score,
            "test_score": result.test_score,
        },
        tags={
            "cosci.status": result.status,
            "cosci.reason": result.reason,
            "cosci.task": result.task,
            "cosci.metric": result.metric,
            "cosci.best_family": best.family if best is not None else None,
        },
    )
    writer.files(parent, sorted(p for p in run_dir.iterdir() if p.name != "study.db"))
    children = {}
    for trial in _leaderboard(run_dir / "leaderboard.csv"):
        child = writer.start(f"trial {trial['trial']} ({trial['family']})", parent=parent)
        params = {"family": trial["family"]}
        params |= dict(flatten(json.loads(trial["params"] or "{}"), "params."))
        params |= dict(flatten(json.loads(trial["preprocessing"] or "{}"), "preprocessing."))
        writer.log(
            child,
            params=params,
            metrics={
                "cv_score": _number(trial["score"]),
                "fold_score": json.loads(trial["fold_scores"] or "[]"),
                "fit_time_s": _number(trial["fit_time_s"]),
            },
            tags={
                "cosci.trial": trial["trial"],
                "cosci.state": trial["state"],
                "cosci.reason": trial["reason"] or None,
                "cosci.rank": trial["rank"] or None,
            },
        )
        writer.finish(child, ok=trial["state"] == "complete")
        children[trial["trial"]] = child
    writer.finish(parent, ok=result.ok)
    return parent, children


def _leaderboard(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


__all__ = ["ExportError", "ExportSummary", "export_to_mlflow", "flatten", "spec_params"]
