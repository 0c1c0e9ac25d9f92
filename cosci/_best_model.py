"""A co-scientist run's ``best_model/``: an ensemble over its tested hypotheses.

The tournament ranks hypotheses; the model a person should use is the combination of
every tested hypothesis's final model (``automl_backend.combine_runs``: ensemble
selection on their out-of-fold predictions, no refitting). When that is impossible (the
leader has no out-of-fold predictions, e.g. a NAS experiment; a single tested
hypothesis; incompatible runs) ``best_model/`` is a copy of the leader's run directory
and the reason is kept.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

COMPOSITION_FILE = "composition.json"
"""Inside ``best_model/``: the :class:`BestModel` that describes it."""


class BestModelMember(BaseModel):
    """One tested hypothesis's share of the best model."""

    model_config = ConfigDict(extra="forbid")
    hypothesis: str
    weight: float
    oof_score: float | None
    """Its own final model's out-of-fold score on the selection rows."""
    cv_score: float | None
    """Its best configuration's mean CV score (what the tournament compares)."""
    families: list[str]


class BestModel(BaseModel):
    """What ``best_model/`` holds and why."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["ensemble", "leader"]
    """ensemble: combined over the tested hypotheses; leader: a copy of the leader's run."""
    leader: str
    metric: str | None
    members: list[BestModelMember]
    """Hypotheses with a weight above 0, heaviest first (the leader alone for ``leader``)."""
    candidates: list[str] = Field(default_factory=list)
    """Tested hypotheses whose runs could be combined (weight 0 ones included)."""
    ensemble_oof_score: float | None = None
    """Out-of-fold score of the ensemble on the selection rows; optimistic, since the
    weights were chosen on the same rows."""
    leader_oof_score: float | None = None
    """The leader's own model on the same rows."""
    leader_cv_score: float | None = None
    selection_rows: int | None = None
    n_rows: int | None = None
    reason: str | None = None
    """Why ``best_model/`` is the leader's copy rather than an ensemble."""
    skipped: list[str] = Field(default_factory=list)
    """Tested hypotheses left out of the combination, with the reason."""

    def describe_members(self) -> str:
        return ", ".join(f"{m.hypothesis} ({m.weight:.2f})" for m in self.members)


def read_best_model(run_dir: Path, leader: str | None) -> BestModel | None:
    """The description of ``best_model/`` as last written, if it is the current leader's."""
    path = run_dir / "best_model" / COMPOSITION_FILE
    if leader is None or not path.is_file():
        return None
    try:
        best = BestModel.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None
    return best if best.leader == leader else None


def write_best_model(
    run_dir: Path, leader: str, tested: list[str], metric: str | None, leader_cv: float | None
) -> BestModel | None:
    """(Re)write ``best_model/`` from the experiments of ``tested`` (leader first).

    None when the leader's experiment directory is missing (nothing to ship).
    """
    experiments = run_dir / "experiments"
    if not (experiments / leader).is_dir():
        return None
    runs = [h for h in tested if (experiments / h).is_dir()]
    cached = _cached(run_dir, leader, runs, metric)
    if cached is not None:
        return cached
    best, reason = None, _why_not_combined(experiments, leader, runs)
    staging = run_dir / f".best_model.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    if reason is None:
        best, reason = _combine(experiments, leader, runs, metric, leader_cv, staging)
    if best is None:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(experiments / leader, staging)
        best = BestModel(
            kind="leader", leader=leader, metric=metric, reason=reason, leader_cv_score=leader_cv,
            members=[BestModelMember(hypothesis=leader, weight=1.0, oof_score=None,
                                     cv_score=leader_cv, families=_families(experiments / leader))],
        )  # fmt: skip
    (staging / COMPOSITION_FILE).write_text(best.model_dump_json(indent=2), encoding="utf-8")
    _swap_into_place(staging, run_dir / "best_model")
    return best


