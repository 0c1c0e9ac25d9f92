"""The run directory: spec, model, leaderboard, study, report.md and plots."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_backend._dataset import Dataset
from automl_backend._features.selection import NOTE_PREFIX as FEATURE_NOTE
from automl_backend._hpo.oof import OOF_FILE, OOF_INFO_FILE, OutOfFold
from automl_backend._hpo.search import HPOTrial
from automl_backend._integrity import record_files
from automl_backend._metrics import describe_metric
from automl_backend._model import MODEL_FILE, FittedModel
from automl_backend._result import ExperimentResult
from automl_backend._spec import ExperimentSpec

log = logging.getLogger("automl_backend")


def leaderboard(records: list[HPOTrial]) -> pd.DataFrame:
    """One row per trial, best completed first, then pruned and failed ones."""
    rows = []
    for r in records:
        pre = r.config.preprocessing.model_dump(exclude_none=True)
        rows.append(
            {
                "trial": r.number,
                "state": r.state,
                "score": r.score,
                "family": r.config.family,
                "params": json.dumps(r.config.params, sort_keys=True),
                "preprocessing": json.dumps(pre, sort_keys=True),
                "fold_scores": json.dumps([round(s, 6) for s in r.fold_scores]),
                "fit_time_s": round(r.fit_time_s, 3),
                "duration_s": round(r.duration_s, 3),
                **{k: round(v, 4) for k, v in r.extras.items()},
                "reason": r.reason or "",
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["rank", "trial", "state", "score", "family"])
    order = {"complete": 0, "pruned": 1, "failed": 2}
    frame["_state"] = frame["state"].map(order)
    frame = frame.sort_values(["_state", "score", "trial"], ascending=[True, False, True])
    frame = frame.drop(columns="_state").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame


def _importances(study: Any, records: list[HPOTrial], family: str) -> dict[str, float]:
    """fANOVA importances of ``family``'s hyperparameters over its completed trials."""
    import optuna

    mine = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.params.get("family", family) == family
    ]
    if len(mine) < 4:
        return {}
    trials = [
        optuna.trial.create_trial(
            params={k: v for k, v in t.params.items() if k != "family"},
            distributions={k: d for k, d in t.distributions.items() if k != "family"},
            value=t.values[0],
        )
        for t in mine
    ]
    sub = optuna.create_study(direction="maximize")
    sub.add_trials(trials)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=32, seed=0)
            return dict(optuna.importance.get_param_importances(sub, evaluator=evaluator))
    except (RuntimeError, ValueError) as exc:
        log.info("parameter importances skipped: %s", exc)
        return {}


def _plots(folder: Path, board: pd.DataFrame, importances: dict[str, float], metric: str) -> list[str]:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(exist_ok=True)
    made = []
    done = board[board["state"] == "complete"].sort_values("trial")
    if not done.empty:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.scatter(done["trial"], done["score"], s=12, alpha=0.6, label="trial")
        ax.plot(done["trial"], done["score"].cummax(), color="C3", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(describe_metric(metric))
        ax.set_title("Optimization history")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(folder / "history.png", dpi=100)
        plt.close(fig)
        made.append("plots/history.png")
        fig, ax = plt.subplots(figsize=(6, 3.5))
        families = sorted(done["family"].unique())
        ax.boxplot([done.loc[done["family"] == f, "score"] for f in families])
        ax.set_xticks(range(1, len(families) + 1), families, rotation=30, ha="right")
        ax.set_ylabel(describe_metric(metric))
        ax.set_title("Scores by model family")
        fig.tight_layout()
        fig.savefig(folder / "families.png", dpi=100)
        plt.close(fig)
        made.append("plots/families.png")
    if importances:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names])
        ax.set_xlabel("fANOVA importance")
        ax.set_title("Hyperparameter importance (best family)")
        fig.tight_layout()
        fig.savefig(folder / "importance.png", dpi=100)
        plt.close(fig)
        made.append("plots/importance.png")
    return made


