"""combine_runs: one ensemble over finished runs on the same data, without refitting.

Every HPO run directory keeps the out-of-fold predictions of its final model
(``oof.npz``, see ``_hpo/oof.py``). Bagged greedy ensemble selection (Caruana et al., 2004;
the same as inside a run) over those matrices gives each run a weight; the combined
model averages the runs' already-fitted members with weight run weight x member
weight. Nothing is refitted and nothing is re-saved: the chosen runs' model files are
linked into ``parts/`` and listed with their weights in ``model-parts.json``, so combining
costs seconds even for runs whose models are large forests.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from automl_backend._dataset import Dataset
from automl_backend._errors import BackendError
from automl_backend._hpo.ensemble import bagged_ensemble, covered_rows, greedy_ensemble
from automl_backend._hpo.oof import (
    OOF_FILE,
    OOF_INFO_FILE,
    OutOfFold,
    data_fingerprint,
    has_oof,
    load_oof,
    make_oof,
)
from automl_backend._integrity import record_files, verify_folder
from automl_backend._metrics import describe_metric, metric_names, score
from automl_backend._model import (
    MODEL_FILE,
    PARTS_FILE,
    ModelPart,
    ModelParts,
    model_file,
    model_file_names,
    read_parts,
)
from automl_backend._result import ExperimentResult
from automl_backend._rundir import prepare_run_dir

PARTS_DIR = "parts"
"""Inside a combined run directory: the parts' model files."""


class CombinedRun(BaseModel):
    """One run that could join the combination (chosen or not)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    run_dir: Path
    run_id: str
    weight: float = Field(ge=0, le=1)
    """Its share of the combined model (0: not chosen)."""
    oof_score: float
    """Its own final model's out-of-fold score on the selection rows."""
    cv_score: float | None
    """Its best single configuration's mean CV score, from its result.json."""
    families: list[str]
    """Model families of its ensemble members."""


class CombinedResult(BaseModel):
    """What :func:`combine_runs` chose; saved as ``result.json`` of the combined run dir."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["combined"] = "combined"
    task: str
    metric: str
    run_dir: Path | None
    runs: list[CombinedRun]
    """Usable runs, best out-of-fold score first."""
    ensemble_score: float
    """Out-of-fold score of the combination on the selection rows. Optimistic: the weights
    were chosen on these same rows."""
    best_single_score: float
    """Best single run's out-of-fold score on the same rows."""
    selection_rows: int
    """Rows every usable run predicted out-of-fold (the rows weights were chosen on)."""
    n_rows: int
    n_members: int
    """Fitted pipelines in the combined model."""
    skipped: list[str] = Field(default_factory=list)
    """Runs left out, each with the reason."""
    notes: list[str] = Field(default_factory=list)
    fit_time_s: float = 0.0

    @property
    def chosen(self) -> list[CombinedRun]:
        return [r for r in self.runs if r.weight > 0]


@dataclass
class _Usable:
    name: str
    folder: Path
    file: Path
    """Its model file (``model.skops``, or ``model-parts.json`` of a combination)."""
    oof: OutOfFold
    result: ExperimentResult | None
    pipelines: int
    """Fitted pipelines in its model (0 when its result.json does not say)."""


def _read_result(folder: Path) -> tuple[ExperimentResult | None, int]:
    """A run's result and how many fitted pipelines its model holds."""
    try:
        text = (folder / "result.json").read_text("utf-8")
    except OSError:
        return None, 0
    try:
        result = ExperimentResult.model_validate_json(text)
        return result, len(result.ensemble)
    except ValueError:
        pass
    try:
        return None, CombinedResult.model_validate_json(text).n_members
    except ValueError:
        return None, 0


def _collect(run_dirs: list[str | Path], trust: bool) -> tuple[list[_Usable], list[str]]:
    usable, skipped, seen = [], [], set()
    for raw in run_dirs:
        folder = Path(raw).expanduser().resolve()
        if folder in seen:
            continue
        seen.add(folder)
        if not folder.is_dir():
            raise BackendError(f"run directory {folder} does not exist")
        name = folder.name
        if any(u.name == name for u in usable):
            name = f"{folder.parent.name}/{name}"
        if not has_oof(folder):
            skipped.append(f"{name}: no saved out-of-fold predictions (NAS or older run)")
            continue
        file = model_file(folder)
        if file is None:
            skipped.append(f"{name}: no {MODEL_FILE}")
            continue
        if not trust:  # before reading anything from the folder
            verify_folder(folder, model_file_names(file))
        try:
            oof = load_oof(folder)
        except ValueError as exc:
            skipped.append(f"{name}: {exc}")
            continue
        usable.append(_Usable(name, folder, file, oof, *_read_result(folder)))
    return usable, skipped