def best_model_markdown(best: BestModel | None, leader: str, model_dir: str, run_dir: str,
                        metric: str) -> list[str]:  # fmt: skip
    """The report's "Best model" section: what best_model/ holds and how to use it."""
    lines = ["## Best model", ""]
    if best is not None and best.kind == "ensemble":
        members = ", ".join(
            f"{m.hypothesis} {m.weight:.2f} ({', '.join(m.families)})" for m in best.members
        )
        lines += [
            f"`best_model/` is an ensemble of the tested hypotheses' final models: {members}. "
            "The weights come from ensemble selection on their out-of-fold predictions; "
            "nothing was refitted.",
            "",
            f"- Out-of-fold {metric} of the ensemble: {_fmt(best.ensemble_oof_score)} on "
            f"{best.selection_rows} of {best.n_rows} rows (optimistic: the weights were chosen "
            f"on these rows); the leader {leader}'s own model on the same rows: "
            f"{_fmt(best.leader_oof_score)}; its best configuration's CV score: "
            f"{_fmt(best.leader_cv_score)}.",
            f"- Candidates: {', '.join(best.candidates)}"
            + (f"; left out: {'; '.join(best.skipped)}" if best.skipped else ""),
        ]
    else:
        why = best.reason if best is not None and best.reason else "no ensemble was made"
        lines.append(
            f"`best_model/` is a copy of the leader {leader}'s model; not an ensemble: {why}."
        )
    lines += [
        f"- The ranking ranks hypotheses; the leader {leader}'s own model stays in "
        f"`experiments/{leader}/`.",
        f"- Predict with `cosci predict --model {model_dir} --data FILE --out preds.csv`; "
        f"reproduce the whole run without any LLM with `cosci run --replay {run_dir}`.",
    ]
    return lines


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _why_not_combined(experiments: Path, leader: str, runs: list[str]) -> str | None:
    from automl_backend import has_oof

    if not has_oof(experiments / leader):
        return f"the leader {leader} has no out-of-fold predictions (a NAS or older experiment)"
    if sum(has_oof(experiments / h) for h in runs) < 2:
        return "no other tested hypothesis has out-of-fold predictions to combine with"
    return None


def _combine(experiments: Path, leader: str, runs: list[str], metric: str | None,
             leader_cv: float | None, staging: Path) -> tuple[BestModel | None, str | None]:  # fmt: skip
    from automl_backend import BackendError, UntrustedModelError, combine_runs

    try:
        combined = combine_runs([experiments / h for h in runs], out_dir=staging, metric=metric)
    except UntrustedModelError as exc:
        return None, f"an experiment folder failed its integrity check, nothing was loaded: {exc}"
    except BackendError as exc:
        return None, f"the experiments could not be combined: {exc}"
    own = {r.name: r for r in combined.runs}
    members = [
        BestModelMember(hypothesis=r.name, weight=r.weight, oof_score=r.oof_score,
                        cv_score=r.cv_score, families=r.families)
        for r in sorted(combined.chosen, key=lambda r: -r.weight)
    ]  # fmt: skip
    return BestModel(
        kind="ensemble", leader=leader, metric=combined.metric, members=members,
        candidates=[r.name for r in combined.runs], ensemble_oof_score=combined.ensemble_score,
        leader_oof_score=own[leader].oof_score if leader in own else None,
        leader_cv_score=leader_cv, selection_rows=combined.selection_rows,
        n_rows=combined.n_rows, skipped=combined.skipped,
    ), None  # fmt: skip


def _cached(run_dir: Path, leader: str, runs: list[str], metric: str | None) -> BestModel | None:
    """The existing ensemble when it was made from exactly these runs (``cosci show`` and
    repeated reports need not recombine)."""
    from automl_backend import OOF_INFO_FILE, CombinedResult, OOFInfo, has_oof

    best = read_best_model(run_dir, leader)
    if best is None or best.kind != "ensemble":
        return None
    try:
        combined = CombinedResult.model_validate_json(
            (run_dir / "best_model" / "result.json").read_text(encoding="utf-8")
        )
        current = {}
        for h in runs:
            folder = run_dir / "experiments" / h
            if has_oof(folder):
                text = (folder / OOF_INFO_FILE).read_text(encoding="utf-8")
                current[h] = OOFInfo.model_validate_json(text).run_id
    except (OSError, ValueError):
        return None
    used = {r.name: r.run_id for r in combined.runs}
    same_metric = metric is None or metric == combined.metric
    return best if used == current and same_metric else None


def _families(folder: Path) -> list[str]:
    from automl_backend import ExperimentResult

    try:
        result = ExperimentResult.model_validate_json((folder / "result.json").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return sorted({m.config.family for m in result.ensemble})


def _swap_into_place(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging``, never leaving a half-written ``best_model/``."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)