def _report(spec: ExperimentSpec, dataset: Dataset, result: ExperimentResult,
            board: pd.DataFrame, importances: dict[str, float], plots: list[str]) -> str:  # fmt: skip
    lines = [f"# AutoML run: {spec.name or dataset.name}", ""]
    lines += [
        f"- data: {dataset.name}: {dataset.n_rows} rows, {dataset.n_features} features, "
        f"task {dataset.task}, target `{dataset.target}`",
        f"- metric: {describe_metric(result.metric)}",
        f"- status: **{result.status}**" + (f" ({result.reason})" if result.reason else ""),
        f"- trials: {result.n_trials} ({result.n_failed_trials} failed, "
        f"{result.n_pruned_trials} pruned); wall time {result.fit_time_s:.1f} s",
    ]
    if result.best_score is not None and result.best_config is not None:
        lines.append(f"- best single configuration: CV score {result.best_score:.5f} "
                     f"({result.best_config.family})")  # fmt: skip
    if result.ensemble_score is not None:
        lines.append(f"- ensemble out-of-fold score: {result.ensemble_score:.5f}")
    if result.test_score is not None:
        lines.append(f"- test score: {result.test_score:.5f}")
    if result.best_config is not None:
        lines += ["", "## Best configuration", "", "```json",
                  result.best_config.model_dump_json(indent=2), "```"]  # fmt: skip
    if result.ensemble:
        lines += ["", "## Ensemble members", "", "| trial | weight | family | CV score |",
                  "|---:|---:|---|---:|"]  # fmt: skip
        lines += [f"| {m.trial} | {m.weight:.3f} | {m.config.family} | {m.cv_score:.5f} |"
                  for m in result.ensemble]  # fmt: skip
    done = board[board["state"] == "complete"].sort_values("trial") if not board.empty else board
    if not done.empty:
        lines += ["", "## Optimization history", "",
                  "Trials that improved the best score:", "",
                  "| trial | family | score |", "|---:|---|---:|"]  # fmt: skip
        best = -np.inf
        for _, row in done.iterrows():
            if row["score"] > best:
                best = row["score"]
                lines.append(f"| {row['trial']} | {row['family']} | {row['score']:.5f} |")
    if importances:
        lines += ["", "## Hyperparameter importances (fANOVA, best family)", "",
                  "| hyperparameter | importance |", "|---|---:|"]  # fmt: skip
        lines += [f"| {k} | {v:.3f} |" for k, v in importances.items()]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots]
    failed = board[board["state"] == "failed"] if not board.empty else board
    if not failed.empty:
        lines += ["", "## Failed trials", ""]
        lines += [
            f"- trial {r['trial']} ({r['family']}): {r['reason']}" for _, r in failed.iterrows()
        ]
    features = [n.removeprefix(FEATURE_NOTE).strip() for n in result.notes
                if n.startswith(FEATURE_NOTE)]  # fmt: skip
    if features:
        lines += ["", "## Feature transforms", "",
                  "Fit inside each training fold as the first pipeline step "
                  "(CV gains are inner-fold score gains of a fixed LightGBM model):", ""]  # fmt: skip
        lines += [f"- {n}" for n in features]
    notes = [n for n in result.notes if not n.startswith(FEATURE_NOTE)]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_run_dir(folder: Path, spec: ExperimentSpec, dataset: Dataset, result: ExperimentResult,
                  records: list[HPOTrial], study: Any, model: FittedModel | None, *,
                  oof: OutOfFold | None = None) -> None:  # fmt: skip
    """Write every artifact into ``folder`` (the caller moves it into place).

    ``oof``: the final model's out-of-fold predictions (``oof.npz`` + ``oof.json``), which
    :func:`automl_backend.combine_runs` needs to ensemble this run with others.
    ``manifest.json`` gets the SHA-256 of the model and of every file read back with it.
    """
    spec.save(folder / "spec.yaml")
    board = leaderboard(records)
    board.to_csv(folder / "leaderboard.csv", index=False)
    if model is not None:
        model.save(folder / MODEL_FILE)
    if oof is not None:
        oof.save(folder)
    importances: dict[str, float] = {}
    if result.best_config is not None:
        importances = _importances(study, records, result.best_config.family)
    plots = _plots(folder / "plots", board, importances, result.metric)
    report = _report(spec, dataset, result, board, importances, plots)
    (folder / "report.md").write_text(report, encoding="utf-8")
    columns = {
        "target": dataset.target,
        "columns": dataset.column_types,
        "dropped": dataset.dropped,
    }
    (folder / "dataset.json").write_text(
        json.dumps(columns, indent=2, default=str), encoding="utf-8"
    )
    record_files(folder, (OOF_FILE, OOF_INFO_FILE, "dataset.json"), missing_ok=True)
    storage = getattr(study, "_storage", None)
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)
    if engine is not None:
        engine.dispose()  # release the SQLite file before the folder is moved