def _check_compatible(usable: list[_Usable], dataset: Dataset | None) -> None:
    """Same task, target, classes and rows (by data hash and target) for every run."""
    first = usable[0]
    a = first.oof.info
    for other in usable[1:]:
        b = other.oof.info
        problems = []
        if b.task != a.task:
            problems.append(f"task {a.task} vs {b.task}")
        elif b.classes != a.classes:
            problems.append(f"classes {a.classes} vs {b.classes}")
        if b.target != a.target:
            problems.append(f"target {a.target!r} vs {b.target!r}")
        if b.n_rows != a.n_rows:
            problems.append(f"{a.n_rows} vs {b.n_rows} rows")
        elif b.data_hash != a.data_hash or not np.array_equal(first.oof.y, other.oof.y):
            problems.append("different training rows")
        if problems:
            raise BackendError(
                f"runs {first.name} and {other.name} cannot be combined: {'; '.join(problems)}"
            )
    if dataset is not None and data_fingerprint(dataset) != a.data_hash:
        raise BackendError(
            f"the runs were not fitted on data set {dataset.name!r} ({dataset.n_rows} rows); "
            "combine runs with the data they were trained on"
        )


def _pick_metric(usable: list[_Usable], metric: str | None) -> str:
    task = usable[0].oof.info.task
    if metric is not None:
        if metric not in metric_names(task):
            raise BackendError(
                f"metric {metric!r} does not apply to {task} runs; "
                f"valid: {', '.join(metric_names(task))}"
            )
        return metric
    metrics = sorted({u.oof.info.metric for u in usable})
    if len(metrics) > 1:
        raise BackendError(
            f"the runs were scored with different metrics ({', '.join(metrics)}); pass metric="
        )
    return metrics[0]


def _select(predictions: dict[int, np.ndarray], y: np.ndarray, metric: str, size: int,
            bags: int, seed: int, best_single: float) -> tuple[dict[int, float], float, list[str]]:  # fmt: skip
    if len(predictions) == 1:
        return {0: 1.0}, best_single, ["a single usable run: its model is used alone"]
    weights, ensemble = bagged_ensemble(predictions, y, metric, size, bags=bags, seed=seed)
    if ensemble < best_single:
        # Averaging bags can land below the best run; the plain greedy path cannot.
        weights, ensemble = greedy_ensemble(predictions, y, metric, size)
        return weights, ensemble, ["bagged selection scored below the best run; used greedy"]
    return weights, ensemble, []


def _parts(chosen: list[tuple[_Usable, float]]) -> list[tuple[str, float, Path]]:
    """``(run, weight, model file)`` of every part of the combination: a chosen run's own
    model file, or the parts of a chosen combination with their weights multiplied."""
    parts: list[tuple[str, float, Path]] = []
    for run, run_weight in chosen:
        if run.file.name != PARTS_FILE:
            parts.append((run.name, run_weight, run.file))
            continue
        for part in read_parts(run.file).parts:
            parts.append(
                (f"{run.name}/{part.run}", run_weight * part.weight, run.folder / part.file)
            )
    return parts


def combine_runs(
    run_dirs: list[str | Path],
    dataset: Dataset | None = None,
    *,
    out_dir: str | Path | None,
    metric: str | None = None,
    seed: int = 0,
    size: int = 20,
    bags: int = 20,
    trust: bool = False,
) -> CombinedResult:
    """Ensemble finished runs on the same data into one model, without refitting.

    ``run_dirs``: run directories of :func:`run_spec` (HPO). Runs without saved
    out-of-fold predictions (NAS runs, runs from older versions, failed runs) are skipped,
    each with a note. ``dataset``: optional; when given, the runs must have been trained
    on exactly it. ``metric``: what selection maximises (default: the runs' own metric).
    ``size``/``bags``: greedy rounds and bags of the ensemble selection.
    ``out_dir``: the run directory to write (``model-parts.json`` and ``parts/``, usable by
    :func:`load_model` and ``cosci predict``, ``result.json``, ``report.md``, ``oof.npz``,
    ``manifest.json``); None writes nothing. Incompatible runs (other task, classes or
    rows) raise :class:`BackendError`. A run directory whose manifest is missing or does
    not match its files raises :class:`UntrustedModelError` unless ``trust``: loading a
    model folder runs code from it, so trust only folders you made.
    """
    started = time.monotonic()
    usable, skipped = _collect(run_dirs, trust)
    if not usable:
        why = "; ".join(skipped) or "no run directories were given"
        raise BackendError(f"no run can be combined: {why}")
    _check_compatible(usable, dataset)
    metric = _pick_metric(usable, metric)
    y = usable[0].oof.y
    mask = covered_rows([u.oof.prediction for u in usable])
    if not mask.any():
        raise BackendError("no row was predicted out-of-fold by every run; cannot combine them")
    own = [score(metric, y[mask], u.oof.prediction[mask]) for u in usable]
    usable = [usable[i] for i in sorted(range(len(usable)), key=lambda i: -own[i])]
    own = sorted(own, reverse=True)
    weights, ensemble, notes = _select(
        {i: u.oof.prediction for i, u in enumerate(usable)}, y, metric, size, bags, seed, own[0]
    )
    chosen = [(usable[i], w) for i, w in weights.items() if w > 0]
    runs = [
        CombinedRun(
            name=u.name, run_dir=u.folder, run_id=u.oof.info.run_id,
            weight=round(weights.get(i, 0.0), 6), oof_score=own[i],
            cv_score=u.result.best_score if u.result else None,
            families=sorted({m.config.family for m in u.result.ensemble}) if u.result else [],
        )
        for i, u in enumerate(usable)
    ]  # fmt: skip
    result = CombinedResult(
        task=usable[0].oof.info.task, metric=metric, run_dir=None, runs=runs, ensemble_score=ensemble,
        best_single_score=own[0], selection_rows=int(mask.sum()), n_rows=len(y),
        n_members=sum(run.pipelines for run, _ in chosen), skipped=skipped, notes=notes,
    )  # fmt: skip
    result.fit_time_s = round(time.monotonic() - started, 3)
    if out_dir is not None:
        blend = sum(w * run.oof.prediction for run, w in chosen)
        _write(
            Path(out_dir),
            result,
            _parts(chosen),
            _blend_oof(usable[0].oof, blend, metric, runs),
            chosen,
        )
    return result


def _blend_oof(first: OutOfFold, blend: Any, metric: str, runs: list[CombinedRun]) -> OutOfFold:
    info = first.info
    return make_oof(
        np.asarray(blend, dtype=float), first.y, task=info.task, target=info.target,
        classes=info.classes, data_hash=info.data_hash, metric=metric,
        cv="combination of runs (each row predicted by models that did not see it)",
        members={r.name: r.weight for r in runs if r.weight > 0},
    )  # fmt: skip


def _write(final_dir: Path, result: CombinedResult, parts: list[tuple[str, float, Path]],
           oof: OutOfFold, chosen: list[tuple[_Usable, float]]) -> None:  # fmt: skip
    """Write into a hidden sibling, then move it into place (no half-written run dirs).

    The parts' model files are hard-linked (copied across file systems), never re-saved:
    a combination of large forests costs no new serialisation."""
    final, workdir = prepare_run_dir(final_dir)
    assert final is not None and workdir is not None
    try:
        result.run_dir = final
        (workdir / PARTS_DIR).mkdir()
        listed = []
        for i, (run, weight, source) in enumerate(parts):
            name = f"{PARTS_DIR}/{i:02d}{source.suffix}"
            _link_or_copy(source, workdir / name)
            listed.append(ModelPart(file=name, weight=weight, run=run))
        text = ModelParts(parts=listed).model_dump_json(indent=2)
        (workdir / PARTS_FILE).write_text(text, encoding="utf-8")
        record_files(workdir, [PARTS_FILE, *(p.file for p in listed)])
        oof.save(workdir)
        dataset_json = chosen[0][0].folder / "dataset.json"
        if dataset_json.is_file():
            shutil.copyfile(dataset_json, workdir / "dataset.json")
        record_files(workdir, (OOF_FILE, OOF_INFO_FILE, "dataset.json"), missing_ok=True)
        (workdir / "report.md").write_text(combined_report(result), encoding="utf-8")
        (workdir / "result.json").write_text(result.model_dump_json(indent=2), "utf-8")
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        result.run_dir = None
        raise
    if final.exists():
        final.rmdir()
    os.replace(workdir, final)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def combined_report(result: CombinedResult) -> str:
    """report.md of a combined run directory."""
    lines = [
        "# Combined model",
        "",
        f"- metric: {describe_metric(result.metric)}",
        f"- out-of-fold score of the combination: {result.ensemble_score:.5f} on "
        f"{result.selection_rows} of {result.n_rows} rows (optimistic: the weights were "
        "chosen on these rows)",
        f"- best single run on the same rows: {result.best_single_score:.5f}",
        f"- {result.n_members} fitted pipelines, none refitted",
        "",
        "| run | weight | out-of-fold score | CV score (best config) | families |",
        "|---|---:|---:|---:|---|",
    ]
    for r in result.runs:
        cv = "-" if r.cv_score is None else f"{r.cv_score:.5f}"
        lines.append(
            f"| {r.name} | {r.weight:.3f} | {r.oof_score:.5f} | {cv} | {', '.join(r.families)} |"
        )
    if result.skipped or result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in [*result.skipped, *result.notes]]
    return "\n".join(lines) + "\n"
